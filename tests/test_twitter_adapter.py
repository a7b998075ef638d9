"""The X adapter against FakeXAPI over loopback: media, rate limits, reconciliation, auth forms."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from syndicator.adapters.twitter import IMAGE_MAX_BYTES, TwitterAdapter, classify_x_error
from syndicator.config import parse_settings
from syndicator.errors import (
    AuthError,
    DuplicateError,
    PermanentError,
    RateLimited,
    TransientError,
)
from syndicator.model import Message
from syndicator.sandbox.twitter import DUPLICATE_DETAIL, FakeXAPI, weighted_length

ENV = {"X_CK": "ck-unit-key", "X_CS": "cs-unit-secret", "X_AT": "at-unit-token",
       "X_ATS": "ats-unit-token-secret", "X_BEARER": "oauth2-user-token-unit"}
OAUTH1 = {"consumer_key": "${X_CK}", "consumer_secret": "${X_CS}",
          "access_token": "${X_AT}", "access_token_secret": "${X_ATS}"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 2048


def make_channel(api_url: str, credentials: dict[str, str] | None = None,
                 environ: dict[str, str] | None = None, **extra: Any) -> Any:
    settings = parse_settings(
        {"feeds": [{"id": "news", "url": "https://example.com/feed.xml"}],
         "channels": [{"id": "x", "platform": "twitter", "feeds": ["news"], "timeout": "500ms",
                       "api_url": api_url, "credentials": credentials or OAUTH1, **extra}]},
        environ=ENV if environ is None else environ, require_secrets=environ is None)
    return settings.channels[0]


@pytest.fixture
async def fake() -> AsyncIterator[FakeXAPI]:
    async with FakeXAPI(consumer_key=ENV["X_CK"], consumer_secret=ENV["X_CS"],
                        access_token=ENV["X_AT"], access_token_secret=ENV["X_ATS"],
                        bearer_token=ENV["X_BEARER"]) as server:
        yield server


@pytest.fixture
async def adapter(fake: FakeXAPI) -> AsyncIterator[TwitterAdapter]:
    built = TwitterAdapter(make_channel(fake.url))
    yield built
    await built.close()


@pytest.fixture
async def images() -> AsyncIterator[str]:
    """A small image host: /a.png, /huge.png (over 5 MB), /page.html, /missing.png (404)."""
    async def png(request: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="image/png")

    async def huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
        await response.prepare(request)  # chunked: no Content-Length to trust
        chunk = b"\xff" * (1024 * 1024)
        for _ in range(IMAGE_MAX_BYTES // len(chunk) + 1):
            await response.write(chunk)
        await response.write_eof()
        return response

    async def page(request: web.Request) -> web.Response:
        return web.Response(text="<html></html>", content_type="text/html")

    app = web.Application()
    app.add_routes([web.get("/a.png", png), web.get("/huge.png", huge),
                    web.get("/page.html", page)])
    runner = web.AppRunner(app, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_image_is_uploaded_with_v2_media_and_attached(
        fake: FakeXAPI, adapter: TwitterAdapter, images: str) -> None:
    receipt = await adapter.publish(Message(1, "With a picture", image=f"{images}/a.png"))
    upload, create = fake.requests
    assert (upload.method, upload.path) == ("POST", "/2/media/upload")
    parts = upload.parts()
    assert parts["media"] == PNG and parts["media_category"] == b"tweet_image"
    assert upload.headers["Authorization"].startswith("OAuth ")
    assert create.json()["media"] == {"media_ids": [list(fake.media)[0]]}
    assert fake.tweets[0].media_ids == list(fake.media)
    assert receipt.remote_id == fake.tweets[0].id and receipt.note == ""
    assert receipt.url == f"https://x.com/i/web/status/{receipt.remote_id}"


@pytest.mark.parametrize(("path", "why"), [
    ("/missing.png", "HTTP 404"),
    ("/page.html", "not an image"),
    ("/huge.png", "5 MB"),
])
async def test_an_image_that_cannot_be_fetched_is_skipped_with_a_note(
        fake: FakeXAPI, adapter: TwitterAdapter, images: str, path: str, why: str) -> None:
    receipt = await adapter.publish(Message(1, "Text goes out anyway", image=images + path))
    assert "image skipped" in receipt.note and why in receipt.note
    assert [r.path for r in fake.requests] == ["/2/tweets"]
    assert fake.tweets[0].media_ids == []


async def test_only_http_images_are_fetched(fake: FakeXAPI, adapter: TwitterAdapter) -> None:
    receipt = await adapter.publish(Message(1, "No local files", image="file:///etc/passwd"))
    assert "only http(s)" in receipt.note
    assert len(fake.requests) == 1


async def test_an_upload_that_times_out_is_transient_and_posts_nothing(
        fake: FakeXAPI, adapter: TwitterAdapter, images: str) -> None:
    fake.delay_next(1.5, path="/2/media/upload")
    with pytest.raises(TransientError) as caught:
        await adapter.publish(Message(1, "Slow upload", image=f"{images}/a.png"))
    assert caught.value.kind == "transient"  # nothing was posted, so not uncertain
    assert fake.tweets == []


async def test_429_reset_two_seconds_ahead_gives_retry_after_about_two(
        fake: FakeXAPI, adapter: TwitterAdapter) -> None:
    fake.rate_limit(2)
    started = time.monotonic()
    with pytest.raises(RateLimited) as caught:
        await adapter.publish(Message(1, "Too soon"))
    assert time.monotonic() - started < 1.9  # it did not wait out the 2 s itself
    assert 1.0 <= caught.value.retry_after <= 3.1
    assert caught.value.status == 429


async def test_a_spent_daily_quota_waits_for_the_24_hour_reset(
        fake: FakeXAPI, adapter: TwitterAdapter) -> None:
    fake.rate_limit(6 * 3600, daily=True)
    with pytest.raises(RateLimited) as caught:
        await adapter.publish(Message(1, "Daily cap"))
    # The 15-minute window resets in 900 s, but the spent 24-hour quota decides.
    assert 6 * 3600 - 5 <= caught.value.retry_after <= 6 * 3600 + 2


async def test_find_existing_matches_the_link_behind_tco(
        fake: FakeXAPI, adapter: TwitterAdapter) -> None:
    link = "https://example.com/news/2026/11/snow"
    sent = await adapter.publish(Message(7, f"Snow closes schools {link}", link=link))
    assert "t.co/" in fake.tweets[0].text and link not in fake.tweets[0].text
    await adapter.publish(Message(8, "Another post https://example.com/other",
                                  link="https://example.com/other"))
    found = await adapter.find_existing(Message(7, "reworded text", link=link))
    assert found is not None and found.remote_id == sent.remote_id
    timeline = fake.requests_to("/tweets", "GET")[-1]
    assert timeline.query["max_results"] == "20" and "entities" in timeline.query["tweet.fields"]
    assert await adapter.find_existing(Message(9, "x", link="https://example.com/never")) is None


async def test_find_existing_without_a_link_compares_text(
        fake: FakeXAPI, adapter: TwitterAdapter) -> None:
    sent = await adapter.publish(Message(1, "Plain words only"))
    found = await adapter.find_existing(Message(1, "Plain words only"))
    assert found is not None and found.remote_id == sent.remote_id


async def test_verify_returns_the_handle(adapter: TwitterAdapter) -> None:
    account = await adapter.verify()
    assert (account.id, account.name, account.url) == (
        "2244994945", "@example_news", "https://x.com/example_news")


async def test_an_oauth2_user_token_is_sent_as_bearer(fake: FakeXAPI) -> None:
    adapter = TwitterAdapter(make_channel(fake.url, {"bearer_token": "${X_BEARER}"}))
    receipt = await adapter.publish(Message(1, "Posted with OAuth 2.0"))
    assert fake.requests[-1].headers["Authorization"] == f"Bearer {ENV['X_BEARER']}"
    assert receipt.remote_id == fake.tweets[0].id
    fake.bearer_token = "refreshed-elsewhere"
    with pytest.raises(AuthError) as caught:
        await adapter.publish(Message(2, "Expired token"))
    assert "2 hours" in str(caught.value) and ENV["X_BEARER"] not in str(caught.value)
    await adapter.close()


async def test_duplicate_and_too_long_posts_are_refused_without_pausing(
        fake: FakeXAPI, adapter: TwitterAdapter) -> None:
    await adapter.publish(Message(1, "Once"))
    with pytest.raises(DuplicateError):
        await adapter.publish(Message(2, "Once"))
    with pytest.raises(PermanentError) as caught:
        await adapter.publish(Message(3, "x" * 281))
    assert not isinstance(caught.value, AuthError) and caught.value.status == 403


async def test_a_missing_env_var_is_an_auth_error_on_first_use(fake: FakeXAPI) -> None:
    channel = make_channel(fake.url, environ={})
    adapter = TwitterAdapter(channel)
    with pytest.raises(AuthError) as caught:
        await adapter.publish(Message(1, "no keys"))
    assert "X_CK" in str(caught.value)
    assert fake.requests == []


async def test_each_adapter_talks_to_its_own_endpoint() -> None:
    creds = {"consumer_key": ENV["X_CK"], "consumer_secret": ENV["X_CS"],
             "access_token": ENV["X_AT"], "access_token_secret": ENV["X_ATS"]}
    async with FakeXAPI(**creds) as one, FakeXAPI(**creds) as two:
        first, second = TwitterAdapter(make_channel(one.url)), TwitterAdapter(
            make_channel(two.url))
        await first.publish(Message(1, "to one"))
        await second.publish(Message(1, "to two"))
        assert [t.text for t in one.tweets] == ["to one"]
        assert [t.text for t in two.tweets] == ["to two"]


def test_fake_counts_like_twitter_text() -> None:
    assert weighted_length("a" * 280) == 280
    assert weighted_length("ب" * 280) == 280  # Arabic script sits in the light range
    assert weighted_length("日本") == 4
    assert weighted_length("see https://example.com/a/very/long/path/indeed") == 4 + 23


# -- the classifier, table-tested with raw responses -----------------------------------------

NOW = 1_800_000_000.0
PROBLEM = "https://api.twitter.com/2/problems/"


@pytest.mark.parametrize(("status", "headers", "body", "kind"), [
    (401, {}, {"title": "Unauthorized", "type": "about:blank", "status": 401,
               "detail": "Unauthorized"}, "auth"),
    (403, {}, {"detail": DUPLICATE_DETAIL, "type": "about:blank", "title": "Forbidden",
               "status": 403}, "duplicate"),
    (403, {}, {"title": "Forbidden", "status": 403, "type": PROBLEM + "oauth1-permissions",
               "detail": "Your client app is not configured with the appropriate oauth1 app "
                         "permissions for this endpoint."}, "auth"),
    (403, {}, {"title": "Client Forbidden", "type": PROBLEM + "client-forbidden",
               "reason": "client-not-enrolled", "detail": "When authenticating requests to the "
               "Twitter API v2 endpoints, you must use keys and tokens from a Twitter developer "
               "App that is attached to a Project."}, "auth"),
    (403, {}, {"title": "Forbidden", "type": "about:blank", "status": 403,
               "detail": "Your account is suspended and is not permitted to access this "
                         "feature."}, "auth"),
    (403, {}, {"title": "Forbidden", "type": "about:blank", "status": 403,
               "detail": "You are not permitted to perform this action."}, "permanent"),
    (403, {}, {"title": "Forbidden", "type": PROBLEM + "client-forbidden",
               "detail": "You are not permitted to reply to this conversation."}, "permanent"),
    (400, {}, {"errors": [{"message": "Invalid media id"}], "title": "Invalid Request",
               "type": PROBLEM + "invalid-request"}, "permanent"),
    (402, {}, {"title": "Payment Required", "detail": "CreditsDepleted"}, "auth"),
    (404, {}, None, "permanent"),
    (500, {}, None, "transient"),
    (503, {}, {"title": "Service Unavailable", "detail": "Service Unavailable"}, "transient"),
    (429, {"x-rate-limit-reset": str(int(NOW) + 30)}, {"title": "Too Many Requests"},
     "rate_limited"),
])
def test_classify_x_error(status: int, headers: dict[str, str], body: Any, kind: str) -> None:
    assert classify_x_error(status, headers, body, now=NOW).kind == kind


@pytest.mark.parametrize(("headers", "body", "wait"), [
    ({"x-rate-limit-reset": str(int(NOW) + 30), "x-rate-limit-remaining": "0"}, None, 30),
    ({"X-Rate-Limit-Reset": str(int(NOW) + 30)}, None, 30),
    ({"x-rate-limit-reset": str(int(NOW) + 30), "x-user-limit-24hour-remaining": "0",
      "x-user-limit-24hour-reset": str(int(NOW) + 7200)}, None, 7200),
    ({"x-rate-limit-reset": str(int(NOW) + 30), "x-app-limit-24hour-remaining": "0",
      "x-app-limit-24hour-reset": str(int(NOW) + 3600)}, None, 3600),
    ({"x-rate-limit-reset": str(int(NOW) + 30), "x-user-limit-24hour-remaining": "5",
      "x-user-limit-24hour-reset": str(int(NOW) + 7200)}, None, 30),
    ({"x-rate-limit-reset": str(int(NOW) - 10)}, None, 1),  # our clock is ahead of X's
    ({}, None, 900),
    ({}, {"type": PROBLEM + "usage-capped", "title": "UsageCapExceeded"}, 86400),
])
def test_retry_after_reads_x_headers(headers: dict[str, str], body: Any, wait: float) -> None:
    error = classify_x_error(429, headers, body, now=NOW)
    assert isinstance(error, RateLimited) and error.retry_after == wait


def test_measure_is_xs_weighted_length() -> None:
    """The composer fits X posts with this ruler: URLs weigh 23, CJK 2, emoji sequences 2."""
    assert TwitterAdapter.measure("a" * 280) == 280
    assert TwitterAdapter.measure("Hi http://test.co") == 26
    assert TwitterAdapter.measure("故人") == 4
    assert TwitterAdapter.measure("H🐱☺👨‍👩‍👧") == 7
    assert TwitterAdapter.measure("خبر https://example.com/fa/news/2026/11/a-long-slug") == 27
