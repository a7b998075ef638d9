"""One contract, every adapter: each runs against its platform's fake over a real socket.

A platform without a fault (WhatsApp has no server; only X and Facebook report duplicates) is
simply not parametrized for that test.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from syndicator.adapters.base import Adapter
from syndicator.adapters.facebook import FacebookAdapter
from syndicator.adapters.telegram import TelegramAdapter
from syndicator.adapters.twitter import TwitterAdapter
from syndicator.adapters.whatsapp import WhatsAppAdapter
from syndicator.config import parse_settings
from syndicator.errors import (
    AuthError,
    DuplicateError,
    PublishError,
    RateLimited,
    TransientError,
    UncertainError,
)
from syndicator.model import Message, Receipt
from syndicator.sandbox.facebook import FakeGraphAPI
from syndicator.sandbox.telegram import FakeTelegramAPI
from syndicator.sandbox.twitter import FakeXAPI

TIMEOUT = "400ms"
LATE = 1.2  # seconds a delayed answer waits: well past TIMEOUT
PERSIAN = "خبر فوری: بارش برف در تهران مدارس را تعطیل کرد — گزارش کامل در سایت"
ARABIC = "عاجل: افتتاح معرض الكتاب الدولي في القاهرة بمشاركة ٥٠ دولة"

X_ENV = {"X_CK": "ck-contract-key", "X_CS": "cs-contract-secret",
         "X_AT": "at-contract-token", "X_ATS": "ats-contract-token-secret"}
FB_ENV = {"FB_PAGE_TOKEN": "EAAG-contract-page-token"}
TG_ENV = {"TG_BOT_TOKEN": "123456:TEST-contract-token"}


def channel(data: dict[str, Any], environ: dict[str, str]) -> Any:
    """A validated channel, with its secrets read from ``environ`` as in production."""
    settings = parse_settings(
        {"feeds": [{"id": "news", "url": "https://example.com/feed.xml"}],
         "channels": [{"id": "ch", "feeds": ["news"], "timeout": TIMEOUT, **data}]},
        environ=environ)
    return settings.channels[0]


@dataclass
class Rig:
    """An adapter wired to its fake, and how to look at and misdirect that fake."""

    adapter: Adapter
    count: Callable[[], int]
    held: Callable[[], list[str]]
    secrets: list[str]
    faults: dict[str, Callable[[], None]] = field(default_factory=dict)


@asynccontextmanager
async def twitter_rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with FakeXAPI(consumer_key=X_ENV["X_CK"], consumer_secret=X_ENV["X_CS"],
                        access_token=X_ENV["X_AT"],
                        access_token_secret=X_ENV["X_ATS"]) as fake:
        adapter = TwitterAdapter(channel({
            "platform": "twitter", "api_url": fake.url,
            "credentials": {"consumer_key": "${X_CK}", "consumer_secret": "${X_CS}",
                            "access_token": "${X_AT}", "access_token_secret": "${X_ATS}"}},
            X_ENV))

        def wrong_secret() -> None:
            fake.access_token_secret = "rotated-elsewhere"

        yield Rig(adapter, lambda: len(fake.requests), lambda: [t.submitted for t in fake.tweets],
                  list(X_ENV.values()), {
                      "rate_limit": lambda: fake.rate_limit(60),
                      "auth": wrong_secret,
                      "server_error": lambda: fake.fail_next(503),
                      "timeout": lambda: fake.delay_next(LATE),
                      "dropped": fake.drop_connection_next,
                  })
        await adapter.close()


@asynccontextmanager
async def facebook_rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with FakeGraphAPI(page_id="104857600123456",
                            page_token=FB_ENV["FB_PAGE_TOKEN"]) as fake:
        adapter = FacebookAdapter(channel({
            "platform": "facebook", "api_url": fake.url, "page_id": "104857600123456",
            "credentials": {"page_token": "${FB_PAGE_TOKEN}"}}, FB_ENV))
        yield Rig(adapter, lambda: len(fake.requests), lambda: [p.message for p in fake.posts],
                  list(FB_ENV.values()), {
                      "rate_limit": lambda: fake.throttle(5),
                      "auth": fake.expire_token,
                      "server_error": lambda: fake.fail_next(500),
                      "timeout": lambda: fake.delay_next(LATE),
                      "dropped": fake.drop_connection_next,
                  })
        await adapter.close()


@asynccontextmanager
async def telegram_rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with FakeTelegramAPI(tokens=[TG_ENV["TG_BOT_TOKEN"]],
                               chats=["@example_news"]) as fake:
        adapter = TelegramAdapter(channel({
            "platform": "telegram", "api_url": fake.url, "chat": "@example_news",
            "credentials": {"bot_token": "${TG_BOT_TOKEN}"}}, TG_ENV))
        yield Rig(adapter, lambda: len(fake.requests),
                  lambda: [m.plain_text for m in fake.messages], list(TG_ENV.values()), {
                      "rate_limit": lambda: fake.fail_next(429, retry_after=7),
                      "auth": fake.tokens.clear,
                      "server_error": lambda: fake.fail_next(502),
                      "timeout": lambda: fake.delay_next(LATE),
                      "dropped": fake.drop_connection_next,
                  })
        await adapter.close()


@asynccontextmanager
async def whatsapp_rig(tmp_path: Path) -> AsyncIterator[Rig]:
    share = tmp_path / "share"
    adapter = WhatsAppAdapter(channel({"platform": "whatsapp", "share_dir": str(share)}, {}))

    def held() -> list[str]:
        if not (share / "links.json").exists():
            return []
        entries = json.loads((share / "links.json").read_text(encoding="utf-8"))
        return [e["text"] for e in reversed(entries)]

    yield Rig(adapter, lambda: len(held()), held, [])
    await adapter.close()


RIGS = {"twitter": twitter_rig, "facebook": facebook_rig, "telegram": telegram_rig,
        "whatsapp": whatsapp_rig}
DUPLICATES = ("twitter", "facebook")  # the platforms that refuse a repeated post


def having(fault: str) -> list[str]:
    """The platforms whose fakes can stage ``fault``."""
    return [name for name in RIGS if name != "whatsapp"] if fault != "duplicate" else list(
        DUPLICATES)


@pytest.fixture
async def rig(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Rig]:
    async with RIGS[request.param](tmp_path) as built:
        yield built


def message(text: str = "A headline https://example.com/news/1", delivery_id: int = 1,
            **kw: Any) -> Message:
    return Message(delivery_id=delivery_id, text=text, title="A headline", **kw)


async def failing_publish(rig: Rig, fault: str, expected: type[PublishError]) -> PublishError:
    """Stage ``fault``, publish once, and check the adapter made exactly one quick attempt."""
    rig.faults[fault]()
    before = rig.count()
    started = time.monotonic()
    with pytest.raises(expected) as caught:
        await rig.adapter.publish(message())
    elapsed = time.monotonic() - started
    assert rig.count() - before == 1, "an adapter makes exactly one request per publish"
    assert elapsed < LATE + 1.5, "an adapter never sleeps"
    error = caught.value
    assert error.platform == rig.adapter.platform
    for secret in rig.secrets:
        assert secret not in str(error) and secret not in repr(error.args)
    return error


@pytest.mark.parametrize("rig", list(RIGS), indirect=True)
async def test_success_returns_a_receipt(rig: Rig) -> None:
    receipt = await rig.adapter.publish(message())
    assert isinstance(receipt, Receipt)
    assert receipt.remote_id
    assert receipt.url and receipt.url.startswith("https://")
    assert rig.count() == 1
    assert any("A headline" in text for text in rig.held())


@pytest.mark.parametrize("rig", list(RIGS), indirect=True)
async def test_persian_and_arabic_arrive_intact(rig: Rig) -> None:
    await rig.adapter.publish(message(PERSIAN, delivery_id=1))
    await rig.adapter.publish(message(ARABIC, delivery_id=2))
    held = rig.held()
    assert held[-2].startswith(PERSIAN) and held[-1].startswith(ARABIC)


@pytest.mark.parametrize("rig", having("rate_limit"), indirect=True)
async def test_rate_limit_is_rate_limited_with_retry_after(rig: Rig) -> None:
    error = await failing_publish(rig, "rate_limit", RateLimited)
    assert isinstance(error, RateLimited)
    assert error.retry_after >= 5


@pytest.mark.parametrize("rig", having("auth"), indirect=True)
async def test_rejected_credentials_are_auth_errors(rig: Rig) -> None:
    await failing_publish(rig, "auth", AuthError)


@pytest.mark.parametrize("rig", having("duplicate"), indirect=True)
async def test_a_repeated_post_is_a_duplicate(rig: Rig) -> None:
    await rig.adapter.publish(message())
    before = rig.count()
    with pytest.raises(DuplicateError):
        await rig.adapter.publish(message(delivery_id=2))
    assert rig.count() - before == 1
    assert len(rig.held()) == 1


@pytest.mark.parametrize("rig", having("server_error"), indirect=True)
async def test_server_errors_are_transient(rig: Rig) -> None:
    await failing_publish(rig, "server_error", TransientError)


@pytest.mark.parametrize("rig", having("timeout"), indirect=True)
async def test_no_answer_after_sending_is_uncertain(rig: Rig) -> None:
    await failing_publish(rig, "timeout", UncertainError)


@pytest.mark.parametrize("rig", having("dropped"), indirect=True)
async def test_a_dropped_connection_after_sending_is_uncertain(rig: Rig) -> None:
    await failing_publish(rig, "dropped", UncertainError)


@pytest.mark.parametrize("name", [n for n in RIGS if n != "whatsapp"])
async def test_unreachable_endpoint_is_transient(name: str, tmp_path: Path) -> None:
    async with RIGS[name](tmp_path) as rig:
        port = urlsplit(rig.adapter.api_url).port
    # The fake is gone: nothing listens on its port, so the request never left.
    with pytest.raises(TransientError) as caught:
        await rig.adapter.publish(message())
    assert not isinstance(caught.value, UncertainError)
    assert port


@pytest.mark.parametrize("rig", list(RIGS), indirect=True)
async def test_verify_names_the_account(rig: Rig) -> None:
    account = await rig.adapter.verify()
    assert account.id and account.name
    assert rig.count() <= 2  # the account, and the target's rights (Telegram); never a post


def test_whatsapp_links_decode_back_to_the_text(tmp_path: Path) -> None:
    """The share link of the contract's Persian post carries the text unchanged."""
    from syndicator.adapters.whatsapp import share_url

    query = parse_qs(urlsplit(share_url(PERSIAN)).query)
    assert query["text"] == [PERSIAN]
