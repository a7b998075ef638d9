"""The `syndicator` command line.

Exit codes: 0 success; 1 the work ran but something failed (a feed, a post, a credential);
2 bad usage or configuration; 3 another daemon holds the database.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from syndicator import __version__
from syndicator.cli.common import FAILED, LOCKED, OK, USAGE, CommandError
from syndicator.cli.editing import (
    cmd_approve,
    cmd_edit,
    cmd_hold,
    cmd_pause,
    cmd_reschedule,
    cmd_resume,
    cmd_retry,
    cmd_skip,
)
from syndicator.cli.ops import (
    cmd_check,
    cmd_db,
    cmd_demo,
    cmd_poll,
    cmd_run,
    cmd_user_add,
    cmd_web,
)
from syndicator.cli.reports import cmd_history, cmd_preview, cmd_queue, cmd_status
from syndicator.config import ConfigError
from syndicator.model import DeliveryState
from syndicator.secrets import redact
from syndicator.store.store import StoreError

__all__ = ["FAILED", "LOCKED", "OK", "USAGE", "CommandError", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", "-c", metavar="PATH", default=argparse.SUPPRESS,
                        help="config file (default: $SYNDICATOR_CONFIG, then ./config.yaml)")
    common.add_argument("--log-level", choices=["debug", "info", "warning", "error"],
                        default=argparse.SUPPRESS, help="override log.level from the config")
    common.add_argument("--log-format", choices=["text", "json"], default=argparse.SUPPRESS,
                        help="override log.format from the config")
    parser = argparse.ArgumentParser(
        prog="syndicator", parents=[common],
        description="Publish every new post of your feeds to Telegram, X, Facebook and "
                    "WhatsApp, exactly once.",
        epilog="Exit codes: 0 ok, 1 something failed (feed, post, credential), 2 bad usage or "
               "config, 3 another daemon holds the database. Start with `syndicator demo`.",
    )
    parser.add_argument("--version", action="version", version=f"syndicator {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], int], help_: str
            ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help_, description=help_)
        p.set_defaults(func=func)
        return p

    p = add("run", cmd_run, "run the daemon in the foreground (SIGTERM or Ctrl-C stops it, "
            "SIGHUP reloads the config)")
    p.add_argument("--sandbox", action="store_true",
                   help="post to local stand-ins of every platform instead of the real ones, "
                        "with a separate database: try a config safely and see every message")
    p = add("poll", cmd_poll, "poll every feed once, publish what is due, exit (for cron)")
    p.add_argument("--once", action="store_true", help="one cycle, then exit (required)")
    p.add_argument("--max-wait", type=float, default=60.0, metavar="SECONDS",
                   help="wait out retry-afters up to this long (default 60)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p = add("check", cmd_check, "validate the config, templates, feeds and credentials")
    p.add_argument("--offline", action="store_true",
                   help="only the file and templates; no network")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p = add("preview", cmd_preview, "show the messages the newest posts would get on every "
            "channel, without publishing")
    p.add_argument("--feed", help="only this feed")
    p.add_argument("--post", metavar="URL", help="the entry with this link")
    p.add_argument("--channel", help="only this channel")
    p.add_argument("--limit", type=int, default=1, help="newest N entries per feed (default 1)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p = add("queue", cmd_queue, "list deliveries waiting to go out")
    p.add_argument("--channel", help="only this channel")
    p.add_argument("--state", action="append", choices=[s.value for s in DeliveryState],
                   help="only these states (repeatable)")
    p.add_argument("--failed", action="store_true", help="include failed deliveries")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p = add("history", cmd_history, "show recent publish attempts, newest first")
    p.add_argument("--channel", help="only this channel")
    p.add_argument("--delivery", type=int, help="only this delivery")
    p.add_argument("--limit", type=int, default=30, help="how many (default 30)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    for name, func, help_ in (
        ("retry", cmd_retry, "queue a failed, uncertain or skipped delivery again, due now"),
        ("skip", cmd_skip, "never send this delivery"),
        ("approve", cmd_approve, "let a held delivery go out"),
        ("hold", cmd_hold, "keep a delivery back until someone approves it"),
        ("reschedule", cmd_reschedule, "move a waiting delivery to another time"),
        ("edit", cmd_edit, "replace one delivery's text (checked by the platform's rules)"),
    ):
        p = add(name, func, help_)
        p.add_argument("delivery", type=int, metavar="DELIVERY", help="delivery id (see queue)")
        p.add_argument("--json", action="store_true", help="machine-readable output")
        if name == "reschedule":
            p.add_argument("--at", required=True, metavar="TIME",
                           help="+30m, HH:MM or 2026-12-01T09:00 (channel's time zone)")
        if name == "edit":
            source = p.add_mutually_exclusive_group(required=True)
            source.add_argument("--text", help="the new text")
            source.add_argument("--file", metavar="F",
                                help="read the text from a file (- for stdin)")
            source.add_argument("--editor", action="store_true",
                                help="edit the current text in $VISUAL / $EDITOR")
            source.add_argument("--revert", action="store_true",
                                help="drop the override: back to the template text")
    p = add("pause", cmd_pause, "stop publishing to a channel (posts keep queueing)")
    p.add_argument("channel", metavar="CHANNEL")
    p.add_argument("--reason", help="shown in status")
    p = add("resume", cmd_resume, "resume a paused channel")
    p.add_argument("channel", metavar="CHANNEL")
    from syndicator.web.commands import add_user_arguments, add_web_arguments

    p = add("web", cmd_web, "serve the editors' dashboard alone (the daemon serves it too "
            "when the config has dashboard:)")
    add_web_arguments(p)
    user = sub.add_parser("user", parents=[common], help="dashboard users",
                          description="dashboard users")
    user_sub = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    p = user_sub.add_parser("add", parents=[common],
                            help="print a users: entry (name, role, scrypt hash) to paste "
                                 "into the config")
    p.set_defaults(func=cmd_user_add)
    add_user_arguments(p)
    p = add("status", cmd_status, "each feed and channel: last success, errors, next run")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p = add("db", cmd_db, "database maintenance: upgrade (apply migrations) or prune (drop "
            "old attempt and event rows)")
    p.add_argument("action", choices=["upgrade", "prune"])
    p.add_argument("--older-than", default="180d", metavar="AGE",
                   help="prune: rows older than this (default 180d)")
    p.add_argument("--json", action="store_true", help="prune: print the counts as JSON")
    p = add("demo", cmd_demo, "run a self-contained demo: local feeds and a sandbox Telegram")
    p.add_argument("--dir", default="syndicator-demo",
                   help="where the demo keeps its config and database (default ./syndicator-demo)")
    p.add_argument("--duration", type=float, default=None, metavar="SECONDS",
                   help="stop after this long (default: until Ctrl-C)")
    p.add_argument("--interval", type=float, default=15.0, metavar="SECONDS",
                   help="how often a new demo article is published (default 15)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name in ("config", "log_level", "log_format"):
        if not hasattr(args, name):
            setattr(args, name, None)
    if not getattr(args, "command", None):
        parser.print_help()
        return USAGE
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"{exc.source}: {len(exc.problems)} problem(s):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return USAGE
    except CommandError as exc:
        print(f"syndicator: {redact(str(exc))}", file=sys.stderr)
        return exc.code
    except StoreError as exc:
        print(f"syndicator: {redact(str(exc))}", file=sys.stderr)
        return FAILED
    except KeyboardInterrupt:
        return 130
