"""Facebook Pages: posts to a Page's feed through facebook-sdk's ``GraphAPI`` with a Page token."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Mapping
from typing import Any

import facebook
import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError

from syndicator.adapters.base import Adapter
from syndicator.config import ChannelBase, FacebookChannel
from syndicator.errors import (
    AuthError,
    DuplicateError,
    PermanentError,
    PublishError,
    RateLimited,
    TransientError,
    UncertainError,
)
from syndicator.model import Account, Limits, Message, Receipt

PLATFORM = "facebook"
GRAPH_HOST = "https://graph.facebook.com"
#: Throttled without an estimate in the usage headers: Meta's windows are rolling hours.
DEFAULT_THROTTLE_WAIT = 15 * 60.0
USAGE_HEADERS = ("x-business-use-case-usage", "x-page-usage", "x-app-usage")

# https://developers.facebook.com/docs/graph-api/guides/error-handling and
# .../overview/rate-limiting: 4 app, 17 user, 32 Page, 613 custom, 80001-80014 Business Use Case.
_THROTTLE = {4, 17, 32, 341, 613, *range(80001, 80015)}
_TRANSIENT = {1, 2}
_TOKEN = {190, 102}
_PERMISSION = {10, *range(200, 300)}


def classify_graph_error(
    status: int | None, error: Mapping[str, Any] | None, headers: Mapping[str, str]
) -> PublishError:
    """Map one Graph API error (the ``error`` object of the body, or None) to an outcome.

    Graph puts its verdict in the body, often with HTTP 400 even for throttling, so the code
    decides first and the HTTP status only when the body has no code.
    """
    error = error or {}
    code = _int(error.get("code"))
    sub = _int(error.get("error_subcode"))
    detail = str(error.get("message") or "").strip()
    where = f"code {code}" + (f"/{sub}" if sub else "") if code is not None else f"HTTP {status}"
    text = f"Facebook refused ({where}): {detail}" if detail else f"Facebook refused ({where})"
    kw: dict[str, Any] = {"platform": PLATFORM, "status": status, "code": code}
    if code in _THROTTLE:
        return RateLimited(text, retry_after=_throttle_wait(headers), **kw)
    if code in _TOKEN:
        return AuthError(text + " (generate a new Page access token for this Page and update "
                         "the env var that holds it)", **kw)
    if code in _PERMISSION:
        return AuthError(text + " (the app needs pages_manage_posts and pages_read_engagement "
                         "on this Page, and the token's user must be able to create content; "
                         "grant them, then generate a new Page token)", **kw)
    if code == 368:
        return PermanentError(text + " (the Page is temporarily blocked from posting for a "
                              "policy violation)", **kw)
    if code == 506:
        return DuplicateError(text, **kw)
    if code in _TRANSIENT or error.get("is_transient") is True:
        return TransientError(text, **kw)
    if code is None and status is not None and (status >= 500 or status == 429):
        if status == 429:
            return RateLimited(text, retry_after=_throttle_wait(headers), **kw)
        return TransientError(text, **kw)
    return PermanentError(text, **kw)


def _throttle_wait(headers: Mapping[str, str]) -> float:
    """The longest ``estimated_time_to_regain_access`` (minutes) in the usage headers."""
    lowered = {k.lower(): v for k, v in headers.items()}
    minutes = 0.0
    for name in USAGE_HEADERS:
        try:
            usage = json.loads(lowered.get(name, "") or "null")
        except ValueError:
            continue
        for entry in _entries(usage):
            minutes = max(minutes, float(_int(entry.get("estimated_time_to_regain_access")) or 0))
    return minutes * 60 if minutes > 0 else DEFAULT_THROTTLE_WAIT


def _entries(usage: Any) -> list[Mapping[str, Any]]:
    # BUC: {"<id>": [{...}]}; Page/App usage: a flat {...}.
    if not isinstance(usage, dict):
        return []
    if "call_count" in usage or "estimated_time_to_regain_access" in usage:
        return [usage]
    out: list[Mapping[str, Any]] = []
    for value in usage.values():
        out.extend(v for v in (value if isinstance(value, list) else [value])
                   if isinstance(v, dict))
    return out


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def classify_transport_error(exc: requests.RequestException, *, creates: bool) -> PublishError:
    """No HTTP answer: transient before sending; uncertain after sending a post."""
    name = type(exc).__name__
    reason = getattr(exc.args[0], "reason", exc.args[0]) if exc.args else None
    before = isinstance(exc, requests.ConnectTimeout | requests.exceptions.SSLError
                        | requests.exceptions.ProxyError) or isinstance(
        reason, ConnectTimeoutError)  # urllib3's NewConnectionError is one too
    if before:
        return TransientError(f"could not reach Facebook ({name})", platform=PLATFORM)
    if creates:
        return UncertainError(f"Facebook did not answer after the post was sent ({name}); "
                              "it may exist", platform=PLATFORM)
    return TransientError(f"Facebook did not answer ({name})", platform=PLATFORM)


class GraphTransport(HTTPAdapter):
    """Sends facebook-sdk's requests to the channel's endpoint, with a timeout.

    facebook-sdk 3.1 builds every URL from the module global ``FACEBOOK_GRAPH_URL``
    (facebook/__init__.py:46, 278-287). Setting that global would move every channel at once,
    and races between worker threads, so each adapter leaves it alone and mounts this transport
    on its own session instead: whatever prefix the global holds at send time is replaced by
    this channel's ``api_url``.
    """

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/") + "/"
        self.timeout = timeout

    def send(
        self, request: requests.PreparedRequest, stream: bool = False,
        timeout: Any = None, verify: Any = True, cert: Any = None, proxies: Any = None,
    ) -> requests.Response:
        prefix = str(facebook.FACEBOOK_GRAPH_URL)
        url = request.url or ""
        if url.startswith(prefix) and prefix != self.base_url:
            request.url = self.base_url + url[len(prefix):]
        return super().send(request, stream=stream,
                            timeout=self.timeout if timeout is None else timeout,
                            verify=verify, cert=cert, proxies=proxies)


class FacebookAdapter(Adapter):
    """Posts to one Facebook Page's feed; blocking facebook-sdk calls run in a worker thread."""

    platform = PLATFORM
    default_api_url = GRAPH_HOST
    limits = Limits(max_length=63206, counting="chars")

    def __init__(self, channel: ChannelBase) -> None:
        super().__init__(channel)
        assert isinstance(channel, FacebookChannel)
        self.page_id = channel.page_id
        self.version = "v" + channel.graph_version.lstrip("v")
        self._timeout = channel.timeout.total_seconds()
        self._lock = threading.Lock()
        self._graph: facebook.GraphAPI | None = None
        # facebook-sdk drops response headers and ignores the HTTP status (platforms.md 3.1);
        # a response hook keeps the last response per worker thread so both can be read.
        self._seen = threading.local()

    async def publish(self, message: Message) -> Receipt:
        """``POST /{page_id}/feed`` with the text and link, once.

        Raises RateLimited, AuthError, DuplicateError, PermanentError, TransientError, or
        UncertainError when the post was sent but no answer came.
        """
        return await asyncio.to_thread(self._publish, message)

    async def verify(self) -> Account:
        """``GET /me`` with the Page token: must be the configured Page."""
        return await asyncio.to_thread(self._verify)

    async def find_existing(self, message: Message) -> Receipt | None:
        """Look for ``message.link`` (else its text) among the Page's 25 latest posts."""
        return await asyncio.to_thread(self._find_existing, message)

    async def close(self) -> None:
        if self._graph is not None:
            self._graph.session.close()

    def describe(self) -> Mapping[str, str]:
        return {**super().describe(), "page_id": self.page_id, "graph_version": self.version}

    # -- blocking work ----------------------------------------------------------------------

    def _publish(self, message: Message) -> Receipt:
        graph = self._client()
        fields = {"message": message.text}
        if message.link:
            fields["link"] = message.link
        result = self._call(lambda: graph.put_object(self.page_id, "feed", **fields),
                            creates=True)
        post_id = str(result.get("id") or "") if isinstance(result, dict) else ""
        if not post_id:
            raise UncertainError("Facebook accepted the post but its answer carries no id",
                                 platform=PLATFORM)
        return Receipt(remote_id=post_id, url=f"https://www.facebook.com/{post_id}")

    def _verify(self) -> Account:
        graph = self._client()
        me = self._call(lambda: graph.get_object("me", fields="id,name"), creates=False)
        page_id = str(me.get("id", "")) if isinstance(me, dict) else ""
        name = str(me.get("name", "")) if isinstance(me, dict) else ""
        if page_id != self.page_id:
            raise AuthError(
                f"the token belongs to {name or '?'} ({page_id or '?'}), not Page "
                f"{self.page_id}: use a Page access token of that Page", platform=PLATFORM)
        return Account(id=page_id, name=name, url=f"https://www.facebook.com/{page_id}")

    def _find_existing(self, message: Message) -> Receipt | None:
        graph = self._client()
        feed = self._call(lambda: graph.get_connections(
            self.page_id, "feed", fields="id,message,permalink_url,link", limit=25),
            creates=False)
        for post in feed.get("data", []) if isinstance(feed, dict) else []:
            if _matches(message, post):
                post_id = str(post["id"])
                return Receipt(remote_id=post_id,
                               url=post.get("permalink_url")
                               or f"https://www.facebook.com/{post_id}",
                               note="found among recent posts")
        return None

    def _call(self, fn: Callable[[], Any], *, creates: bool) -> Any:
        self._seen.response = None
        try:
            result = fn()
        except facebook.GraphAPIError as exc:
            body = exc.result if isinstance(exc.result, dict) else {}
            raise self._error(body.get("error") if isinstance(body.get("error"), dict)
                              else None) from None
        except requests.exceptions.JSONDecodeError:
            raise self._unreadable(creates) from None
        except requests.RequestException as exc:
            raise classify_transport_error(exc, creates=creates) from None
        except KeyError:  # facebook-sdk reads headers["content-type"] unguarded
            raise self._unreadable(creates) from None
        response: requests.Response | None = self._seen.response
        if response is not None and response.status_code >= 400:
            raise self._error(None)
        return result

    def _error(self, error: Mapping[str, Any] | None) -> PublishError:
        response: requests.Response | None = self._seen.response
        status = response.status_code if response is not None else None
        headers: Mapping[str, str] = response.headers if response is not None else {}
        found = classify_graph_error(status, error, headers)
        found.message = self._scrub(found.message)
        found.args = (found.message,)
        return found

    def _unreadable(self, creates: bool) -> PublishError:
        response: requests.Response | None = self._seen.response
        status = response.status_code if response is not None else None
        if status is not None and status >= 400:
            return self._error(None)
        return (UncertainError if creates else TransientError)(
            f"Facebook answered HTTP {status} with a body that is not JSON", platform=PLATFORM,
            status=status)

    def _client(self) -> facebook.GraphAPI:
        with self._lock:
            if self._graph is not None:
                return self._graph
            try:
                token = self.secret("page_token")
            except KeyError as exc:
                raise AuthError(f"Facebook Page token missing: {exc.args[0]}",
                                platform=PLATFORM) from None
            session = requests.Session()
            transport = GraphTransport(self.api_url, self._timeout)
            session.mount("https://", transport)
            session.mount("http://", transport)
            session.hooks["response"].append(self._remember)
            # GraphAPI(version=...) only takes "#.#" from a 2018 list (facebook/__init__.py:
            # 49, 99); the URL is built from the attribute, so set it after construction.
            graph = facebook.GraphAPI(access_token=token, timeout=self._timeout,
                                      session=session)
            graph.version = self.version
            self._graph = graph
            return graph

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._seen.response = response

    def _scrub(self, text: str) -> str:
        for secret in self.channel.credentials.values():
            if secret.present:
                text = text.replace(secret.get(), "***")
        return text


def _matches(message: Message, post: Mapping[str, Any]) -> bool:
    body = str(post.get("message") or "")
    if message.link:
        wanted = message.link.strip().rstrip("/")
        return str(post.get("link") or "").strip().rstrip("/") == wanted or message.link in body
    return body.strip() == message.text.strip()
