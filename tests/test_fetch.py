"""FeedFetcher against a real local FeedServer over loopback sockets: no mocks."""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest

from syndicator import __version__
from syndicator.fetch import USER_AGENT, FeedFetcher, FetchError
from syndicator.sandbox.feeds import FeedServer

FEED = (b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>T</title>'
        b"<item><title>One</title><guid>1</guid></item></channel></rss>")
MB = 1024 * 1024


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as srv:
        yield srv


@pytest.fixture
async def fetcher() -> AsyncIterator[FeedFetcher]:
    async with FeedFetcher() as f:
        yield f


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_200_then_304_with_the_stored_validators(server: FeedServer,
                                                       fetcher: FeedFetcher) -> None:
    server.set("/news.xml", FEED)
    first = await fetcher.fetch(server.url("/news.xml"), timeout=5, max_bytes=MB)
    assert first.status == 200 and first.body == FEED and not first.not_modified
    assert first.etag and first.last_modified
    assert first.final_url == server.url("/news.xml")
    assert first.headers["content-type"] == "application/rss+xml"
    sent = server.last_headers("/news.xml")
    assert sent["user-agent"] == USER_AGENT == f"syndicator/{__version__} (+feed watcher)"
    assert "application/rss+xml" in sent["accept"] and "application/atom+xml" in sent["accept"]
    assert "if-none-match" not in sent

    second = await fetcher.fetch(server.url("/news.xml"), etag=first.etag,
                                 last_modified=first.last_modified, timeout=5, max_bytes=MB)
    assert second.status == 304 and second.not_modified and second.body is None
    assert (second.etag, second.last_modified) == (first.etag, first.last_modified)
    sent = server.last_headers("/news.xml")
    assert sent["if-none-match"] == first.etag
    assert sent["if-modified-since"] == first.last_modified
    assert server.requests["/news.xml"] == 2 and server.not_modified["/news.xml"] == 1


async def test_last_modified_alone_gives_304_and_a_changed_body_gives_200(
        server: FeedServer, fetcher: FeedFetcher) -> None:
    server.set("/a.xml", FEED)
    first = await fetcher.fetch(server.url("/a.xml"), timeout=5, max_bytes=MB)
    again = await fetcher.fetch(server.url("/a.xml"), last_modified=first.last_modified,
                                timeout=timedelta(seconds=5), max_bytes=MB)
    assert again.status == 304
    changed = FEED.replace(b"One", b"Two")
    server.set("/a.xml", changed)
    third = await fetcher.fetch(server.url("/a.xml"), etag=first.etag,
                                last_modified=first.last_modified, timeout=5, max_bytes=MB)
    assert third.status == 200 and third.body == changed
    assert third.etag != first.etag and third.last_modified != first.last_modified


async def test_a_hanging_server_gives_a_timeout_error(server: FeedServer,
                                                      fetcher: FeedFetcher) -> None:
    server.hang("/slow.xml")
    url = server.url("/slow.xml")
    with pytest.raises(FetchError) as caught:
        await asyncio.wait_for(fetcher.fetch(url, timeout=0.5, max_bytes=MB), 10)
    assert caught.value.kind == "timeout" and caught.value.url == url
    assert str(caught.value) == (f"{url}: no answer within 0.5s (is the site up? "
                                 "raise feeds[].timeout if it is slow)")


async def test_a_slow_answer_within_the_timeout_arrives(server: FeedServer,
                                                        fetcher: FeedFetcher) -> None:
    server.set("/late.xml", FEED)
    server.slow("/late.xml", 0.2)
    result = await fetcher.fetch(server.url("/late.xml"), timeout=5, max_bytes=MB)
    assert result.body == FEED


async def test_a_50_mb_stream_is_refused_as_too_large(server: FeedServer,
                                                      fetcher: FeedFetcher) -> None:
    server.huge("/huge.xml", 50 * MB)
    url = server.url("/huge.xml")
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(url, timeout=30, max_bytes=10 * MB)
    assert caught.value.kind == "too_large"
    assert str(caught.value) == f"{url}: body larger than 10 MB limit (raise feeds[].max_bytes)"


