"""A local feed server for tests, benchmarks and the offline demo.

It serves named feeds the way a well-behaved site does (a strong ETag from the body, a
Last-Modified, 304 to matching conditional requests, optional gzip/deflate), counts what it
answered, and can misbehave per path on request: hang, stream junk without end, answer an error
status, redirect in a loop or elsewhere, or answer late. Shutting down never waits on a
misbehaving path: every hanging or streaming answer is cut short.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import threading
import time
import zlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from email.utils import formatdate, parsedate_to_datetime
from typing import Any

from aiohttp import web

from syndicator.sandbox.server import LoopbackServer

__all__ = ["FeedServer"]

_CHUNK = 64 * 1024
_JUNK = (b"<!-- junk -->" * (_CHUNK // 13 + 1))[:_CHUNK]


@dataclass(frozen=True, slots=True)
class _Feed:
    body: bytes
    content_type: str
    headers: Mapping[str, str]
    etag: str
    modified: int  # Unix seconds; HTTP dates have one-second resolution
    encoded: Mapping[str, bytes] = field(default_factory=dict)  # coding -> encoded body


@dataclass(frozen=True, slots=True)
class _Fault:
    kind: str  # "hang", "huge", "status", "redirect_loop", "redirect_to"
    size: int = 0
    status: int = 0
    target: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


def _path(path: str) -> str:
    return path if path.startswith("/") else "/" + path


class FeedServer(LoopbackServer):
    """Serves feeds on ``127.0.0.1:<free port>``; ``srv.url("/news.xml")`` gives the address.

    Use ``async with FeedServer() as srv`` in an event loop, or ``start_in_thread()`` and
    ``stop()`` (or ``with``) from synchronous code and for subprocesses under test. Every
    method that configures the server may be called from any thread.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._lock = threading.Lock()
        self._feeds: dict[str, _Feed] = {}
        self._faults: dict[str, _Fault] = {}
        self._delays: dict[str, float] = {}
        self._requests: Counter[str] = Counter()
        self._not_modified: Counter[str] = Counter()
        self._last_headers: dict[str, dict[str, str]] = {}

    # --- content ---------------------------------------------------------------------------

    def set(
        self,
        path: str,
        body: bytes,
        content_type: str = "application/rss+xml",
        headers: Mapping[str, str] | None = None,
        *,
        compress: str | None = None,
    ) -> None:
        """Serve ``body`` at ``path`` from now on; ``compress`` is "gzip" or "deflate" (sent
        with Content-Encoding to clients that accept it). Changing the body changes the ETag
        and moves Last-Modified forward by at least one second."""
        path = _path(path)
        body = bytes(body)
        encoded: dict[str, bytes] = {}
        if compress == "gzip":
            encoded["gzip"] = gzip.compress(body)
        elif compress == "deflate":
            encoded["deflate"] = zlib.compress(body)
        elif compress is not None:
            raise ValueError('compress must be "gzip", "deflate" or None')
        etag = '"' + hashlib.sha256(body).hexdigest()[:24] + '"'
        with self._lock:
            old = self._feeds.get(path)
            modified = int(time.time())
            if old is not None:
                modified = old.modified if old.etag == etag else max(modified, old.modified + 1)
            self._feeds[path] = _Feed(body, content_type, dict(headers or {}), etag, modified,
                                      encoded)

    def remove(self, path: str) -> None:
        """Stop serving ``path`` (it answers 404 again); its faults are cleared too."""
        path = _path(path)
        with self._lock:
            self._feeds.pop(path, None)
            self._faults.pop(path, None)
            self._delays.pop(path, None)

    def touch(self, path: str) -> None:
        """Move Last-Modified forward without changing the body (a CMS re-save)."""
        path = _path(path)
        with self._lock:
            feed = self._feeds[path]
            self._feeds[path] = replace(feed, modified=max(int(time.time()), feed.modified + 1))

    # --- faults ----------------------------------------------------------------------------

    def hang(self, path: str) -> None:
        """Accept requests to ``path`` and never answer (until the server shuts down)."""
        self._fault(path, _Fault("hang"))

    def huge(self, path: str, n_bytes: int) -> None:
        """Answer 200 and stream ``n_bytes`` of junk, chunked, without Content-Length."""
        self._fault(path, _Fault("huge", size=int(n_bytes)))

    def status(self, path: str, code: int, *, headers: Mapping[str, str] | None = None,
               body: bytes | None = None) -> None:
        """Answer every request to ``path`` with ``code`` (and optional headers, e.g.
        Retry-After); the default body is a small HTML error page."""
        page = body if body is not None else (
            f"<html><body><h1>Error {code}</h1></body></html>".encode())
        self._fault(path, _Fault("status", status=code, headers=dict(headers or {}), body=page))

    def redirect_loop(self, path: str) -> None:
        """Redirect ``path`` to itself for ever (each hop with a new query, as loops do)."""
        self._fault(path, _Fault("redirect_loop"))

    def redirect_to(self, path: str, other_path: str, *, code: int = 302) -> None:
        """Redirect ``path`` to ``other_path`` on this server with ``code``."""
        self._fault(path, _Fault("redirect_to", status=code, target=_path(other_path)))

    def slow(self, path: str, seconds: float) -> None:
        """Answer ``path`` normally, but only after ``seconds``."""
        with self._lock:
            self._delays[_path(path)] = float(seconds)

    def clear(self, path: str | None = None) -> None:
        """Remove the faults and delay of ``path`` (of every path when None)."""
        with self._lock:
            if path is None:
                self._faults.clear()
                self._delays.clear()
            else:
                self._faults.pop(_path(path), None)
                self._delays.pop(_path(path), None)

    def _fault(self, path: str, fault: _Fault) -> None:
        with self._lock:
            self._faults[_path(path)] = fault

    # --- what happened ---------------------------------------------------------------------

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this server."""
        return self.base_url + _path(path)

    @property
    def requests(self) -> Counter[str]:
        """Requests received per path (a copy), whatever the answer."""
        with self._lock:
            return Counter(self._requests)

    @property
    def not_modified(self) -> Counter[str]:
        """304 answers per path (a copy)."""
        with self._lock:
            return Counter(self._not_modified)

    def last_headers(self, path: str) -> dict[str, str]:
        """Request headers of the latest request to ``path`` (names lowercased)."""
        with self._lock:
            return dict(self._last_headers.get(_path(path), {}))

    def reset_counters(self) -> None:
        with self._lock:
            self._requests.clear()
            self._not_modified.clear()
            self._last_headers.clear()

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    # --- HTTP ------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        with self._lock:
            self._requests[path] += 1
            self._last_headers[path] = {k.lower(): v for k, v in request.headers.items()}
            feed = self._feeds.get(path)
            fault = self._faults.get(path)
            delay = self._delays.get(path, 0.0)
        if delay and await self._closed_within(delay):
            return self._cut(request)
        if fault is not None:
            return await self._misbehave(request, fault)
        if feed is None:
            return web.Response(status=404, text="<html><body><h1>Not Found</h1></body></html>",
                                content_type="text/html")
        headers = {"ETag": feed.etag, "Last-Modified": formatdate(feed.modified, usegmt=True)}
        if self._unchanged(request, feed):
            with self._lock:
                self._not_modified[path] += 1
            return web.Response(status=304, headers=headers)
        headers.update(feed.headers)
        headers["Content-Type"] = feed.content_type
        body = feed.body
        accepted = request.headers.get("Accept-Encoding", "").lower()
        for coding, data in feed.encoded.items():
            if coding in accepted:
                headers["Content-Encoding"] = coding
                body = data
                break
        return web.Response(status=200, body=body, headers=headers)

    @staticmethod
    def _unchanged(request: web.Request, feed: _Feed) -> bool:
        """RFC 9110 13.2.2: If-None-Match decides when present; else If-Modified-Since."""
        match = request.headers.get("If-None-Match")
        if match is not None:
            tags = [t.strip().removeprefix("W/") for t in match.split(",")]
            return "*" in tags or feed.etag in tags
        since = request.headers.get("If-Modified-Since")
        if since:
            try:
                return feed.modified <= parsedate_to_datetime(since).timestamp()
            except (TypeError, ValueError, IndexError, OverflowError):
                return False
        return False

    async def _misbehave(self, request: web.Request, fault: _Fault) -> web.StreamResponse:
        if fault.kind == "hang":
            assert self._closing is not None
            await self._closing.wait()
            return self._cut(request)
        if fault.kind == "huge":
            return await self._stream_junk(request, fault.size)
        if fault.kind == "status":
            headers: dict[str, Any] = {"Content-Type": "text/html", **fault.headers}
            return web.Response(status=fault.status, body=fault.body, headers=headers)
        if fault.kind == "redirect_loop":
            hop = int(request.query.get("hop", "0") or 0) + 1
            location = f"{self.base_url}{request.path}?hop={hop}"
            return web.Response(status=302, headers={"Location": location})
        return web.Response(status=fault.status,
                            headers={"Location": self.base_url + fault.target})

    async def _stream_junk(self, request: web.Request, size: int) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/xml"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        sent = 0
        try:
            while sent < size and not (self._closing and self._closing.is_set()):
                piece = _JUNK[: min(_CHUNK, size - sent)]
                await response.write(piece)
                sent += len(piece)
            if sent >= size:
                await response.write_eof()
            elif request.transport is not None:
                request.transport.close()  # shutting down: end mid-body, not with a clean EOF
        except (ConnectionError, RuntimeError):
            pass  # the client hung up, which is what a size cap should do
        return response

    async def _closed_within(self, seconds: float) -> bool:
        assert self._closing is not None
        try:
            await asyncio.wait_for(self._closing.wait(), seconds)
        except TimeoutError:
            return False
        return True

    @staticmethod
    def _cut(request: web.Request) -> web.Response:
        """Drop the connection: a server going away answers nothing."""
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=503)
