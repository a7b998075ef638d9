"""TelegramAdapter (real python-telegram-bot and httpx) against FakeTelegramAPI over loopback.

Every failure mode the publisher must tell apart is produced by the fake or by a real socket
condition, then checked for its error class and for the bot token never leaking into the
error or the logs.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from syndicator.adapters.telegram import TelegramAdapter, classify_error, post_url
from syndicator.adapters.telegram_html import parse_html
from syndicator.config import TelegramChannel
from syndicator.errors import (
    AuthError,
    PermanentError,
    RateLimited,
    TransientError,
    UncertainError,
)
from syndicator.model import Message
from syndicator.sandbox.telegram import FakeChat, FakeTelegramAPI, SentMessage

TOKEN = "7654321:AAH-test-SECRET_token-value"
OTHER_TOKEN = "1111111:AAH-wrong-SECRET_token-value"
PUBLIC = FakeChat(-1001234567890, "news_fa", "News FA")
PRIVATE = FakeChat(-1001111111111, None, "Desk")
NOT_ADMIN = FakeChat(-1002222222222, "not_admin_chan", "Not admin", admin=False)


def make_adapter(api_url: str, *, chat: str = "@news_fa", token: str = TOKEN,
                 timeout: str = "1s", **extra: Any) -> TelegramAdapter:
    channel = TelegramChannel.model_validate(
        {"id": "tg", "platform": "telegram", "feeds": ["main"], "chat": chat,
         "api_url": api_url, "timeout": timeout,
         "credentials": {"bot_token": "${TEST_TG_TOKEN}"}, **extra},
        context={"environ": {"TEST_TG_TOKEN": token}},
    )
    return TelegramAdapter(channel)


def msg(text: str = "<b>Hello</b> world", **kw: Any) -> Message:
    return Message(delivery_id=kw.pop("delivery_id", 1), text=text, **kw)


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Everything at DEBUG, except httpx's and PTB's own request logging.

    Those two print request URLs (PTB logs "Set Bot API URL: .../bot<token>" at DEBUG, httpx
    logs each URL at INFO); the logging setup keeps them at WARNING, as here.
    """
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "telegram"):
        caplog.set_level(logging.WARNING, logger=name)
    return caplog


@pytest.fixture
async def api() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI(tokens=[TOKEN], chats=[PUBLIC, PRIVATE, NOT_ADMIN]) as fake:
        yield fake


@pytest.fixture
async def adapter(api: FakeTelegramAPI) -> AsyncIterator[TelegramAdapter]:
    made = make_adapter(api.url)
    yield made
    await made.close()


