"""`syndicator web` and `syndicator user add`: functions over parsed arguments.

The CLI's parser wires them in (``add_web_arguments``/``add_user_arguments`` fill a
subparser); each returns an exit code or raises ``CommandError`` like every other command.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import re
import signal
import sys
from typing import TextIO

import yaml

from syndicator import logs
from syndicator.cli import FAILED, OK, USAGE, CommandError
from syndicator.config import LoadedConfig, load_config
from syndicator.web.options import ROLES, WebOptions, options_from_settings, user_problems
from syndicator.web.passwords import hash_password

log = logging.getLogger("syndicator.web")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
MIN_PASSWORD = 8


def add_web_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--listen", metavar="HOST:PORT", default=None,
                        help="where to listen (default: dashboard.listen, else 127.0.0.1:8080)")


def add_user_arguments(parser: argparse.ArgumentParser) -> None:
    """For ``syndicator user add``: NAME, --role, --password-stdin."""
    parser.add_argument("name", metavar="NAME", help="the login name")
    parser.add_argument("--role", choices=ROLES, default="editor",
                        help="editor (edit, approve, hold, skip, retry, reschedule) or admin "
                             "(also pause/resume channels); default editor")
    parser.add_argument("--password-stdin", action="store_true",
                        help="read the password from one line of stdin instead of asking")


def cmd_web(args: argparse.Namespace) -> int:
    """Serve the dashboard alone (without the daemon) until SIGTERM or Ctrl-C."""
    config = load_config(args.config, require_secrets=False)
    settings = config.settings
    logs.setup(getattr(args, "log_level", None) or settings.log.level,
               getattr(args, "log_format", None) or settings.log.format)
    try:
        options = options_from_settings(settings, listen=getattr(args, "listen", None))
    except ValueError as exc:
        raise CommandError(str(exc), USAGE) from None
    for problem in user_problems(options.users):
        log.warning("dashboard: %s", problem)
    return asyncio.run(_serve(config, options))


async def _serve(config: LoadedConfig, options: WebOptions) -> int:
    from syndicator.web.server import Dashboard

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    dashboard = Dashboard(config, options=options)
    try:
        await dashboard.start()
    except OSError as exc:
        raise CommandError(f"dashboard: cannot listen on {options.host}:{options.port}: "
                           f"{exc.strerror or exc}", FAILED) from None
    try:
        await stop.wait()
    finally:
        await dashboard.stop()
    return OK


def read_password(*, from_stdin: bool, stdin: TextIO | None = None) -> str:
    """One line of stdin, or asked twice without echo; CommandError if they differ."""
    if from_stdin:
        line = (stdin or sys.stdin).readline()
        return line.rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise CommandError("the two passwords differ; nothing was printed", USAGE)
    return first


def user_entry(name: str, role: str, password: str) -> str:
    """Make the YAML list item for ``users:``, with a fresh scrypt hash.

    It is indented to paste under ``users:`` the way the example config indents its lists.
    """
    if not NAME.match(name):
        raise CommandError(f"user name {name!r}: use letters, digits, '.', '_', '-' or '@' "
                           "(at most 64)", USAGE)
    if role not in ROLES:
        raise CommandError(f"role {role!r}: one of {', '.join(ROLES)}", USAGE)
    if len(password) < MIN_PASSWORD:
        raise CommandError(f"the password must have at least {MIN_PASSWORD} characters",
                           USAGE)
    entry = {"name": name, "role": role, "password_hash": hash_password(password)}
    text = yaml.safe_dump([entry], sort_keys=False, allow_unicode=True, width=200)
    return "".join(f"  {line}" for line in text.splitlines(keepends=True))


def cmd_user_add(args: argparse.Namespace) -> int:
    """Print a ``users:`` entry for the admin to paste into the config."""
    password = read_password(from_stdin=args.password_stdin)
    text = user_entry(args.name, args.role, password)
    print("# paste under `users:` in the config file", file=sys.stderr)
    sys.stdout.write(text)
    return OK
