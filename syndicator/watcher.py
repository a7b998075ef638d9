"""One poll of one feed: fetch, skip what is unchanged, spot new posts, queue their deliveries.

A post is new once: its key (guid, else normalised link) is unknown, its normalised link is
unknown (feeds re-issue GUIDs), and, with ``dedup: [.., title]``, its title was not seen in the
last 30 days. A post and all its deliveries are written in one transaction.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from syndicator.clock import Clock, from_db
from syndicator.composer import Composer, EmptyPost, TemplateProblem
from syndicator.config import ChannelBase, FeedSettings, Settings
from syndicator.durations import format_duration
from syndicator.entries import Entry, FeedParseError, ParsedFeed, parse_feed
from syndicator.fetch import FeedFetcher, FetchError
from syndicator.model import DeliveryState, Post
from syndicator.router import matches
from syndicator.secrets import redact
from syndicator.store.records import NewDelivery, NewPost, PollRecord
from syndicator.store.store import Store

log = logging.getLogger("syndicator.watcher")

TITLE_WINDOW = timedelta(days=30)
MAX_BACKOFF = timedelta(hours=1)


def backoff(interval: timedelta, failures: int) -> timedelta:
    """Interval doubled per failure in a row, capped at an hour (or the interval if longer)."""
    grown: timedelta = interval * 2 ** max(0, failures - 1)
    return min(grown, max(interval, MAX_BACKOFF))


@dataclass(frozen=True, slots=True)
class PollResult:
    feed_id: str
    status: str  # "new", "unchanged", "not_modified", "error"
    new_posts: int = 0
    queued: int = 0
    error: str | None = None


async def read_feed(fetcher: FeedFetcher, feed: FeedSettings) -> ParsedFeed:
    """Fetch and parse a feed as it is now, unconditionally (for `check` and `preview`).

    Raises FetchError or FeedParseError, each one line naming the feed and what to do.
    """
    result = await fetcher.fetch(feed.url, timeout=feed.timeout.total_seconds(),
                                 max_bytes=feed.max_bytes)
    return await asyncio.to_thread(parse_feed, result.body or b"", feed_id=feed.id,
                                   url=result.final_url or feed.url, headers=result.headers,
                                   language=feed.language)


@dataclass(slots=True)
class FeedMemo:
    """What the next poll of a feed needs from the last one."""

    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    first_polled: bool = False
    error_count: int = 0
    next_poll_at: datetime | None = None


class Watcher:
    """Polls feeds into the store.

    It is the only writer of feed state, so it keeps that state in memory (read once) and
    writes poll outcomes in batches: a cycle of thousands of unchanged feeds then costs one
    commit, not one per feed. Losing an unflushed batch in a crash is harmless: the next poll
    fetches again and the posts themselves were written at once.
    """

    FLUSH_AT = 500

    def __init__(self, store: Store, settings: Settings, fetcher: FeedFetcher,
                 composer: Composer, clock: Clock) -> None:
        self.store = store
        self.settings = settings
        self.fetcher = fetcher
        self.composer = composer
        self.clock = clock
        self.memos = {feed_id: FeedMemo(
            etag=row.etag, last_modified=row.last_modified, body_hash=row.body_hash,
            first_polled=row.first_polled_at is not None, error_count=row.error_count or 0,
            next_poll_at=from_db(row.next_poll_at)) for feed_id, row in
            store.feed_states().items()}
        self.pending: list[PollRecord] = []

    def flush(self) -> None:
        """Write the buffered poll outcomes (called every second by the daemon, and on stop)."""
        batch, self.pending = self.pending, []
        self.store.record_polls(batch)

    def _record(self, feed: FeedSettings, **outcome: Any) -> None:
        record = PollRecord(feed.id, feed.url, self.clock.now(), **outcome)
        memo = self.memos.setdefault(feed.id, FeedMemo())
        memo.next_poll_at = record.next_poll_at
        if record.error is None:
            memo.error_count = 0
            if record.etag is not None or record.last_modified is not None:
                memo.etag, memo.last_modified = record.etag, record.last_modified
            memo.body_hash = record.body_hash or memo.body_hash
            memo.first_polled = memo.first_polled or record.parsed
        else:
            memo.error_count += 1
        self.pending.append(record)
        if len(self.pending) >= self.FLUSH_AT:
            self.flush()

    def channels_for(self, feed: FeedSettings) -> list[ChannelBase]:
        return [c for c in self.settings.channels if c.enabled and feed.id in c.feeds]

    async def poll(self, feed: FeedSettings) -> PollResult:
        """Poll one feed; never raises for the feed's own faults (they are logged and stored)."""
        memo = self.memos.get(feed.id) or FeedMemo()
        next_poll = self.clock.now() + feed.poll_interval
        try:
            result = await self.fetcher.fetch(
                feed.url, etag=memo.etag, last_modified=memo.last_modified,
                timeout=feed.timeout.total_seconds(), max_bytes=feed.max_bytes)
        except FetchError as exc:
            return self._error(feed, str(exc), memo.error_count, exc.retry_after)
        if result.body is None:
            self._record(feed, etag=result.etag, last_modified=result.last_modified,
                         next_poll_at=next_poll)
            log.debug("feed %s: not modified", feed.id)
            return PollResult(feed.id, "not_modified")
        digest = hashlib.sha256(result.body).hexdigest()
        if memo.body_hash == digest and memo.first_polled:
            self._record(feed, etag=result.etag, last_modified=result.last_modified,
                         next_poll_at=next_poll)
            log.debug("feed %s: body unchanged", feed.id)
            return PollResult(feed.id, "unchanged")
        try:
            # Parsing a large feed takes long enough to stall every other fetch's timeout.
            parsed = await asyncio.to_thread(
                parse_feed, result.body, feed_id=feed.id, url=result.final_url or feed.url,
                headers=result.headers, language=feed.language)
        except FeedParseError as exc:
            return self._error(feed, str(exc), memo.error_count)
        if parsed.warning:
            log.warning("feed %s: %s (entries were still read)", feed.id, parsed.warning)
        first_poll = not memo.first_polled
        new_posts, queued = self.ingest(feed, parsed.entries, first_poll=first_poll)
        self._record(feed, etag=result.etag, last_modified=result.last_modified,
                     body_hash=digest, parsed=True, next_poll_at=next_poll)
        if new_posts:
            log.info("feed %s: %d new post(s), %d delivery(ies) queued%s", feed.id, new_posts,
                     queued, " (first poll)" if first_poll else "")
        return PollResult(feed.id, "new" if new_posts else "unchanged", new_posts, queued)

    def _error(self, feed: FeedSettings, message: str, failures_before: int,
               retry_after: float | None = None) -> PollResult:
        """Record and log a failed poll; a feed that keeps failing is polled less often."""
        message = redact(message)
        failures = failures_before + 1
        wait = backoff(feed.poll_interval, failures)
        if retry_after:
            wait = max(wait, timedelta(seconds=retry_after))
        self._record(feed, error=message, next_poll_at=self.clock.now() + wait)
        again = f"; failed {failures} times in a row" if failures > 1 else ""
        log.error("feed %s: %s (next try in %s%s)", feed.id, message, format_duration(wait),
                  again)
        return PollResult(feed.id, "error", error=message)

    def due(self, feed: FeedSettings) -> bool:
        """False while a failing feed waits out its backoff (the schedule keeps ticking)."""
        memo = self.memos.get(feed.id)
        if memo is None or not memo.error_count or memo.next_poll_at is None:
            return True
        return memo.next_poll_at <= self.clock.now()

    def ingest(self, feed: FeedSettings, entries: list[Entry], *, first_poll: bool
               ) -> tuple[int, int]:
        """Store the entries not seen before; queue deliveries for the ones to publish."""
        now = self.clock.now()
        if "guid" not in feed.dedup:  # the CMS's guids are not to be trusted: key by link
            entries = [dataclasses.replace(e, key=e.link_norm) if e.link_norm else e
                       for e in entries]
        use_link = "link" in feed.dedup
        use_title = "title" in feed.dedup
        keys, links, titles = self.store.seen(
            feed.id,
            keys=[e.key for e in entries],
            link_norms=[e.link_norm for e in entries if e.link_norm and use_link],
            title_norms=[e.title_norm for e in entries if e.title_norm and use_title],
            titles_since=now - TITLE_WINDOW,
        )
        fresh: list[Entry] = []
        for entry in entries:
            if entry.key in keys:
                continue
            if use_link and entry.link_norm and entry.link_norm in links:
                continue
            if use_title and entry.title_norm and entry.title_norm in titles:
                continue
            fresh.append(entry)
            keys.add(entry.key)
            if entry.link_norm:
                links.add(entry.link_norm)
            if entry.title_norm:
                titles.add(entry.title_norm)
        # Newest first decides backfill; feeds without dates keep their (newest-first) order.
        by_age = sorted(range(len(fresh)), key=lambda i: (
            fresh[i].published or now, -i), reverse=True)
        backfill = set(by_age[: feed.backfill]) if first_poll else set(range(len(fresh)))
        oldest = now - feed.max_age
        channels = self.channels_for(feed)
        queued = 0
        for index in sorted(range(len(fresh)), key=lambda i: (fresh[i].published or now, -i)):
            entry = fresh[index]
            reason = None
            if index not in backfill:
                reason = f"already in the feed on its first poll (backfill: {feed.backfill})"
            elif entry.published and entry.published < oldest:
                reason = f"older than max_age ({feed.max_age})"
            post = entry.to_post(feed.id)
            deliveries = [] if reason else self.deliveries(post, channels, now)
            self.store.add_post(NewPost(post, entry.link_norm, entry.title_norm, reason),
                                deliveries)
            queued += len(deliveries)
        return len(fresh), queued

    def deliveries(self, post: Post, channels: list[ChannelBase], now: datetime
                   ) -> list[NewDelivery]:
        out = []
        for channel in channels:
            ok, why = matches(channel.filters, post)
            if not ok:
                log.debug("feed %s: %r not for %s (%s)", post.feed_id, post.title, channel.id,
                          why)
                continue
            try:
                text = self.composer.render(channel, post).text
            except EmptyPost as exc:
                log.warning("feed %s: entry %s skipped: %s", post.feed_id, post.key, exc)
                return []
            except TemplateProblem as exc:
                out.append(NewDelivery(channel.id, "", now, DeliveryState.FAILED,
                                       last_error=f"template error: {exc}"))
                log.error("channel %s: template error: %s", channel.id, exc)
                continue
            state = (DeliveryState.HELD if channel.approval == "required"
                     else DeliveryState.SCHEDULED)
            out.append(NewDelivery(channel.id, text, now + channel.schedule.delay, state))
        return out
