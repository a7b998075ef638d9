"""Conditional GETs of feeds over one shared aiohttp session.

Thousands of feeds are polled through one connection pool, so the fetcher is built to be
polite and bounded: a per-host cap, a total timeout per fetch that starts once a connection
slot is ours (waiting in our own queue is not the site's fault), a byte cap enforced while the
decoded body streams in, and at most a few redirects. Every failure is one
:class:`FetchError` whose message names the URL and says what to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from types import TracebackType

import aiohttp
from yarl import URL

from syndicator import __version__

__all__ = ["ACCEPT", "USER_AGENT", "FeedFetcher", "FetchError", "FetchResult"]

USER_AGENT = f"syndicator/{__version__} (+feed watcher)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1"
)
MAX_REDIRECTS = 5
_KEPT_HEADERS = ("content-type", "content-language", "content-location")
_HINTS = {
    401: "the feed needs a login; syndicator reads public feeds only",
    403: "the site refuses us; ask its admin to allow the User-Agent " + USER_AGENT,
    404: "check the feed URL",
    410: "the feed was removed; find its new URL",
    429: "the site rate-limits us; raise feeds[].poll_interval",
}


class FetchError(Exception):
    """A feed could not be fetched; ``str()`` is one line that names the URL and the remedy.

    ``kind`` is one of ``timeout``, ``too_large``, ``redirects``, ``http`` (see ``status``),
    ``connection``, ``dns``, ``tls``, ``protocol`` (a broken HTTP answer or body encoding) and
    ``invalid_url``. ``retry_after`` is the server's Retry-After in seconds, when it sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        url: str,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.url = url
        self.status = status
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class FetchResult:
    """One answer: 200 with the decoded body, or 304 with ``body`` None.

    ``etag``/``last_modified`` are what to send next time; on a 304 that repeats neither,
    they are the values that were sent. ``headers`` keeps only what parsing needs
    (content-type, content-language, content-location), with lowercase names.
    """

    status: int
    body: bytes | None
    etag: str | None
    last_modified: str | None
    final_url: str
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass
class _HostSlot:
    gate: asyncio.Semaphore
    users: int = 0


