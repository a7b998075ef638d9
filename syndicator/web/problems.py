"""Configuration problems an admin should fix, listed on the health page (admins only).

Names of environment variables may appear here; their values never do.
"""

from __future__ import annotations

from syndicator.config import LoadedConfig
from syndicator.web.options import WebOptions, user_problems


def config_problems(config: LoadedConfig, options: WebOptions) -> list[str]:
    """One line per problem: templates, missing secrets, users, the dashboard's own setup."""
    from syndicator.composer import Composer

    problems: list[str] = []
    composer = Composer([config.base_dir / "templates", config.base_dir])
    for channel in config.settings.channels:
        if not channel.enabled:
            problems.append(f"channel {channel.id}: disabled (enabled: false)")
        template = composer.check(channel)
        if template:
            problems.append(f"channel {channel.id}: template {template}")
        for name, secret in channel.credentials.items():
            if not secret.present:
                problems.append(f"channel {channel.id}: credentials.{name}: env var "
                                f"{secret.env} is not set")
    problems.extend(user_problems(options.users))
    if not options.users:
        problems.append("users: nobody can log in (add one with `syndicator user add NAME`)")
    elif not any(u.is_admin for u in options.users):
        problems.append("users: no admin (channels cannot be paused from the dashboard)")
    if options.secret_key is None:
        problems.append("dashboard.secret_key: not set, so a random key is used and every "
                        "restart logs everyone out")
    elif len(options.secret_key) < 32:
        problems.append("dashboard.secret_key: shorter than 32 characters")
    if not options.loopback:
        problems.append(f"dashboard.listen: bound to {options.host}, reachable from other "
                        "machines (put it behind HTTPS)")
    return problems
