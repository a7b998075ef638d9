"""The daemon: APScheduler is the clock, the store is the memory.

Each feed is polled on its interval (with jitter); the publisher ticks every second. A daemon
killed at any instant restarts from the store and neither loses nor repeats work.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from syndicator import adapters as adapter_registry
from syndicator.adapters.base import Adapter
from syndicator.clock import Clock, SystemClock
from syndicator.composer import Composer
from syndicator.config import ChannelBase, FeedSettings, LoadedConfig
from syndicator.fetch import FeedFetcher
from syndicator.publisher import Publisher
from syndicator.secrets import redact
from syndicator.store.store import Store
from syndicator.watcher import PollResult, Watcher

log = logging.getLogger("syndicator.daemon")

STOP_GRACE = 8.0
PUBLISH_TICK = 1.0


@dataclass
class CycleReport:
    """What one `poll --once` did, for its summary line and exit code."""

    polls: list[PollResult] = field(default_factory=list)
    sent: int = 0
    failed: int = 0
    uncertain: int = 0
    waiting: int = 0

    @property
    def feed_errors(self) -> int:
        return sum(1 for p in self.polls if p.status == "error")


class Daemon:
    """Owns the store, the fetcher, the adapters, the watcher and the publisher."""

    def __init__(
        self,
        config: LoadedConfig,
        *,
        clock: Clock | None = None,
        make_adapter: Callable[[ChannelBase], Adapter] = adapter_registry.create,
        exclusive: bool | None = None,
    ) -> None:
        """``exclusive``: this process holds the daemon lock (default: SQLite, which the
        commands always lock), so deliveries left 'sending' belong to a dead process."""
        self.config = config
        self.settings = config.settings
        self.clock = clock or SystemClock()
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.store = Store.open(config.storage_url, clock=self.clock)
        self.fetcher = FeedFetcher()
        self.composer = Composer([config.base_dir / "templates", config.base_dir])
        self.adapters: dict[str, Adapter] = {}
        for channel in self.settings.channels:
            if not channel.enabled:
                continue
            try:
                self.adapters[channel.id] = make_adapter(channel)
            except Exception as exc:
                log.error("channel %s: cannot start its %s adapter: %s (run `syndicator check`)",
                          channel.id, channel.platform, redact(str(exc)))
        self.watcher = Watcher(self.store, self.settings, self.fetcher, self.composer, self.clock)
        self.publisher = Publisher(self.store, self.settings, self.adapters, self.clock,
                                   owner=self.owner)
        if exclusive is not None:
            self.publisher.exclusive = exclusive

    async def close(self) -> None:
        for adapter in self.adapters.values():
            try:
                await adapter.close()
            except Exception as exc:  # closing must not hide the real outcome
                log.debug("closing %s adapter: %s", adapter.platform, redact(str(exc)))
        await self.fetcher.close()
        self.store.close()

    async def poll_feed(self, feed: FeedSettings) -> PollResult | None:
        if not self.watcher.due(feed):
            return None
        result = await self.watcher.poll(feed)
        if result.queued:
            await self.publisher.tick()
        return result

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set, then finish in-flight publishes within the grace time."""
        recovered = await self.publisher.recover()
        if recovered:
            log.warning("%d delivery(ies) were interrupted by the last stop; see "
                        "`syndicator queue`", recovered)
        scheduler = AsyncIOScheduler(timezone=UTC)
        now = self.clock.now()
        for index, feed in enumerate(self.settings.feeds):
            interval = feed.poll_interval.total_seconds()
            jitter = min(interval * 0.1, 30.0)
            memo = self.watcher.memos.get(feed.id)
            planned = memo.next_poll_at if memo else None
            first = now + timedelta(seconds=min(index * 0.2, 5.0))
            if planned is not None and first < planned < now + feed.poll_interval:
                first = planned
            scheduler.add_job(
                self.poll_feed, IntervalTrigger(seconds=interval, jitter=jitter),
                args=[feed], id=f"feed:{feed.id}", name=f"poll {feed.id}",
                next_run_time=first, max_instances=1, coalesce=True,
                misfire_grace_time=int(max(interval, 1)))
        scheduler.add_job(self.watcher.flush, IntervalTrigger(seconds=PUBLISH_TICK),
                          id="flush", name="record poll outcomes", max_instances=1,
                          coalesce=True, misfire_grace_time=5)
        scheduler.add_job(self.publisher.tick, IntervalTrigger(seconds=PUBLISH_TICK),
                          id="publisher", name="publish due deliveries", max_instances=1,
                          coalesce=True, misfire_grace_time=5)
        scheduler.start()
        dashboard = await self._start_dashboard()
        log.info("syndicator running: %d feed(s), %d channel(s), storage %s; Ctrl-C to stop",
                 len(self.settings.feeds), len(self.adapters), self._storage_label())
        try:
            await stop.wait()
        finally:
            log.info("stopping: finishing in-flight posts (up to %.0fs)", STOP_GRACE)
            scheduler.shutdown(wait=False)
            await self.publisher.stop(STOP_GRACE)
            self.watcher.flush()
            if dashboard is not None:
                await dashboard.stop()
            log.info("stopped")

    async def _start_dashboard(self) -> Any:
        """The editors' dashboard on this loop and store, if the config has ``dashboard:``.

        A dashboard that cannot bind is logged, not fatal: publishing goes on without it.
        """
        if self.settings.dashboard is None:
            return None
        from syndicator.web import Dashboard

        dashboard = Dashboard(self.config, store=self.store, clock=self.clock)
        try:
            await dashboard.start()
        except OSError as exc:
            log.error("dashboard: cannot listen on %s: %s", self.settings.dashboard.listen,
                      exc.strerror or exc)
            return None
        return dashboard

    async def poll_once(self, max_wait: float = 60.0) -> CycleReport:
        """One watch cycle, then publish everything due, waiting out short retry-afters."""
        report = CycleReport()
        report.uncertain = await self.publisher.recover()
        report.polls = list(await asyncio.gather(
            *(self.watcher.poll(feed) for feed in self.settings.feeds)))
        self.watcher.flush()
        before = self.publisher.stats.copy()
        while True:
            started = await self.publisher.tick()
            await self.publisher.wait_idle()
            if started:
                continue
            wake = self.publisher.next_wakeup()
            if wake is None:
                break
            delay = (wake - self.clock.now()).total_seconds()
            if delay > max_wait:
                break
            log.info("waiting %.0fs for the next due delivery", max(delay, 0))
            await asyncio.sleep(max(delay, 0) + 0.05)
        after = self.publisher.stats
        report.sent = after["sent"] - before["sent"]
        report.failed = after["failed"] - before["failed"]
        report.uncertain += after["uncertain"] - before["uncertain"]
        report.waiting = sum(len(self.store.queue(c.id)) for c in self.settings.channels)
        return report

    def _storage_label(self) -> str:
        return self.store.engine.url.render_as_string(hide_password=True)


def install_stop_signals(loop: asyncio.AbstractEventLoop, stop: asyncio.Event,
                         reload: asyncio.Event | None = None) -> None:
    """SIGTERM/SIGINT set ``stop`` (a clean stop); a second one ends the process at once.
    With ``reload``, SIGHUP sets both: the daemon stops cleanly and starts again with the
    config file read anew."""

    def request_stop(signame: str) -> None:
        if stop.is_set() and not (reload is not None and reload.is_set()):
            log.warning("%s again: stopping now", signame)
            os._exit(130)
        log.info("%s received", signame)
        if reload is not None:
            reload.clear()
        stop.set()

    def request_reload() -> None:
        log.info("SIGHUP received: reloading the config")
        assert reload is not None
        reload.set()
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, request_stop, sig.name)
    if reload is not None:
        loop.add_signal_handler(signal.SIGHUP, request_reload)
