"""Commands that run the daemon or check its setup: run, poll, check, db, demo, web, user."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
from typing import Any

from syndicator import logs
from syndicator.cli.common import (
    FAILED,
    LOCKED,
    OK,
    CommandError,
    _clip,
    _config,
    _now,
    _print_json,
    _setup_logs,
    log,
)
from syndicator.config import ConfigError, LoadedConfig, load_config
from syndicator.durations import parse_duration
from syndicator.lock import DaemonLock, DatabaseLock, LockedError, daemon_lock
from syndicator.secrets import redact
from syndicator.store.store import Store


def cmd_check(args: argparse.Namespace) -> int:
    config = _config(args)
    findings = _check_offline(config)
    if not args.offline:
        findings += asyncio.run(_check_online(config))
    if args.json:
        _print_json([{"status": st, "subject": subject, "message": message}
                     for st, subject, message in findings])
    else:
        for status, subject, message in findings:
            print(f"{status:<4} {subject}: {message}")
    return FAILED if any(st == "FAIL" for st, _, _ in findings) else OK


Finding = tuple[str, str, str]  # ("ok" | "warn" | "FAIL", what, detail)


def _check_offline(config: LoadedConfig) -> list[Finding]:
    from syndicator.composer import Composer

    settings = config.settings
    found: list[Finding] = [("ok", f"config {config.path}",
                             f"{len(settings.feeds)} feed(s), {len(settings.channels)} "
                             "channel(s)")]
    composer = Composer([config.base_dir / "templates", config.base_dir])
    for channel in settings.channels:
        problem = composer.check(channel)
        if problem:
            found.append(("FAIL", f"channel {channel.id}", f"template {problem}"))
    if settings.dashboard is not None:
        from syndicator.web.options import options_from_settings, user_problems

        options = options_from_settings(settings)
        found += [("FAIL", "users", problem) for problem in user_problems(options.users)]
        if not options.users:
            found.append(("warn", "users", "nobody can log in to the dashboard (add one with "
                                           "`syndicator user add NAME`)"))
    return found


async def _check_online(config: LoadedConfig) -> list[Finding]:
    """Fetch every feed and verify every channel's credentials, all at once."""
    from syndicator import adapters
    from syndicator.entries import FeedParseError
    from syndicator.errors import PublishError
    from syndicator.fetch import FeedFetcher, FetchError
    from syndicator.watcher import read_feed

    async def feed_finding(fetcher: FeedFetcher, feed: Any) -> Finding:
        try:
            parsed = await read_feed(fetcher, feed)
        except (FetchError, FeedParseError) as exc:
            return ("FAIL", f"feed {feed.id}", redact(str(exc)))
        return ("ok", f"feed {feed.id}",
                f"{len(parsed.entries)} entries ({_clip(parsed.title, 50)})")

    async def channel_finding(channel: Any) -> Finding:
        subject = f"channel {channel.id} ({channel.platform})"
        try:
            adapter = adapters.create(channel)
            try:
                account = await adapter.verify()
            finally:
                await adapter.close()
        except PublishError as exc:
            return ("FAIL", subject, redact(str(exc)))
        except Exception as exc:  # an adapter bug still gets one clear line
            return ("FAIL", subject, redact(repr(exc)))
        return ("ok", subject, f"posting as {account.name}")

    async with FeedFetcher() as fetcher:
        return list(await asyncio.gather(
            *(feed_finding(fetcher, feed) for feed in config.settings.feeds),
            *(channel_finding(channel) for channel in config.settings.channels)))


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
    """Run the daemon; on SIGHUP stop it cleanly and run it again with the config re-read
    (a config that no longer validates is reported and the running one kept)."""
    if sandbox:
        return await _run_once(config, asyncio.Event(), sandbox=True, exclusive=exclusive)
    while True:
        reload = asyncio.Event()
        await _run_once(config, reload, sandbox=False, exclusive=exclusive)
        if not reload.is_set():
            return OK
        try:
            fresh = load_config(config.path)
        except ConfigError as exc:
            log.error("config %s not reloaded, the running one is kept: %s", config.path,
                      "; ".join(exc.problems))
            continue
        if fresh.storage_url != config.storage_url:
            log.error("config %s not reloaded: storage changed; restart syndicator to switch "
                      "databases", config.path)
            continue
        config = fresh
        log.info("config %s reloaded: %d feed(s), %d channel(s)", config.path,
                 len(config.settings.feeds), len(config.settings.channels))


async def _run_once(config: LoadedConfig, reload: asyncio.Event, *, sandbox: bool,
                    exclusive: bool) -> int:
    from syndicator.daemon import Daemon, install_stop_signals

    stop = asyncio.Event()
    install_stop_signals(asyncio.get_running_loop(), stop, None if sandbox else reload)
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


def cmd_db(args: argparse.Namespace) -> int:
    config = _config(args, require_secrets=False)
    store = Store(config.storage_url)
    label = store.engine.url.render_as_string(hide_password=True)
    before, after = store.upgrade()
    if args.action == "upgrade":
        print(f"database {label}: " + (f"upgraded {before or 'empty'} -> {after}"
                                       if before != after else f"already at {after}"))
        return OK
    try:
        age = parse_duration(args.older_than)
    except ValueError as exc:
        raise CommandError(f"--older-than: {exc}") from None
    removed = store.prune(_now() - age)
    if args.json:
        _print_json(removed)
    else:
        print(f"database {label}: removed {removed['attempts']} attempt(s) and "
              f"{removed['events']} event(s) older than {args.older_than} (posts and their "
              "deliveries stay: they are how syndicator knows what it already sent)")
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
