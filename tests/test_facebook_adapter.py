"""The Facebook adapter against FakeGraphAPI over loopback, and Graph's error table."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import facebook
import pytest

from syndicator.adapters.facebook import (
    DEFAULT_THROTTLE_WAIT,
    FacebookAdapter,
    classify_graph_error,
)
from syndicator.config import parse_settings
from syndicator.errors import (
    AuthError,
    DuplicateError,
    PermanentError,
    RateLimited,
    TransientError,
)
from syndicator.model import Message
from syndicator.sandbox.facebook import FakeGraphAPI

PAGE = "104857600123456"
TOKEN = "EAAG-unit-page-token-value"
ENV = {"FB_TOKEN": TOKEN}


def make_channel(api_url: str, page_id: str = PAGE, **extra: Any) -> Any:
    settings = parse_settings(
        {"feeds": [{"id": "news", "url": "https://example.com/feed.xml"}],
         "channels": [{"id": "fb", "platform": "facebook", "feeds": ["news"], "timeout": "500ms",
                       "api_url": api_url, "page_id": page_id,
                       "credentials": {"page_token": "${FB_TOKEN}"}, **extra}]},
        environ=ENV)
    return settings.channels[0]


@pytest.fixture
async def fake() -> AsyncIterator[FakeGraphAPI]:
    async with FakeGraphAPI(page_id=PAGE, page_token=TOKEN) as server:
        yield server


@pytest.fixture
async def adapter(fake: FakeGraphAPI) -> AsyncIterator[FacebookAdapter]:
    built = FacebookAdapter(make_channel(fake.url))
    yield built
    await built.close()


async def test_publish_posts_message_and_link_to_the_page_feed(
        fake: FakeGraphAPI, adapter: FacebookAdapter) -> None:
    link = "https://example.com/news/1"
    receipt = await adapter.publish(Message(1, "Headline", link=link))
    (request,) = fake.requests
    assert (request.method, request.path) == ("POST", f"/v25.0/{PAGE}/feed")
    form = request.form()
    assert form["message"] == "Headline" and form["link"] == link
    assert receipt.remote_id == fake.posts[0].id and receipt.remote_id.startswith(PAGE + "_")
    assert receipt.url == f"https://www.facebook.com/{receipt.remote_id}"


@pytest.mark.parametrize(("configured", "sent"), [("v25.0", "v25.0"), ("23.0", "v23.0"),
                                                  ("v26.0", "v26.0")])
async def test_current_two_digit_versions_are_used(
        fake: FakeGraphAPI, configured: str, sent: str) -> None:
    adapter = FacebookAdapter(make_channel(fake.url, graph_version=configured))
    await adapter.verify()
    assert fake.versions == [sent]


async def test_the_module_global_host_is_left_alone() -> None:
    before = facebook.FACEBOOK_GRAPH_URL
    async with FakeGraphAPI(page_id=PAGE, page_token=TOKEN) as one, \
            FakeGraphAPI(page_id=PAGE, page_token=TOKEN) as two:
        first = FacebookAdapter(make_channel(one.url))
        second = FacebookAdapter(make_channel(two.url))
        await first.publish(Message(1, "to one"))
        await second.publish(Message(1, "to two"))
        assert [p.message for p in one.posts] == ["to one"]
        assert [p.message for p in two.posts] == ["to two"]
    assert before == facebook.FACEBOOK_GRAPH_URL


async def test_an_expired_token_says_what_to_do(
        fake: FakeGraphAPI, adapter: FacebookAdapter) -> None:
    fake.expire_token()
    with pytest.raises(AuthError) as caught:
        await adapter.publish(Message(1, "After expiry"))
    error = caught.value
    assert error.code == 190 and error.status == 400
    assert "190/463" in str(error) and "new Page access token" in str(error)
    assert TOKEN not in str(error)


async def test_missing_permission_names_the_permission(
        fake: FakeGraphAPI, adapter: FacebookAdapter) -> None:
    fake.revoke_permission()
    with pytest.raises(AuthError) as caught:
        await adapter.publish(Message(1, "Without rights"))
    assert caught.value.code == 200 and "pages_manage_posts" in str(caught.value)


async def test_page_throttling_waits_as_the_buc_header_says(
        fake: FakeGraphAPI, adapter: FacebookAdapter) -> None:
    fake.throttle(10)
    with pytest.raises(RateLimited) as caught:
        await adapter.publish(Message(1, "Too many"))
    assert caught.value.code == 32 and caught.value.retry_after == 600


async def test_duplicate_status_message(fake: FakeGraphAPI, adapter: FacebookAdapter) -> None:
    await adapter.publish(Message(1, "Same words", link="https://example.com/a"))
    with pytest.raises(DuplicateError) as caught:
        await adapter.publish(Message(2, "Same words", link="https://example.com/a"))
    assert caught.value.code == 506


async def test_a_proxy_error_page_is_transient(fake: FakeGraphAPI,
                                               adapter: FacebookAdapter) -> None:
    fake.fail_next(502, "<html><body>502 Bad Gateway</body></html>")
    with pytest.raises(TransientError) as caught:
        await adapter.publish(Message(1, "Behind a proxy"))
    assert caught.value.status == 502


async def test_find_existing_matches_the_link(fake: FakeGraphAPI,
                                              adapter: FacebookAdapter) -> None:
    link = "https://example.com/news/2026/11/snow"
    sent = await adapter.publish(Message(1, "Snow", link=link))
    await adapter.publish(Message(2, "Other", link="https://example.com/other"))
    found = await adapter.find_existing(Message(1, "edited text", link=link))
    assert found is not None and found.remote_id == sent.remote_id
    assert found.url == fake.posts[0].permalink_url
    feed = fake.requests_to("/feed", "GET")[-1]
    assert feed.query["limit"] == "25"
    assert set(feed.query["fields"].split(",")) == {"id", "message", "permalink_url", "link"}
    assert await adapter.find_existing(Message(3, "x", link="https://example.com/no")) is None


async def test_verify_checks_the_token_belongs_to_the_page(fake: FakeGraphAPI) -> None:
    account = await FacebookAdapter(make_channel(fake.url)).verify()
    assert (account.id, account.name) == (PAGE, "Example News")
    with pytest.raises(AuthError) as caught:
        await FacebookAdapter(make_channel(fake.url, page_id="999")).verify()
    assert "not Page 999" in str(caught.value)


# -- the classifier, table-tested with raw Graph errors --------------------------------------

def graph(code: int, subcode: int | None = None, **extra: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"message": f"(#{code}) message", "type": "OAuthException",
                             "code": code, "fbtrace_id": "Abc", **extra}
    if subcode is not None:
        error["error_subcode"] = subcode
    return error


@pytest.mark.parametrize(("status", "error", "kind"), [
    (400, graph(4), "rate_limited"),
    (400, graph(17), "rate_limited"),
    (400, graph(32), "rate_limited"),
    (400, graph(613), "rate_limited"),
    (400, graph(80001), "rate_limited"),
    (400, graph(80014), "rate_limited"),
    (500, graph(1), "transient"),
    (500, graph(2), "transient"),
    (400, graph(100, is_transient=True), "transient"),
    (502, None, "transient"),
    (503, {}, "transient"),
    (400, graph(190), "auth"),
    (400, graph(190, 460), "auth"),
    (400, graph(190, 463), "auth"),
    (403, graph(10), "auth"),
    (403, graph(200), "auth"),
    (403, graph(299), "auth"),
    (400, graph(368), "permanent"),
    (400, graph(506), "duplicate"),
    (400, graph(100, 33), "permanent"),
    (400, graph(1609005), "permanent"),
    (400, None, "permanent"),
])
def test_classify_graph_error(status: int, error: dict[str, Any] | None, kind: str) -> None:
    assert classify_graph_error(status, error, {}).kind == kind


def test_a_policy_block_is_not_an_auth_error() -> None:
    error = classify_graph_error(400, graph(368), {})
    assert isinstance(error, PermanentError) and not isinstance(error, AuthError)
    assert "policy" in str(error)


@pytest.mark.parametrize(("headers", "wait"), [
    ({"X-Business-Use-Case-Usage": json.dumps({PAGE: [{
        "type": "pages", "call_count": 100, "total_cputime": 3, "total_time": 4,
        "estimated_time_to_regain_access": 7}]})}, 420),
    ({"x-business-use-case-usage": json.dumps({PAGE: [
        {"type": "pages", "estimated_time_to_regain_access": 2},
        {"type": "pages", "estimated_time_to_regain_access": 12}]})}, 720),
    ({"X-Page-Usage": json.dumps({"call_count": 100, "total_cputime": 1, "total_time": 1,
                                  "estimated_time_to_regain_access": 3})}, 180),
    ({"X-App-Usage": json.dumps({"call_count": 100, "total_cputime": 9, "total_time": 9})},
     DEFAULT_THROTTLE_WAIT),
    ({"X-Business-Use-Case-Usage": "not json"}, DEFAULT_THROTTLE_WAIT),
    ({}, DEFAULT_THROTTLE_WAIT),
])
def test_throttle_wait_comes_from_the_usage_headers(headers: dict[str, str],
                                                    wait: float) -> None:
    error = classify_graph_error(400, graph(32), headers)
    assert isinstance(error, RateLimited) and error.retry_after == wait
