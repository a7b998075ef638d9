"""What the dashboard needs from the config, as one frozen value built in one place.

The YAML keys (``dashboard:`` and ``users:``) are validated by the config module; this reads
that slice so the web app never looks at the rest of the settings for its own options.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal, Protocol

from syndicator.web.passwords import PasswordHashError, parse_hash

Role = Literal["editor", "admin"]
ROLES: tuple[Role, ...] = ("editor", "admin")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_SESSION_TTL = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class User:
    """One dashboard account; ``password_hash`` is never shown on a page or in a log."""

    name: str
    role: Role
    password_hash: str = field(repr=False)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True, slots=True)
class WebOptions:
    """Where the dashboard listens, how it signs sessions, and who may log in.

    ``secret_key`` None means a random key per process: sessions end at every restart.
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    secret_key: bytes | None = field(default=None, repr=False)
    users: tuple[User, ...] = ()
    session_ttl: timedelta = DEFAULT_SESSION_TTL
    login_failures: int = 5
    login_window: timedelta = timedelta(minutes=5)
    poll_seconds: float = 3.0

    def user(self, name: str) -> User | None:
        return next((u for u in self.users if u.name == name), None)

    @property
    def loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[v6]:PORT`` or ``:PORT`` (loopback) -> (host, port); ValueError if not."""
    text = value.strip()
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit():
        raise ValueError(f"listen {value!r}: expected HOST:PORT, e.g. 127.0.0.1:8080")
    port = int(port_text)
    if not 0 <= port <= 65535:
        raise ValueError(f"listen {value!r}: port must be 0-65535")
    host = host.strip("[]") or DEFAULT_HOST
    return host, port


def user_problems(users: Sequence[User]) -> list[str]:
    """What is wrong with the ``users:`` list, one line each (for admins and `check`)."""
    problems: list[str] = []
    seen: set[str] = set()
    for i, user in enumerate(users):
        if user.name in seen:
            problems.append(f"users[{i}].name: duplicate user {user.name!r}")
        seen.add(user.name)
        try:
            parse_hash(user.password_hash)
        except PasswordHashError as exc:
            problems.append(f"users[{i}].password_hash: {exc}")
    return problems


class _DashboardSlice(Protocol):
    listen: str
    secret_key: Any
    session_ttl: timedelta


class _UserSlice(Protocol):
    name: str
    role: str
    password_hash: str


def options_from_settings(settings: Any, *, listen: str | None = None) -> WebOptions:
    """Build the options from ``settings.dashboard`` and ``settings.users``.

    ``listen`` (from ``syndicator web --listen``) wins over the file. Without a
    ``dashboard:`` section the defaults apply (loopback, port 8080, per-process key).
    """
    dashboard: _DashboardSlice | None = getattr(settings, "dashboard", None)
    raw_users: Sequence[_UserSlice] = getattr(settings, "users", None) or ()
    host, port = parse_listen(listen or (dashboard.listen if dashboard else
                                         f"{DEFAULT_HOST}:{DEFAULT_PORT}"))
    key: bytes | None = None
    secret = dashboard.secret_key if dashboard else None
    if secret is not None and getattr(secret, "present", False):
        key = str(secret.get()).encode("utf-8")
    users = tuple(User(name=u.name, role="admin" if u.role == "admin" else "editor",
                       password_hash=u.password_hash) for u in raw_users)
    ttl = dashboard.session_ttl if dashboard else DEFAULT_SESSION_TTL
    return WebOptions(host=host, port=port, secret_key=key, users=users, session_ttl=ttl)