class FeedFetcher:
    """Fetches feeds through one shared session; use ``async with`` or call :meth:`close`.

    ``limit`` bounds connections overall and ``limit_per_host`` per site (0: no per-host
    bound). Fetches beyond those wait in the fetcher's own queue before their timeout starts.
    """

    def __init__(
        self,
        *,
        limit: int = 200,
        limit_per_host: int = 8,
        user_agent: str = USER_AGENT,
        ttl_dns_cache: int = 300,
    ) -> None:
        if limit < 1 or limit_per_host < 0:
            raise ValueError("limit must be >= 1 and limit_per_host >= 0")
        self.limit = limit
        self.limit_per_host = limit_per_host
        self.user_agent = user_agent
        self._ttl_dns_cache = ttl_dns_cache
        self._session: aiohttp.ClientSession | None = None
        self._total: asyncio.Semaphore | None = None
        self._hosts: dict[tuple[str, str, int | None], _HostSlot] = {}
        self._closed = False

    async def __aenter__(self) -> FeedFetcher:
        self._open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the pool; later fetches raise RuntimeError."""
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _open(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("FeedFetcher is closed")
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self.limit,
                limit_per_host=self.limit_per_host,
                ttl_dns_cache=self._ttl_dns_cache,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={
                    "User-Agent": self.user_agent,
                    "Accept": ACCEPT,
                    # Only what aiohttp decodes without optional packages.
                    "Accept-Encoding": "gzip, deflate",
                },
                # The timeout is ours (asyncio.timeout per fetch), so aiohttp's must not fire.
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=None, sock_read=None),
                auto_decompress=True,
                raise_for_status=False,
            )
            self._total = asyncio.Semaphore(self.limit)
        return self._session

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        timeout: float | timedelta,
        max_bytes: int,
    ) -> FetchResult:
        """GET ``url``, conditionally when ``etag``/``last_modified`` are given.

        ``timeout`` (seconds) bounds the whole exchange, body included; ``max_bytes`` bounds
        the decoded body, checked against Content-Length first and then while it streams.

        Raises:
            FetchError: for any failure, including HTTP statuses other than 2xx and 304.
        """
        seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
        try:
            target = URL(url)
        except (ValueError, TypeError):
            target = None
        if target is None or target.scheme not in ("http", "https") or not target.host:
            raise FetchError(f"{url}: not an http(s) URL (fix feeds[].url)",
                             kind="invalid_url", url=url)
        session = self._open()
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        async with self._slot((target.scheme, target.host, target.port)):
            try:
                async with asyncio.timeout(seconds):
                    return await self._get(session, url, target, headers, etag,
                                           last_modified, max_bytes)
            except FetchError:
                raise
            except TimeoutError:
                raise FetchError(
                    f"{url}: no answer within {_seconds(seconds)} (is the site up? "
                    "raise feeds[].timeout if it is slow)",
                    kind="timeout", url=url,
                ) from None
            except (aiohttp.ClientError, OSError, ValueError) as exc:
                raise _classify(exc, url) from exc

    async def _get(
        self,
        session: aiohttp.ClientSession,
        url: str,
        target: URL,
        headers: dict[str, str],
        etag: str | None,
        last_modified: str | None,
        max_bytes: int,
    ) -> FetchResult:
        # aiohttp counts the redirect answer that exceeds the limit, hence the + 1.
        async with session.get(target, headers=headers, allow_redirects=True,
                               max_redirects=MAX_REDIRECTS + 1) as resp:
            kept = {k: resp.headers[k] for k in _KEPT_HEADERS if k in resp.headers}
            new_etag = resp.headers.get("ETag")
            new_modified = resp.headers.get("Last-Modified")
            if resp.status == 304:
                return FetchResult(304, None, new_etag or etag, new_modified or last_modified,
                                   str(resp.url), kept)
            if not 200 <= resp.status < 300:
                resp.close()
                raise _http_error(url, resp.status, resp.reason, resp.headers)
            if resp.content_length is not None and resp.content_length > max_bytes:
                resp.close()
                raise _too_large(url, max_bytes)
            body = bytearray()
            async for chunk in resp.content.iter_any():
                body += chunk
                if len(body) > max_bytes:
                    resp.close()  # drop the connection rather than drain the rest
                    raise _too_large(url, max_bytes)
            return FetchResult(resp.status, bytes(body), new_etag, new_modified, str(resp.url),
                               kept)

    @contextlib.asynccontextmanager
    async def _slot(self, host: tuple[str, str, int | None]) -> AsyncIterator[None]:
        """Wait for a per-host and then a global connection slot, so aiohttp never queues."""
        assert self._total is not None
        if not self.limit_per_host:
            async with self._total:
                yield
            return
        slot = self._hosts.get(host)
        if slot is None:
            slot = self._hosts[host] = _HostSlot(asyncio.Semaphore(self.limit_per_host))
        slot.users += 1
        try:
            async with slot.gate, self._total:
                yield
        finally:
            slot.users -= 1
            if not slot.users:
                self._hosts.pop(host, None)


def _classify(exc: BaseException, url: str) -> FetchError:
    def error(text: str, kind: str) -> FetchError:
        return FetchError(f"{url}: {text}", kind=kind, url=url)

    if isinstance(exc, aiohttp.TooManyRedirects):
        return error(f"more than {MAX_REDIRECTS} redirects (a redirect loop? open the URL in "
                     "a browser and put the final address in feeds[].url)", "redirects")
    if isinstance(exc, aiohttp.RedirectClientError):
        return error(f"redirected to an unusable address ({exc}; put the feed's real address "
                     "in feeds[].url)", "redirects")
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return error(f"host {exc.host} not found (check the host name in feeds[].url)", "dns")
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
        return error(f"TLS/certificate problem ({_brief(exc)}; the site's HTTPS setup is "
                     "broken)", "tls")
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.strerror or _brief(exc.os_error)
        return error(f"cannot connect to {exc.host}:{exc.port} ({reason}; is the site up?)",
                     "connection")
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError | OSError):
        return error(f"connection lost ({_brief(exc)}; the site may be overloaded)",
                     "connection")
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        return error(f"broken HTTP answer ({_brief(exc)}; the site or a proxy misbehaves)",
                     "protocol")
    if isinstance(exc, aiohttp.InvalidURL | ValueError):
        return error(f"invalid URL ({_brief(exc)}; fix feeds[].url)", "invalid_url")
    return error(f"request failed ({_brief(exc)})", "connection")


def _http_error(url: str, status: int, reason: str | None,
                headers: Mapping[str, str]) -> FetchError:
    if not reason:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
    hint = _HINTS.get(status) or ("the site has a problem; it will be retried" if status >= 500
                                  else "")
    retry_after = _retry_after(headers.get("Retry-After"), headers.get("Date"))
    text = f"HTTP {status}" + (f" {reason}" if reason else "") + (f" ({hint})" if hint else "")
    return FetchError(f"{url}: {text}", kind="http", url=url, status=status,
                      retry_after=retry_after)


def _too_large(url: str, max_bytes: int) -> FetchError:
    return FetchError(f"{url}: body larger than {_size(max_bytes)} limit "
                      "(raise feeds[].max_bytes)", kind="too_large", url=url)


def _retry_after(value: str | None, date: str | None) -> float | None:
    """Retry-After in seconds; an HTTP-date is measured from the answer's own Date header,
    which spares us both our clock and any skew between the two."""
    if not value:
        return None
    try:
        seconds = float(value)
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    except ValueError:
        pass
    try:
        when, now = parsedate_to_datetime(value), parsedate_to_datetime(date or "")
    except (TypeError, ValueError, IndexError):
        return None
    if (when.tzinfo is None) != (now.tzinfo is None):
        return None
    return max(0.0, (when - now).total_seconds())


def _size(n: int) -> str:
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if n >= factor and n % factor == 0:
            return f"{n // factor} {unit}"
    return f"{n:,} bytes"


def _seconds(value: float) -> str:
    if value == math.floor(value):
        return f"{int(value)}s"
    return f"{value:g}s"


def _brief(exc: BaseException | None) -> str:
    text = " ".join(str(exc).split()) if exc is not None else ""
    return (text or type(exc).__name__)[:200]