def assert_no_token(error: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    for secret in (TOKEN, OTHER_TOKEN, TOKEN.split(":", 1)[1]):
        assert secret not in str(error)
        assert secret not in repr(error)
        assert secret not in caplog.text
        for record in caplog.records:
            assert secret not in record.getMessage()


async def publish_error(adapter: TelegramAdapter, message: Message) -> Exception:
    with pytest.raises(Exception) as info:
        await adapter.publish(message)
    assert isinstance(info.value, Exception)
    return info.value


# --- success -------------------------------------------------------------------------------


async def test_publish_returns_receipt_with_id_and_url(
        api: FakeTelegramAPI, adapter: TelegramAdapter, logs: pytest.LogCaptureFixture) -> None:
    first = await adapter.publish(msg(link="https://example.org/a"))
    second = await adapter.publish(msg("second"))
    assert (first.remote_id, first.url) == ("1", "https://t.me/news_fa/1")
    assert (second.remote_id, second.url) == ("2", "https://t.me/news_fa/2")
    sent = api.messages
    assert [m.message_id for m in sent] == [1, 2]
    assert sent[0].method == "sendMessage"
    assert sent[0].text == "<b>Hello</b> world"
    assert sent[0].plain_text == "Hello world"
    assert sent[0].parse_mode == "HTML"
    assert sent[0].entities == [{"type": "bold", "offset": 0, "length": 5}]
    assert sent[0].link_preview_options == {"url": "https://example.org/a"}
    assert TOKEN not in logs.text


async def test_private_channel_gets_a_c_link(api: FakeTelegramAPI) -> None:
    adapter = make_adapter(api.url, chat="-1001111111111")
    try:
        receipt = await adapter.publish(msg())
    finally:
        await adapter.close()
    assert receipt.url == "https://t.me/c/1111111111/1"
    assert api.messages_for(-1001111111111)[0].chat == "-1001111111111"


async def test_persian_and_arabic_text_arrive_intact(
        api: FakeTelegramAPI, adapter: TelegramAdapter) -> None:
    persian = "خبر فوری: <b>زلزلهٔ ۵٫۲ ریشتری</b> در تهران 🇮🇷 &lt;به‌روز&gt;"
    arabic = "عاجل: <i>افتتاح معرض الكتاب</i> في القاهرة — «ثقافة»"
    await adapter.publish(msg(persian))
    await adapter.publish(msg(arabic))
    fa, ar = api.messages
    assert fa.text == persian and ar.text == arabic
    assert fa.plain_text == "خبر فوری: زلزلهٔ ۵٫۲ ریشتری در تهران 🇮🇷 <به‌روز>"
    assert ar.plain_text == "عاجل: افتتاح معرض الكتاب في القاهرة — «ثقافة»"
    assert fa.entities == [{"type": "bold", "offset": 10, "length": 17}]
    assert ar.entities == [{"type": "italic", "offset": 6, "length": 18}]


async def test_silent_post_without_link_preview(api: FakeTelegramAPI) -> None:
    adapter = make_adapter(api.url, disable_notification=True, link_preview=False)
    try:
        await adapter.publish(msg(link="https://example.org/a"))
    finally:
        await adapter.close()
    sent = api.messages[0]
    assert sent.disable_notification is True
    assert sent.link_preview_options == {"is_disabled": True}


async def test_photo_with_caption(api: FakeTelegramAPI, adapter: TelegramAdapter) -> None:
    receipt = await adapter.publish(msg("<b>Photo</b> news", image="https://example.org/p.jpg"))
    assert receipt.note == "photo"
    assert receipt.url == "https://t.me/news_fa/1"
    sent = api.messages[0]
    assert (sent.method, sent.photo) == ("sendPhoto", "https://example.org/p.jpg")
    assert sent.plain_text == "Photo news"


async def test_caption_too_long_for_a_photo_is_sent_as_text(
        api: FakeTelegramAPI, adapter: TelegramAdapter) -> None:
    text = "<b>" + "خ" * 1100 + "</b>"  # 1100 visible units: over the 1024 caption limit
    receipt = await adapter.publish(msg(text, image="https://example.org/p.jpg"))
    assert receipt.note == ""
    assert api.messages[0].method == "sendMessage"


async def test_an_image_telegram_cannot_fetch_falls_back_to_text(
        api: FakeTelegramAPI, adapter: TelegramAdapter) -> None:
    api.fail_next(400, "Bad Request: wrong file identifier/HTTP URL specified",
                  method="sendPhoto")
    receipt = await adapter.publish(msg("<b>Photo</b> news", image="https://example.org/404.jpg",
                                        link="https://example.org/a"))
    assert "image refused by Telegram" in receipt.note and receipt.note.endswith("sent as text")
    assert [m.method for m in api.messages] == ["sendMessage"]
    assert api.messages[0].plain_text == "Photo news"


async def test_other_photo_errors_are_not_retried_as_text(
        api: FakeTelegramAPI, adapter: TelegramAdapter) -> None:
    api.fail_next(400, "Bad Request: chat not found", method="sendPhoto")
    with pytest.raises(AuthError):
        await adapter.publish(msg("x", image="https://example.org/p.jpg"))
    assert api.messages == []


async def test_verify_returns_the_bot_account(adapter: TelegramAdapter) -> None:
    account = await adapter.verify()
    assert (account.id, account.name) == ("7654321", "@syndicator_test_bot")
    assert account.url == "https://t.me/syndicator_test_bot"


@pytest.mark.parametrize(("chat", "reason"), [
    ("@nobody_here", "chat not found"),
    (str(NOT_ADMIN.id), "is not an administrator"),
])
async def test_verify_checks_the_bot_may_post_in_the_channel(
        api: FakeTelegramAPI, chat: str, reason: str) -> None:
    adapter = make_adapter(api.url, chat=chat)
    try:
        with pytest.raises(AuthError) as info:
            await adapter.verify()
    finally:
        await adapter.close()
    assert reason in str(info.value).lower()


async def test_close_then_publish_builds_a_fresh_bot(
        api: FakeTelegramAPI, adapter: TelegramAdapter) -> None:
    await adapter.publish(msg())
    await adapter.close()
    await adapter.publish(msg())
    assert [m.message_id for m in api.messages] == [1, 2]


# --- classified failures -------------------------------------------------------------------


async def test_flood_control_is_rate_limited_with_retry_after(
        api: FakeTelegramAPI, adapter: TelegramAdapter, logs: pytest.LogCaptureFixture) -> None:
    api.fail_next(429, retry_after=7)
    error = await publish_error(adapter, msg())
    assert isinstance(error, RateLimited)
    assert (error.retry_after, error.status, error.platform) == (7.0, 429, "telegram")
    assert api.messages == []
    assert_no_token(error, logs)


async def test_rejected_token_is_auth_error(
        api: FakeTelegramAPI, logs: pytest.LogCaptureFixture) -> None:
    adapter = make_adapter(api.url, token=OTHER_TOKEN)
    try:
        error = await publish_error(adapter, msg())
        verify_error = None
        try:
            await adapter.verify()
        except AuthError as exc:
            verify_error = exc
    finally:
        await adapter.close()
    assert isinstance(error, AuthError) and error.status == 401
    assert isinstance(verify_error, AuthError)
    assert_no_token(error, logs)
    assert_no_token(verify_error, logs)


async def test_scripted_401_is_auth_error(
        api: FakeTelegramAPI, adapter: TelegramAdapter, logs: pytest.LogCaptureFixture) -> None:
    api.fail_next(401)
    error = await publish_error(adapter, msg())
    assert isinstance(error, AuthError)
    assert_no_token(error, logs)


async def test_bot_not_admin_is_auth_error(
        api: FakeTelegramAPI, logs: pytest.LogCaptureFixture) -> None:
    adapter = make_adapter(api.url, chat="@not_admin_chan")
    try:
        error = await publish_error(adapter, msg())
    finally:
        await adapter.close()
    assert isinstance(error, AuthError) and error.status == 403
    assert "bot is not a member of the channel chat" in str(error)
    assert_no_token(error, logs)


async def test_chat_not_found_is_auth_error(
        api: FakeTelegramAPI, logs: pytest.LogCaptureFixture) -> None:
    adapter = make_adapter(api.url, chat="@no_such_channel")
    try:
        error = await publish_error(adapter, msg())
    finally:
        await adapter.close()
    assert isinstance(error, AuthError) and error.status == 400
    assert "chat not found" in str(error).lower()
    assert_no_token(error, logs)


async def test_malformed_html_is_permanent_with_tdlibs_reason(
        api: FakeTelegramAPI, adapter: TelegramAdapter, logs: pytest.LogCaptureFixture) -> None:
    text = "Breaking: <p>earthquake</p>"
    with pytest.raises(Exception) as expected:
        parse_html(text)
    error = await publish_error(adapter, msg(text))
    assert type(error) is PermanentError
    assert error.status == 400
    # PTB lower-cases everything after "Bad Request: ", so compare case-insensitively
    assert str(expected.value).lower() in str(error).lower()
    assert "can't parse entities" in str(error).lower()
    assert api.messages == []
    assert_no_token(error, logs)


async def test_text_over_4096_is_permanent(
        api: FakeTelegramAPI, adapter: TelegramAdapter) -> None:
    error = await publish_error(adapter, msg("😀" * 2049))  # 4098 UTF-16 units
    assert type(error) is PermanentError
    assert "message is too long" in str(error).lower()


async def test_chat_migrated_names_the_new_chat(
        api: FakeTelegramAPI, adapter: TelegramAdapter) -> None:
    api.fail_next(400, "Bad Request: group chat was upgraded to a supergroup chat",
                  migrate_to_chat_id=-1009876543210)
    error = await publish_error(adapter, msg())
    assert type(error) is PermanentError
    assert "-1009876543210" in str(error)


async def test_bad_gateway_is_transient(
        api: FakeTelegramAPI, adapter: TelegramAdapter, logs: pytest.LogCaptureFixture) -> None:
    api.set_down(True)
    error = await publish_error(adapter, msg())
    assert isinstance(error, TransientError) and error.status == 502
    api.set_down(False)
    assert (await adapter.publish(msg())).remote_id == "1"
    assert_no_token(error, logs)


async def test_answer_later_than_timeout_is_uncertain(
        api: FakeTelegramAPI, adapter: TelegramAdapter, logs: pytest.LogCaptureFixture) -> None:
    api.delay_next(3)  # the adapter's read timeout is 1 s
    error = await publish_error(adapter, msg())
    assert isinstance(error, UncertainError)
    assert len(api.messages) == 1  # Telegram did get it: exactly why this is "uncertain"
    assert_no_token(error, logs)


async def test_connection_refused_is_transient(logs: pytest.LogCaptureFixture) -> None:
    with socket.socket() as sock:  # a port nobody listens on once this socket is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    adapter = make_adapter(f"http://127.0.0.1:{port}")
    try:
        error = await publish_error(adapter, msg())
    finally:
        await adapter.close()
    assert isinstance(error, TransientError)
    assert_no_token(error, logs)


async def test_dropped_connection_is_uncertain(
        api: FakeTelegramAPI, adapter: TelegramAdapter, logs: pytest.LogCaptureFixture) -> None:
    """The fake reads the whole request, then closes without answering.

    httpx reports this as RemoteProtocolError ("Server disconnected without sending a
    response"), which it can only see after writing the request. Telegram may have posted it
    before the connection broke, and a blind resend could duplicate the post, so this is
    Uncertain (the publisher holds or checks), not Transient. A connection reset *before*
    anything was written (refused, connect timeout) is Transient.
    """
    api.drop_connection_next()
    error = await publish_error(adapter, msg())
    assert isinstance(error, UncertainError)
    assert api.messages == []
    assert (await adapter.publish(msg())).remote_id == "1"
    assert_no_token(error, logs)


# --- the classifier on its own (pure function) ---------------------------------------------


def _caused(error: Exception, cause: BaseException) -> Exception:
    error.__cause__ = cause
    return error


_REQUEST = httpx.Request("POST", f"http://127.0.0.1:1/bot{TOKEN}/sendMessage")


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (RetryAfter(3), RateLimited),
        (BadRequest("Bad Request: chat not found"), AuthError),
        (BadRequest("Bad Request: message is too long"), PermanentError),
        (_caused(TimedOut(), httpx.ConnectTimeout("timed out")), TransientError),
        (_caused(TimedOut(), httpx.PoolTimeout("timed out")), TransientError),
        (_caused(TimedOut(), httpx.ReadTimeout("timed out")), UncertainError),
        (_caused(TimedOut(), httpx.WriteTimeout("timed out")), UncertainError),
        (_caused(NetworkError("httpx.ConnectError: refused"), httpx.ConnectError("refused")),
         TransientError),
        (_caused(NetworkError("httpx.RemoteProtocolError: gone"),
                 httpx.RemoteProtocolError("gone")), UncertainError),
        (_caused(NetworkError("httpx.ReadError: reset"), httpx.ReadError("reset")),
         UncertainError),
        (NetworkError("Internal Server Error"), TransientError),
        (KeyError("result"), UncertainError),
    ],
)
def test_classify_error_table(exc: Exception, expected: type[Exception]) -> None:
    error = classify_error(exc, token=TOKEN)
    assert type(error) is expected
    assert error.platform == "telegram"