async def test_content_length_over_the_cap_is_refused_and_the_cap_is_inclusive(
        server: FeedServer, fetcher: FeedFetcher) -> None:
    server.set("/big.xml", b"x" * (2 * MB))
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(server.url("/big.xml"), timeout=5, max_bytes=MB)
    assert caught.value.kind == "too_large"
    server.set("/exact.xml", b"x" * 4096)
    assert (await fetcher.fetch(server.url("/exact.xml"), timeout=5, max_bytes=4096)).body
    with pytest.raises(FetchError, match="larger than 4,095 bytes limit"):
        await fetcher.fetch(server.url("/exact.xml"), timeout=5, max_bytes=4095)


async def test_the_cap_applies_to_the_decoded_body(server: FeedServer,
                                                   fetcher: FeedFetcher) -> None:
    server.set("/bomb.xml", b" " * (4 * MB), compress="gzip")  # a few KB on the wire
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(server.url("/bomb.xml"), timeout=10, max_bytes=MB)
    assert caught.value.kind == "too_large"


async def test_a_redirect_loop_is_cut_after_five_hops(server: FeedServer,
                                                      fetcher: FeedFetcher) -> None:
    server.redirect_loop("/loop.xml")
    url = server.url("/loop.xml")
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(url, timeout=5, max_bytes=MB)
    assert caught.value.kind == "redirects"
    assert str(caught.value).startswith(f"{url}: more than 5 redirects")
    assert server.requests["/loop.xml"] == 6  # the first request and five redirects


async def test_five_redirects_are_followed_and_the_final_url_reported(
        server: FeedServer, fetcher: FeedFetcher) -> None:
    server.set("/new.xml", FEED)
    for hop in range(5):
        server.redirect_to(f"/old{hop}.xml", f"/old{hop + 1}.xml" if hop < 4 else "/new.xml",
                           code=301 if hop % 2 else 302)
    result = await fetcher.fetch(server.url("/old0.xml"), timeout=5, max_bytes=MB)
    assert result.body == FEED and result.final_url == server.url("/new.xml")


@pytest.mark.parametrize(("code", "text"), [
    (404, "HTTP 404 Not Found (check the feed URL)"),
    (500, "HTTP 500 Internal Server Error (the site has a problem; it will be retried)"),
    (410, "HTTP 410 Gone (the feed was removed; find its new URL)"),
])
async def test_error_statuses(server: FeedServer, fetcher: FeedFetcher, code: int,
                              text: str) -> None:
    server.status("/feed.xml", code)
    url = server.url("/feed.xml")
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(url, timeout=5, max_bytes=MB)
    assert caught.value.kind == "http" and caught.value.status == code
    assert str(caught.value) == f"{url}: {text}"


async def test_an_unknown_path_is_404_and_retry_after_is_kept(server: FeedServer,
                                                             fetcher: FeedFetcher) -> None:
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(server.url("/missing.xml"), timeout=5, max_bytes=MB)
    assert caught.value.status == 404
    server.status("/busy.xml", 429, headers={"Retry-After": "120"})
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(server.url("/busy.xml"), timeout=5, max_bytes=MB)
    assert caught.value.status == 429 and caught.value.retry_after == 120.0
    assert "raise feeds[].poll_interval" in str(caught.value)


async def test_connection_refused_on_a_closed_port(fetcher: FeedFetcher) -> None:
    url = f"http://127.0.0.1:{closed_port()}/feed.xml"
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(url, timeout=5, max_bytes=MB)
    assert caught.value.kind == "connection"
    message = str(caught.value)
    assert message.startswith(f"{url}: cannot connect to 127.0.0.1:") and "\n" not in message
    assert message.endswith("is the site up?)")


