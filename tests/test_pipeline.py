"""End to end, in process: a real feed server and the sandbox Bot API over loopback sockets."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from syndicator.config import LoadedConfig, parse_settings
from syndicator.daemon import Daemon
from syndicator.sandbox.feeds import FeedServer
from syndicator.sandbox.telegram import FakeChat, FakeTelegramAPI
from tests.feeds import Item, rss

TOKEN = "424242:pipeline-SECRET-token"
ENV = {"BOT_TOKEN": TOKEN}


@pytest.fixture
async def feeds() -> AsyncIterator[FeedServer]:
    async with FeedServer() as server:
        yield server


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI(tokens=[TOKEN], chats=[
            "@news_en", "@news_fa", FakeChat(id=-1005550001, username="no_admin",
                                             admin=False)]) as api:
        yield api


def make_config(tmp_path: Path, feeds: FeedServer, telegram: FakeTelegramAPI, *,
                feed_ids: tuple[str, ...] = ("en",), channel: dict[str, Any] | None = None,
                feed: dict[str, Any] | None = None, token_env: str = "BOT_TOKEN",
                environ: dict[str, str] | None = None, storage: str | None = None
                ) -> LoadedConfig:
    ch = {"id": "tg", "platform": "telegram", "feeds": list(feed_ids), "chat": "@news_en",
          "api_url": telegram.url, "timeout": "2s",
          "credentials": {"bot_token": f"${{{token_env}}}"},
          "retry": {"max_attempts": 3, "base_delay": "1s", "max_delay": "2s"}}
    ch.update(channel or {})
    data = {
        "storage": storage or f"sqlite:///{tmp_path / 'state.db'}",
        "feeds": [{"id": fid, "url": feeds.url(f"/{fid}.xml"), "backfill": 10, "timeout": "2s",
                   **(feed or {})} for fid in feed_ids],
        "channels": [ch],
    }
    settings = parse_settings(data, environ=environ or ENV)
    return LoadedConfig(settings=settings, path=tmp_path / "config.yaml")


async def poll(config: LoadedConfig, max_wait: float = 10.0) -> Any:
    daemon = Daemon(config)
    try:
        return await daemon.poll_once(max_wait=max_wait)
    finally:
        await daemon.close()


def titles(telegram: FakeTelegramAPI, chat: str = "@news_en") -> list[str]:
    return [m.plain_text.splitlines()[0] for m in telegram.messages_for(chat)]


async def test_new_posts_arrive_once_oldest_first_across_restarts(
        tmp_path: Path, feeds: FeedServer, telegram: FakeTelegramAPI, storage_url: str) -> None:
    feeds.set("/en.xml", rss([Item("c", "Third", 10), Item("b", "Second", 20),
                              Item("a", "First", 30)]))
    config = make_config(tmp_path, feeds, telegram, storage=storage_url)
    report = await poll(config)
    assert report.sent == 3 and report.failed == 0
    assert titles(telegram) == ["First", "Second", "Third"]

    feeds.set("/en.xml", rss([Item("e", "Fifth", 1), Item("d", "Fourth", 2),
                              Item("c", "Third", 10), Item("b", "Second", 20)]))
    await poll(config)
    assert titles(telegram) == ["First", "Second", "Third", "Fourth", "Fifth"]

    await poll(config)  # a fresh daemon on the same database: nothing again
    assert len(telegram.messages) == 5


async def test_reissued_guid_and_tracking_params_are_not_new(
        tmp_path: Path, feeds: FeedServer, telegram: FakeTelegramAPI) -> None:
    feeds.set("/en.xml", rss([Item("a", "Original", 5)]))
    config = make_config(tmp_path, feeds, telegram)
    await poll(config)
    reissued = rss([Item("a", "Original (edited title)", 5, guid="urn:new-guid-123")])
    feeds.set("/en.xml", reissued)
    await poll(config)
    assert titles(telegram) == ["Original"]


async def test_first_poll_follows_backfill_and_max_age(
        tmp_path: Path, feeds: FeedServer, telegram: FakeTelegramAPI) -> None:
    feeds.set("/en.xml", rss([Item("n3", "Newest", 1), Item("n2", "Middle", 2),
                              Item("n1", "Oldest", 3)]))
    config = make_config(tmp_path, feeds, telegram, feed={"backfill": 2})
    await poll(config)
    assert titles(telegram) == ["Middle", "Newest"]
    feeds.set("/en.xml", rss([Item("old", "Ancient news", 60 * 24 * 9), Item("n4", "Fresh", 0)]))
    await poll(config)
    assert titles(telegram)[-1] == "Fresh" and "Ancient news" not in titles(telegram)


async def test_rate_limit_is_waited_out_then_succeeds(
        tmp_path: Path, feeds: FeedServer, telegram: FakeTelegramAPI) -> None:
    feeds.set("/en.xml", rss([Item("a", "Patience", 1)]))
    telegram.fail_next(429, retry_after=1, method="sendMessage")
    config = make_config(tmp_path, feeds, telegram)
    report = await poll(config)
    assert report.sent == 1 and titles(telegram) == ["Patience"]
    sends = [s for m, s in telegram.requests if m == "sendMessage"]
    assert sends == [429, 200]
    daemon = Daemon(config)
    history = daemon.store.attempts()
    await daemon.close()
    assert [a["outcome"] for a in reversed(history)] == ["rate_limited", "sent"]
    assert history[1]["retry_after"] == 1


@pytest.mark.parametrize(("setup", "reason"), [
    ({"token_env": "WRONG"}, "unauthorized"),
    ({"channel": {"chat": "@no_admin"}}, "bot is not a member"),
    ({"channel": {"chat": "@nobody_here"}}, "chat not found"),
])
async def test_auth_errors_fail_at_once_with_reason_and_pause_the_channel(
        tmp_path: Path, feeds: FeedServer, telegram: FakeTelegramAPI,
        setup: dict[str, Any], reason: str) -> None:
    feeds.set("/en.xml", rss([Item("b", "Second", 1), Item("a", "First", 2)]))
    environ = {**ENV, "WRONG": "999:not-the-token"}
    config = make_config(tmp_path, feeds, telegram, environ=environ, **setup)
    report = await poll(config)
    assert report.failed == 1 and report.sent == 0
    assert len([m for m, _ in telegram.requests if m == "sendMessage"]) == 1  # no retries
    daemon = Daemon(config)
    failed = daemon.store.deliveries(states=["failed"])
    waiting = daemon.store.queue()
    channel = daemon.store.channel_state("tg")
    await daemon.close()
    assert len(failed) == 1 and reason in failed[0]["last_error"].lower()
    assert [d["state"] for d in waiting] == ["scheduled"]  # the next post waits, not lost
    assert channel.paused and reason in (channel.paused_reason or "").lower()


async def test_broken_feed_is_logged_and_other_feeds_go_on(
        tmp_path: Path, feeds: FeedServer, telegram: FakeTelegramAPI,
        caplog: pytest.LogCaptureFixture) -> None:
    feeds.set("/en.xml", b"<html><body><h1>Maintenance</h1></body></html>",
              content_type="text/html")
    feeds.set("/fa.xml", rss([Item("a", "خبر تازه از شهر", 1)], language="fa"))
    config = make_config(tmp_path, feeds, telegram, feed_ids=("en", "fa"))
    with caplog.at_level(logging.ERROR):
        report = await poll(config)
    assert report.feed_errors == 1 and report.sent == 1
    assert titles(telegram) == ["خبر تازه از شهر"]
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].startswith("feed en: ")
    assert "\n" not in errors[0]


async def test_transient_errors_retry_with_backoff_then_fail_with_reason(
        tmp_path: Path, feeds: FeedServer, telegram: FakeTelegramAPI) -> None:
    feeds.set("/en.xml", rss([Item("a", "Unlucky", 1)]))
    telegram.set_down(True)
    config = make_config(tmp_path, feeds, telegram)
    report = await poll(config, max_wait=5)
    assert report.failed == 1
    daemon = Daemon(config)
    failed = daemon.store.deliveries(states=["failed"])
    attempts = daemon.store.attempts()
    await daemon.close()
    assert failed[0]["last_error"].startswith("gave up after 3 attempts")
    assert [a["outcome"] for a in attempts] == ["failed", "transient", "transient"]
    gaps = [(b["started_at"] - a["finished_at"]).total_seconds()
            for a, b in zip(reversed(attempts), list(reversed(attempts))[1:], strict=False)]
    assert all(gap >= 0.5 for gap in gaps)  # backoff of base_delay=1s * [0.5, 1.0]


async def test_filters_route_posts(tmp_path: Path, feeds: FeedServer,
                                   telegram: FakeTelegramAPI) -> None:
    feeds.set("/en.xml", rss([Item("a", "Match report", 3, categories=["Sport"]),
                              Item("b", "Budget vote", 2, categories=["Politics"]),
                              Item("c", "Sponsored: shoes", 1, categories=["Sport", "Ads"])]))
    config = make_config(tmp_path, feeds, telegram, channel={
        "filters": {"categories": ["sport"], "exclude_categories": ["ads"]}})
    await poll(config)
    assert titles(telegram) == ["Match report"]


async def test_oversized_and_silent_feeds_fail_clearly(
        tmp_path: Path, feeds: FeedServer, telegram: FakeTelegramAPI,
        caplog: pytest.LogCaptureFixture) -> None:
    feeds.huge("/en.xml", 50 * 1024 * 1024)
    feeds.hang("/fa.xml")
    config = make_config(tmp_path, feeds, telegram, feed_ids=("en", "fa"),
                         feed={"timeout": "1s"})
    with caplog.at_level(logging.ERROR):
        report = await poll(config)
    assert report.feed_errors == 2
    messages = sorted(r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)
    assert "larger than" in messages[0] and "max_bytes" in messages[0]
    assert "no answer within 1s" in messages[1] or "timeout" in messages[1].lower()


async def test_budget_holds_posts_until_next_month_with_the_reason(
        tmp_path: Path, feeds: FeedServer, telegram: FakeTelegramAPI) -> None:
    feeds.set("/en.xml", rss([Item("c", "Third", 1), Item("b", "Second", 2),
                              Item("a", "First", 3)]))
    config = make_config(tmp_path, feeds, telegram, channel={"budget": {
        "per_month": 0.45, "price_per_post": 0.015, "price_per_post_with_link": 0.20}})
    report = await poll(config)
    assert report.sent == 2 and titles(telegram) == ["First", "Second"]
    daemon = Daemon(config)
    waiting = daemon.store.queue()
    from syndicator.status import status_data

    status = status_data(config, daemon.store, daemon.clock.now())
    await daemon.close()
    assert [(d["post"]["title"], d["state"], d["error_kind"]) for d in waiting] == [
        ("Third", "scheduled", "budget")]
    assert "$0.40 of $0.45 spent this month" in waiting[0]["last_error"]
    assert status["channels"][0]["budget"] == {"per_month": 0.45, "spent_this_month": 0.4}


async def test_a_failing_feed_backs_off_and_recovers(
        tmp_path: Path, feeds: FeedServer, telegram: FakeTelegramAPI,
        caplog: pytest.LogCaptureFixture) -> None:
    feeds.status("/en.xml", 503, headers={"Retry-After": "120"})
    config = make_config(tmp_path, feeds, telegram, feed={"poll_interval": "1m"})
    daemon = Daemon(config)
    feed = config.settings.feeds[0]
    try:
        with caplog.at_level(logging.ERROR):
            assert (await daemon.poll_feed(feed)).status == "error"  # type: ignore[union-attr]
        assert "next try in 2m" in caplog.records[-1].getMessage()  # Retry-After wins
        assert await daemon.poll_feed(feed) is None  # waiting out the backoff
        assert feeds.requests["/en.xml"] == 1
        feeds.clear("/en.xml")
        feeds.set("/en.xml", rss([Item("a", "Back online", 1)]))
        report = await daemon.poll_once()  # an explicit poll does not wait
        assert report.sent == 1 and daemon.watcher.due(feed)
    finally:
        await daemon.close()


def test_backoff_doubles_and_caps() -> None:
    from datetime import timedelta

    from syndicator.watcher import backoff

    steps = [backoff(timedelta(minutes=5), n).total_seconds() / 60 for n in range(1, 8)]
    assert steps == [5, 10, 20, 40, 60, 60, 60]
    assert backoff(timedelta(hours=2), 3) == timedelta(hours=2)