def test_classify_error_scrubs_the_token_from_transport_messages() -> None:
    # a token never registered with syndicator.secrets.redact: only the explicit scrub helps
    leaky = _caused(NetworkError(f"httpx.UnsupportedProtocol: {_REQUEST.url}"),
                    httpx.UnsupportedProtocol("bad", request=_REQUEST))
    quoted = NetworkError("GET /bot7654321%3AAAH-test-SECRET_token-value/getMe failed")
    for exc in (leaky, quoted):
        error = classify_error(exc, token=TOKEN)
        assert TOKEN not in str(error) and "SECRET_token" not in str(error)
        assert "***" in str(error)


def test_status_from_ptb_messages() -> None:
    assert classify_error(NetworkError("Bad Gateway")).status == 502
    assert classify_error(NetworkError("Bad Gateway (502). Parsing failed")).status == 502


def test_post_url_forms() -> None:
    assert post_url("@news_fa", 5) == "https://t.me/news_fa/5"
    assert post_url("-1001234567890", 5) == "https://t.me/c/1234567890/5"
    assert post_url("-12345", 5) is None


# --- the fake from synchronous code, over its other body formats ----------------------------


@pytest.fixture
def threaded_api() -> Iterator[tuple[FakeTelegramAPI, list[SentMessage]]]:
    arrived: list[SentMessage] = []
    fake = FakeTelegramAPI(tokens=[TOKEN], chats=["@sync_chan"], on_message=arrived.append)
    fake.start_in_thread()
    yield fake, arrived
    fake.stop()