async def test_not_an_http_url(fetcher: FeedFetcher) -> None:
    for url in ("ftp://example.org/feed", "feed.xml", "http://[::1/x"):
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(url, timeout=5, max_bytes=MB)
        assert caught.value.kind == "invalid_url"


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
async def test_compressed_bodies_are_decoded(server: FeedServer, fetcher: FeedFetcher,
                                             coding: str) -> None:
    body = FEED * 50
    server.set("/z.xml", body, compress=coding)
    result = await fetcher.fetch(server.url("/z.xml"), timeout=5, max_bytes=MB)
    assert result.body == body
    assert server.last_headers("/z.xml")["accept-encoding"] == "gzip, deflate"
    # The server really did compress (read raw, without aiohttp's decoding).
    async with aiohttp.ClientSession(auto_decompress=False) as raw, raw.get(
            server.url("/z.xml"), headers={"Accept-Encoding": coding}) as resp:
        assert resp.headers["Content-Encoding"] == coding
        wire = await resp.read()
    assert len(wire) < len(body)
    if coding == "gzip":
        assert gzip.decompress(wire) == body


async def test_queueing_for_a_host_slot_does_not_count_against_the_timeout(
        server: FeedServer) -> None:
    for n in range(12):
        server.set(f"/f{n}.xml", FEED)
        server.slow(f"/f{n}.xml", 0.2)
    async with FeedFetcher(limit_per_host=2) as fetcher:
        results = await asyncio.gather(*(
            fetcher.fetch(server.url(f"/f{n}.xml"), timeout=1.0, max_bytes=MB)
            for n in range(12)))
    assert all(r.body == FEED for r in results)  # six rounds of 0.2 s, each under 1 s


async def test_a_closed_fetcher_refuses_work() -> None:
    fetcher = FeedFetcher()
    await fetcher.close()
    with pytest.raises(RuntimeError):
        await fetcher.fetch("http://127.0.0.1:9/x", timeout=1, max_bytes=MB)


async def test_shutdown_cuts_hanging_and_streaming_answers() -> None:
    server = await FeedServer().start()
    server.hang("/hang.xml")
    server.huge("/endless.xml", 10**13)

    async def drain() -> int:
        seen = 0
        async with aiohttp.ClientSession() as session, session.get(
                server.url("/endless.xml")) as resp:
            async for chunk in resp.content.iter_any():
                seen += len(chunk)
        return seen

    async with FeedFetcher() as fetcher:
        hanging = asyncio.create_task(
            fetcher.fetch(server.url("/hang.xml"), timeout=60, max_bytes=MB))
        streaming = asyncio.create_task(drain())
        while not (server.requests["/hang.xml"] and server.requests["/endless.xml"]):
            await asyncio.sleep(0.01)
        await asyncio.wait_for(server.aclose(), 10)
        outcomes = await asyncio.wait_for(
            asyncio.gather(hanging, streaming, return_exceptions=True), 10)
    assert isinstance(outcomes[0], FetchError)
    assert outcomes[0].kind in ("connection", "protocol")
    assert isinstance(outcomes[1], aiohttp.ClientPayloadError)  # cut mid-body, not a clean end


def test_server_in_a_thread_for_synchronous_callers() -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    server = FeedServer().start_in_thread()
    try:
        server.set("news.xml", FEED, content_type="application/atom+xml")
        with opener.open(server.url("/news.xml"), timeout=5) as resp:
            assert resp.read() == FEED
            assert resp.headers["Content-Type"] == "application/atom+xml"
            etag = resp.headers["ETag"]
        request = urllib.request.Request(server.url("/news.xml"),
                                         headers={"If-None-Match": f"W/{etag}, \"other\""})
        with pytest.raises(urllib.error.HTTPError) as caught:
            opener.open(request, timeout=5)
        assert caught.value.code == 304
        assert server.not_modified["/news.xml"] == 1

        server.hang("/hang.xml")
        errors: list[BaseException] = []

        def wait_forever() -> None:
            try:
                opener.open(server.url("/hang.xml"), timeout=30).read()
            except BaseException as exc:  # noqa: BLE001 - recorded for the assertion below
                errors.append(exc)

        client = threading.Thread(target=wait_forever)
        client.start()
        while not server.requests["/hang.xml"]:
            threading.Event().wait(0.01)
    finally:
        server.stop(timeout=10)
    client.join(10)
    assert not client.is_alive() and errors  # the hanging answer was cut by stop()
