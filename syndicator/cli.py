"""The `syndicator` command line.

Exit codes: 0 success; 1 the work ran but something failed (a feed, a post, a credential);
2 bad usage or configuration; 3 another daemon holds the database.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from syndicator import __version__, logs
from syndicator.config import ConfigError, LoadedConfig, load_config
from syndicator.durations import format_duration, parse_when
from syndicator.lock import DaemonLock, DatabaseLock, LockedError, daemon_lock
from syndicator.model import DeliveryState
from syndicator.preview import preview
from syndicator.secrets import redact
from syndicator.status import status_data
from syndicator.store.store import Store, StoreError

OK, FAILED, USAGE, LOCKED = 0, 1, 2, 3

log = logging.getLogger("syndicator")


class CommandError(Exception):
    def __init__(self, message: str, code: int = USAGE) -> None:
        super().__init__(message)
        self.code = code


# -- helpers -------------------------------------------------------------------------------


def _config(args: argparse.Namespace, *, require_secrets: bool = True) -> LoadedConfig:
    return load_config(args.config, require_secrets=require_secrets)


def _store(config: LoadedConfig) -> Store:
    return Store.open(config.storage_url)


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _print_json(data: object) -> None:
    print(json.dumps(data, default=_json_default, ensure_ascii=False, indent=2))


def _when(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "-"
    delta = moment - now
    if abs(delta.total_seconds()) < 1:
        return "now"
    return f"in {format_duration(delta)}" if delta.total_seconds() > 0 else \
        f"{format_duration(-delta)} ago"


def _clip(text: str | None, size: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= size else text[: size - 1] + "…"


def _table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
              for r in rows]
    return "\n".join(lines)


def _public_delivery(d: dict[str, Any]) -> dict[str, Any]:
    post = d["post"]
    return {
        "id": d["id"], "channel": d["channel"], "state": d["state"], "text": d["text"],
        "override": d["override"], "attempts": d["attempts"],
        "next_attempt_at": d["next_attempt_at"], "last_error": d["last_error"],
        "error_kind": d["error_kind"], "remote_id": d["remote_id"],
        "remote_url": d["remote_url"], "note": d["note"], "created_at": d["created_at"],
        "sent_at": d["sent_at"],
        "post": {k: post[k] for k in ("id", "feed_id", "title", "link", "published_at",
                                      "language")},
    }


def _now() -> datetime:
    from syndicator.clock import SystemClock

    return SystemClock().now()


# -- commands ------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    config = _config(args)
    from syndicator.composer import Composer

    composer = Composer([config.base_dir / "templates", config.base_dir])
    problems = 0
    print(f"config {config.path}: ok ({len(config.settings.feeds)} feed(s), "
          f"{len(config.settings.channels)} channel(s))")
    for channel in config.settings.channels:
        problem = composer.check(channel)
        if problem:
            problems += 1
            print(f"FAIL channel {channel.id}: template {problem}")
    if config.settings.dashboard is not None:
        from syndicator.web.options import options_from_settings, user_problems

        options = options_from_settings(config.settings)
        for problem in user_problems(options.users):
            problems += 1
            print(f"FAIL {problem}")
        if not options.users:
            print("warn users: nobody can log in to the dashboard "
                  "(add one with `syndicator user add NAME`)")
    if args.offline:
        return FAILED if problems else OK
    problems += asyncio.run(_check_online(config))
    return FAILED if problems else OK


async def _check_online(config: LoadedConfig) -> int:
    import adapters
    from syndicator.entries import FeedParseError, parse_feed
    from syndicator.errors import PublishError
    from syndicator.fetch import FeedFetcher, FetchError

    problems = 0
    async with FeedFetcher() as fetcher:
        for feed in config.settings.feeds:
            try:
                result = await fetcher.fetch(feed.url, timeout=feed.timeout.total_seconds(),
                                             max_bytes=feed.max_bytes)
                parsed = parse_feed(result.body or b"", feed_id=feed.id, url=feed.url,
                                    headers=result.headers, language=feed.language)
                print(f"ok   feed {feed.id}: {len(parsed.entries)} entries "
                      f"({_clip(parsed.title, 50)})")
            except (FetchError, FeedParseError) as exc:
                problems += 1
                print(f"FAIL feed {feed.id}: {redact(str(exc))}")
    for channel in config.settings.channels:
        try:
            adapter = adapters.create(channel)
            try:
                account = await adapter.verify()
            finally:
                await adapter.close()
            print(f"ok   channel {channel.id} ({channel.platform}): posting as {account.name}")
        except PublishError as exc:
            problems += 1
            print(f"FAIL channel {channel.id} ({channel.platform}): {redact(str(exc))}")
        except Exception as exc:
            problems += 1
            print(f"FAIL channel {channel.id} ({channel.platform}): {redact(repr(exc))}")
    return problems


def cmd_preview(args: argparse.Namespace) -> int:
    config = _config(args, require_secrets=False)
    feeds = [f for f in config.settings.feeds if not args.feed or f.id == args.feed]
    if not feeds:
        raise CommandError(f"no feed {args.feed!r} in {config.path}")
    channels = [c for c in config.settings.channels if not args.channel or c.id == args.channel]
    if args.channel and not channels:
        _channel_arg(config, args.channel)
    results, problems = asyncio.run(preview(config, feeds, channels, args.post, args.limit))
    if args.json:
        _print_json(results)
    else:
        for item in results:
            print(f"== {item['feed']}: {item['title']}\n   {item['link'] or '(no link)'}")
            for msg in item["messages"]:
                head = f"-- {msg['channel']} ({msg['platform']})"
                if msg.get("skipped"):
                    print(f"{head}: not sent here: {msg['skipped']}")
                    continue
                print(f"{head}: {msg['length']}/{msg['limit']} {msg['counting']}"
                      + (f", dropped {', '.join(msg['dropped'])}" if msg["dropped"] else ""))
                print("   " + msg["text"].replace("\n", "\n   "))
            print()
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    if args.post and not results:
        raise CommandError(f"no entry with link {args.post} in the feed(s)", FAILED)
    return FAILED if problems else OK


def _install_stop(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    def request_stop(signame: str) -> None:
        if stop.is_set():
            log.warning("%s again: stopping now", signame)
            os._exit(130)
        log.info("%s received", signame)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, request_stop, sig.name)


def _locked(config: LoadedConfig) -> DaemonLock | DatabaseLock | None:
    lock = daemon_lock(config.storage_url)
    if lock is None:
        return None
    try:
        lock.acquire()
    except LockedError as exc:
        raise CommandError(str(exc), LOCKED) from None
    return lock


def cmd_run(args: argparse.Namespace) -> int:
    config = _config(args, require_secrets=not args.sandbox)
    _setup_logs(args, config)
    if args.sandbox:
        sandbox_db = f"sqlite:///{config.base_dir / 'syndicator-sandbox.db'}"
        config = LoadedConfig(settings=config.settings.model_copy(
            update={"storage": sandbox_db}), path=config.path)
    lock = _locked(config)
    try:
        return asyncio.run(_run(config, sandbox=args.sandbox, exclusive=lock is not None))
    finally:
        if lock:
            lock.release()


def _announce(channel: Any, first_line: str, where: str) -> None:
    log.info("[sandbox] %s (%s) received: %s", where, channel.id, _clip(first_line, 100))


async def _run(config: LoadedConfig, *, sandbox: bool = False, exclusive: bool = True) -> int:
    from syndicator.daemon import Daemon

    stop = asyncio.Event()
    _install_stop(asyncio.get_running_loop(), stop)
    async with contextlib.AsyncExitStack() as stack:
        if sandbox:
            from syndicator.sandbox.platforms import Sandbox

            box = await stack.enter_async_context(Sandbox(
                config.settings, announce=_announce,
                share_root=config.base_dir / "sandbox-share"))
            config = LoadedConfig(settings=box.settings, path=config.path)
            log.info("sandbox: every channel posts to a local stand-in of its platform; "
                     "state in %s, WhatsApp share pages in %s", config.storage_url,
                     config.base_dir / "sandbox-share")
        daemon = Daemon(config, exclusive=exclusive)
        try:
            await daemon.run(stop)
        finally:
            await daemon.close()
    return OK


def cmd_poll(args: argparse.Namespace) -> int:
    if not args.once:
        raise CommandError("poll runs one cycle: use `syndicator poll --once` "
                           "(or `syndicator run` for the daemon)")
    config = _config(args)
    _setup_logs(args, config)
    lock = _locked(config)
    try:
        return asyncio.run(_poll_once(config, args.max_wait, args.json, lock is not None))
    finally:
        if lock:
            lock.release()


async def _poll_once(config: LoadedConfig, max_wait: float, as_json: bool,
                     exclusive: bool) -> int:
    from syndicator.daemon import Daemon

    daemon = Daemon(config, exclusive=exclusive)
    try:
        report = await daemon.poll_once(max_wait=max_wait)
    finally:
        await daemon.close()
    new = sum(p.new_posts for p in report.polls)
    if as_json:
        _print_json({"feeds": [dataclasses.asdict(p) for p in report.polls],
            "new_posts": new, "sent": report.sent, "failed": report.failed,
            "uncertain": report.uncertain, "waiting": report.waiting})
    else:
        print(f"{len(report.polls)} feed(s) polled ({report.feed_errors} with errors), "
              f"{new} new post(s); {report.sent} sent, {report.failed} failed, "
              + (f"{report.uncertain} uncertain (see `syndicator queue`), "
                 if report.uncertain else "") + f"{report.waiting} waiting")
    return FAILED if report.feed_errors or report.failed or report.uncertain else OK


def cmd_queue(args: argparse.Namespace) -> int:
    config = _config(args, require_secrets=False)
    store = _store(config)
    states = args.state or [s.value for s in DeliveryState if not s.terminal] + (
        ["failed"] if args.failed else [])
    rows = store.deliveries(states=states, channel=args.channel)
    if args.json:
        _print_json([_public_delivery(d) for d in rows])
        return OK
    now = _now()
    table = []
    for d in rows:
        due = _when(d["next_attempt_at"], now) if d["state"] == "scheduled" else "-"
        table.append([str(d["id"]), d["channel"], d["state"], due, str(d["attempts"]),
                      _clip(d["post"]["title"], 50), _clip(d["last_error"], 60)])
    print(_table(table, ["ID", "CHANNEL", "STATE", "DUE", "TRIES", "TITLE", "WHY"])
          if table else "queue is empty")
    _print_share_links(config, store, args.channel)
    return OK


def _print_share_links(config: LoadedConfig, store: Store, only: str | None) -> None:
    """WhatsApp has no posting API: its 'sent' posts are links an editor taps to share."""
    for channel in config.settings.channels:
        if channel.platform != "whatsapp" or (only and channel.id != only):
            continue
        links = store.deliveries(states=["sent"], channel=channel.id, limit=5,
                                 newest_first=True)
        if links:
            print(f"\nWhatsApp share links of {channel.id} (newest first; all in "
                  f"{getattr(channel, 'share_dir', '')}/index.html):")
            for d in links:
                print(f"  {d['id']}  {_clip(d['post']['title'], 60)}\n      {d['remote_url']}")


def cmd_history(args: argparse.Namespace) -> int:
    config = _config(args, require_secrets=False)
    store = _store(config)
    rows = store.attempts(channel=args.channel, limit=args.limit,
                          delivery_id=args.delivery)
    if args.json:
        _print_json(rows)
        return OK
    if not rows:
        print("no attempts yet")
        return OK
    table = [[a["started_at"].strftime("%Y-%m-%d %H:%M:%S"), str(a["delivery_id"]),
              a["channel"], a["outcome"], _clip(a["title"], 40),
              _clip(a["error"], 60)] for a in rows]
    print(_table(table, ["TIME (UTC)", "DELIVERY", "CHANNEL", "OUTCOME", "TITLE", "ERROR"]))
    return OK


def _actor() -> str:
    import getpass

    return os.environ.get("SYNDICATOR_USER") or getpass.getuser()


def _desk(args: argparse.Namespace) -> Any:
    from syndicator.desk import Desk

    config = _config(args, require_secrets=False)
    return Desk(_store(config), config.settings)


def _delivery_action(args: argparse.Namespace, action: Callable[[Any], dict[str, Any]],
                     verb: str) -> int:
    from syndicator.desk import EditRefused

    try:
        result = action(_desk(args))
    except CommandError:
        raise
    except EditRefused as exc:
        print("syndicator: refused: the platform would not accept this text:",
              file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return FAILED
    except LookupError as exc:
        raise CommandError(str(exc).strip("'\""), FAILED) from None
    except ValueError as exc:
        raise CommandError(str(exc), FAILED) from None
    if getattr(args, "json", False):
        _print_json(_public_delivery(result))
    else:
        print(f"delivery {result['id']} ({result['channel']}): {verb}, now {result['state']}")
    return OK


def cmd_retry(args: argparse.Namespace) -> int:
    return _delivery_action(args, lambda d: d.retry(args.delivery, _actor()), "queued again")


def cmd_skip(args: argparse.Namespace) -> int:
    return _delivery_action(args, lambda d: d.skip(args.delivery, _actor()), "skipped")


def cmd_approve(args: argparse.Namespace) -> int:
    return _delivery_action(args, lambda d: d.approve(args.delivery, _actor()), "approved")


def cmd_hold(args: argparse.Namespace) -> int:
    return _delivery_action(args, lambda d: d.hold(args.delivery, _actor()),
                            "held for approval")


def cmd_reschedule(args: argparse.Namespace) -> int:
    def act(desk: Any) -> dict[str, Any]:
        delivery = desk.store.delivery(args.delivery)
        if delivery is None:
            raise LookupError(f"no delivery {args.delivery} (see `syndicator queue`)")
        zone = desk.channel(delivery["channel"]).schedule.timezone
        try:
            when = parse_when(args.at, zone, _now())
        except ValueError as exc:
            raise CommandError(f"--at {exc}") from None
        moved: dict[str, Any] = desk.reschedule(args.delivery, when, _actor())
        return moved

    return _delivery_action(args, act, f"moved to {args.at}")


def cmd_edit(args: argparse.Namespace) -> int:
    if args.revert:
        return _delivery_action(args, lambda d: d.revert(args.delivery, _actor()),
                                "back to the template text")
    text = _edit_text(args)
    return _delivery_action(args, lambda d: d.edit(args.delivery, text, _actor()), "edited")


def _edit_text(args: argparse.Namespace) -> str:
    if args.text is not None:
        return str(args.text)
    if args.file:
        return sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
    import shlex
    import subprocess
    import tempfile

    desk = _desk(args)
    current = desk.store.delivery(args.delivery)
    if current is None:
        raise CommandError(f"no delivery {args.delivery} (see `syndicator queue`)", FAILED)
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.NamedTemporaryFile("w+", suffix=".txt", encoding="utf-8",
                                     delete=False) as handle:
        handle.write(current["text"])
    try:
        subprocess.run([*shlex.split(editor), handle.name], check=True)
        return Path(handle.name).read_text(encoding="utf-8")
    finally:
        os.unlink(handle.name)


def _channel_arg(config: LoadedConfig, channel_id: str) -> None:
    known = [c.id for c in config.settings.channels]
    if channel_id not in known:
        raise CommandError(f"no channel {channel_id!r} in {config.path} "
                           f"(known: {', '.join(known) or 'none'})")


def cmd_pause(args: argparse.Namespace) -> int:
    config = _config(args, require_secrets=False)
    _channel_arg(config, args.channel)
    from syndicator.desk import Desk

    Desk(_store(config), config.settings).pause(args.channel, _actor(), args.reason)
    print(f"channel {args.channel}: paused (posts wait in the queue; "
          f"`syndicator resume {args.channel}` to continue)")
    return OK


def cmd_resume(args: argparse.Namespace) -> int:
    config = _config(args, require_secrets=False)
    _channel_arg(config, args.channel)
    from syndicator.desk import Desk

    requeued = Desk(_store(config), config.settings).resume(args.channel, _actor())
    print(f"channel {args.channel}: resumed" +
          (f"; {requeued} post(s) that failed for the pausing reason are queued again"
           if requeued else ""))
    return OK


def cmd_status(args: argparse.Namespace) -> int:
    config = _config(args, require_secrets=False)
    data = status_data(config, _store(config), _now())
    if args.json:
        _print_json(data)
        return OK
    now = _now()
    print(f"storage: {data['storage']}")
    rows = [[f["id"], _when(f["last_success_at"], now), str(f["errors"]),
             _when(f["next_poll_at"], now), _clip(f["last_error"], 60)] for f in data["feeds"]]
    print("\n" + _table(rows, ["FEED", "LAST SUCCESS", "ERRORS", "NEXT POLL", "LAST ERROR"]))
    rows = []
    for c in data["channels"]:
        counts = c["deliveries"]
        queued = sum(counts.get(s, 0) for s in ("scheduled", "held", "sending", "uncertain"))
        state = "paused" if c["paused"] else ("disabled" if not c["enabled"] else "active")
        if c["blocked_until"]:
            state += f" (waiting {_when(c['blocked_until'], now)})"
        if "budget" in c:
            budget = c["budget"]
            state += f" (${budget['spent_this_month']:.2f} of ${budget['per_month']:.2f})"
        rows.append([c["id"], c["platform"], state, _when(c["last_success_at"], now),
                     str(counts.get("sent", 0)), str(queued), str(counts.get("failed", 0)),
                     _when(c["next_due_at"], now),
                     _clip(c["paused_reason"] or c["last_error"], 50)])
    print("\n" + _table(rows, ["CHANNEL", "PLATFORM", "STATE", "LAST SUCCESS", "SENT",
                               "QUEUED", "FAILED", "NEXT POST", "LAST ERROR"]))
    return OK


def cmd_db(args: argparse.Namespace) -> int:
    config = _config(args, require_secrets=False)
    store = Store(config.storage_url)
    before, after = store.upgrade()
    print(f"database {store.engine.url.render_as_string(hide_password=True)}: "
          + (f"upgraded {before or 'empty'} -> {after}" if before != after
             else f"already at {after}"))
    return OK


def cmd_demo(args: argparse.Namespace) -> int:
    from syndicator.demo import run_demo

    logs.setup(args.log_level or "info", args.log_format or "text")
    return run_demo(args.dir, duration=args.duration, interval=args.interval)


def cmd_web(args: argparse.Namespace) -> int:
    from syndicator.web.commands import cmd_web as web

    return web(args)


def cmd_user_add(args: argparse.Namespace) -> int:
    from syndicator.web.commands import cmd_user_add as user_add

    return user_add(args)


def _setup_logs(args: argparse.Namespace, config: LoadedConfig) -> None:
    logs.setup(args.log_level or config.settings.log.level,
               args.log_format or config.settings.log.format)


# -- parser --------------------------------------------------------------------------------


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

    p = add("run", cmd_run, "run the daemon in the foreground (SIGTERM or Ctrl-C stops it)")
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
    p = add("db", cmd_db, "database maintenance")
    p.add_argument("action", choices=["upgrade"], help="apply pending migrations")
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