def test_fake_in_a_thread_accepts_json_and_multipart(
        threaded_api: tuple[FakeTelegramAPI, list[SentMessage]]) -> None:
    api, arrived = threaded_api
    base = f"{api.url}/bot{TOKEN}"
    with httpx.Client(timeout=5) as client:
        by_json = client.post(f"{base}/sendMessage", json={
            "chat_id": "@sync_chan", "text": "<i>json</i>", "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True}})
        by_multipart = client.post(f"{base}/sendPhoto", data={
            "chat_id": "@sync_chan", "caption": "multipart"},
            files={"photo": ("p.jpg", b"\xff\xd8jpeg", "image/jpeg")})
        empty = client.post(f"{base}/sendMessage", data={"chat_id": "@sync_chan", "text": " "})
        wrong = client.post(f"{api.url}/bot{OTHER_TOKEN}/getMe")
        caption = client.post(f"{base}/sendPhoto", data={
            "chat_id": "@sync_chan", "photo": "https://example.org/p.jpg",
            "caption": "<b>" + "x" * 1025 + "</b>", "parse_mode": "HTML"})
    assert by_json.status_code == 200
    assert by_json.json()["result"]["chat"] == {
        "id": api.chats[0].id, "type": "channel", "title": "sync_chan", "username": "sync_chan"}
    assert by_multipart.status_code == 200
    assert by_multipart.json()["result"]["message_id"] == 2
    assert arrived[1].photo == "attach://p.jpg"
    assert (empty.status_code, empty.json()["description"]) == (
        400, "Bad Request: message text is empty")
    assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert caption.json()["description"] == "Bad Request: message caption is too long"
    assert [m.message_id for m in arrived] == [1, 2]
    assert arrived[0].link_preview_options == {"is_disabled": True}
    assert api.requests == [("sendMessage", 200), ("sendPhoto", 200), ("sendMessage", 400),
                            ("getMe", 401), ("sendPhoto", 400)]
    assert json.dumps(api.requests).count(TOKEN) == 0


def test_fake_fault_queue_is_consumed_in_order(
        threaded_api: tuple[FakeTelegramAPI, list[SentMessage]]) -> None:
    api, _ = threaded_api
    api.fail_next(500, times=2)
    api.fail_next(429, retry_after=2, method="sendMessage")
    url = f"{api.url}/bot{TOKEN}"
    with httpx.Client(timeout=5) as client:
        answers = [client.post(f"{url}/getMe") for _ in range(3)]
        flood = client.post(f"{url}/sendMessage", data={"chat_id": "@sync_chan", "text": "x"})
        ok = client.post(f"{url}/sendMessage", data={"chat_id": "@sync_chan", "text": "x"})
    assert [a.status_code for a in answers] == [500, 500, 200]
    assert flood.status_code == 429
    assert flood.json() == {"ok": False, "error_code": 429,
                            "description": "Too Many Requests: retry after 2",
                            "parameters": {"retry_after": 2}}
    assert ok.json()["result"]["message_id"] == 1
