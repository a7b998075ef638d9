"""All four platforms through the daemon, each against its wire-true fake over loopback."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from syndicator.config import LoadedConfig, load_config
from syndicator.daemon import Daemon
from syndicator.sandbox.facebook import FakeGraphAPI
from syndicator.sandbox.feeds import FeedServer
from syndicator.sandbox.telegram import FakeTelegramAPI
from syndicator.sandbox.twitter import FakeXAPI
from tests.feeds import Item, rss

SECRETS = {"TG": "5151:tg-SECRET", "XK": "xk-SECRET", "XS": "xs-SECRET", "XA": "xa-SECRET",
           "XB": "xb-SECRET", "FB": "fb-page-SECRET-token"}
PAGE = "104857600999"


@pytest.fixture
async def fakes() -> AsyncIterator[dict[str, Any]]:
    async with FeedServer() as feeds, FakeTelegramAPI(tokens=[SECRETS["TG"]],
                                                      chats=["@news_fa"]) as tg, \
            FakeXAPI(consumer_key=SECRETS["XK"], consumer_secret=SECRETS["XS"],
                     access_token=SECRETS["XA"], access_token_secret=SECRETS["XB"]) as x, \
            FakeGraphAPI(page_id=PAGE, page_token=SECRETS["FB"]) as fb:
        yield {"feeds": feeds, "telegram": tg, "x": x, "facebook": fb}


def config(tmp_path: Path, fakes: dict[str, Any], monkeypatch: pytest.MonkeyPatch
           ) -> LoadedConfig:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "config.yaml"
    path.write_text(f"""
storage: sqlite:///state.db
feeds:
  - id: fa
    url: {fakes['feeds'].url('/fa.xml')}
    backfill: 10
    language: fa
channels:
  - id: tg
    platform: telegram
    feeds: [fa]
    chat: "@news_fa"
    api_url: {fakes['telegram'].url}
    credentials: {{bot_token: "${{TG}}"}}
  - id: x
    platform: twitter
    feeds: [fa]
    api_url: {fakes['x'].url}
    timeout: 3s
    credentials: {{consumer_key: "${{XK}}", consumer_secret: "${{XS}}",
                   access_token: "${{XA}}", access_token_secret: "${{XB}}"}}
  - id: fb
    platform: facebook
    feeds: [fa]
    page_id: "{PAGE}"
    api_url: {fakes['facebook'].url}
    credentials: {{page_token: "${{FB}}"}}
  - id: wa
    platform: whatsapp
    feeds: [fa]
    share_dir: share
""", encoding="utf-8")
    return load_config(path)


async def poll(cfg: LoadedConfig, max_wait: float = 10) -> Any:
    daemon = Daemon(cfg)
    try:
        return await daemon.poll_once(max_wait=max_wait)
    finally:
        await daemon.close()


PERSIAN = "نمایشگاه کتاب تهران با حضور ناشران افغان گشایش یافت"
ARABIC = "افتتاح معرض الكتاب في الدوحة بمشاركة واسعة"


async def test_persian_and_arabic_posts_arrive_intact_on_every_platform(
        tmp_path: Path, fakes: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    fakes["feeds"].set("/fa.xml", rss([Item("b", ARABIC, 1), Item("a", PERSIAN, 2)],
                                      language="fa"))
    report = await poll(config(tmp_path, fakes, monkeypatch))
    assert report.sent == 8 and report.failed == 0
    tg = [m.plain_text for m in fakes["telegram"].messages]
    x = [t.submitted for t in fakes["x"].tweets]
    fb = [p.message for p in fakes["facebook"].posts]
    share = json.loads((tmp_path / "share" / "links.json").read_text(encoding="utf-8"))
    for received in (tg, x, fb):
        assert PERSIAN in received[0] and ARABIC in received[1]
        assert received[0].startswith("\u200f")  # RTL mark keeps the title right-to-left
    assert {PERSIAN, ARABIC} <= {e["title"] for e in share}
    page = (tmp_path / "share" / "index.html").read_text(encoding="utf-8")
    assert PERSIAN in page and 'dir="auto"' in page
    with sqlite3.connect(tmp_path / "state.db") as db:
        dump = "\n".join(db.iterdump())
    stored = dump + page + json.dumps(share)
    assert not [name for name, value in SECRETS.items() if value in stored]


async def test_expired_facebook_token_pauses_only_that_channel(
        tmp_path: Path, fakes: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    fakes["feeds"].set("/fa.xml", rss([Item("b", "دومی", 1), Item("a", "اولی", 2)]))
    fakes["facebook"].expire_token()
    cfg = config(tmp_path, fakes, monkeypatch)
    report = await poll(cfg)
    assert report.sent == 6 and report.failed == 1  # the first FB post fails, the second waits
    daemon = Daemon(cfg)
    fb = daemon.store.channel_state("fb")
    waiting = daemon.store.queue("fb")
    await daemon.close()
    reason = fb.paused_reason or ""
    assert fb.paused and "token" in reason.lower() and SECRETS["FB"] not in reason
    assert [d["state"] for d in waiting] == ["scheduled"]
    assert len(fakes["telegram"].messages) == 2 and len(fakes["x"].tweets) == 2


async def test_x_rate_limit_reset_is_honoured(
        tmp_path: Path, fakes: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    fakes["feeds"].set("/fa.xml", rss([Item("a", "Limited", 1)]))
    fakes["x"].rate_limit(2)
    limited_at = time.time()
    report = await poll(config(tmp_path, fakes, monkeypatch))
    assert report.sent == 4
    calls = [r for r in fakes["x"].requests_to("/2/tweets", "POST")]
    assert len(calls) == 2  # refused once, then not called again until the reset
    assert calls[1].received - limited_at >= 2.0 - 0.05


def x_only(cfg: LoadedConfig) -> LoadedConfig:
    settings = cfg.settings.model_copy(update={
        "channels": [c for c in cfg.settings.channels if c.id == "x"]})
    return LoadedConfig(settings=settings, path=cfg.path)


async def test_x_answer_lost_after_posting_is_found_not_posted_again(
        tmp_path: Path, fakes: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    fakes["feeds"].set("/fa.xml", rss([Item("a", "Slow answer", 1)]))
    fakes["x"].delay_next(5, path="/2/tweets")  # X keeps the post; our 3 s timeout fires
    report = await poll(x_only(config(tmp_path, fakes, monkeypatch)))
    assert report.sent == 1 and len(fakes["x"].tweets) == 1
    daemon = Daemon(x_only(config(tmp_path, fakes, monkeypatch)))
    attempts = daemon.store.attempts()
    sent = daemon.store.deliveries(states=["sent"])
    await daemon.close()
    assert [a["outcome"] for a in attempts] == ["found"]
    assert sent[0]["remote_id"] == fakes["x"].tweets[0].id


async def test_x_request_lost_before_posting_is_sent_once_more(
        tmp_path: Path, fakes: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    fakes["feeds"].set("/fa.xml", rss([Item("a", "Dropped", 1)]))
    fakes["x"].drop_connection_next(path="/2/tweets")  # nothing posted, no answer
    report = await poll(x_only(config(tmp_path, fakes, monkeypatch)))
    assert report.sent == 1 and len(fakes["x"].tweets) == 1
    daemon = Daemon(x_only(config(tmp_path, fakes, monkeypatch)))
    outcomes = [a["outcome"] for a in reversed(daemon.store.attempts())]
    await daemon.close()
    assert outcomes == ["uncertain", "sent"]
