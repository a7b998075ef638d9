"""A fake X API v2 on 127.0.0.1: the endpoints the X adapter calls, with X's real bodies.

Also home of ``FakeHTTPServer``, the small aiohttp base the platform fakes share: start it with
``async with`` inside a test's event loop, or ``start_in_thread()``/``stop()`` from sync code
(the demo). Every request is recorded; faults are scripted per request.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import math
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default as email_policy
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from oauthlib.oauth1.rfc5849 import signature as oauth_signature
from oauthlib.oauth1.rfc5849.utils import escape, parse_authorization_header, unescape

from syndicator.sandbox.server import LoopbackServer
from syndicator.text import weighted_length

Handler = Callable[[web.Request], Any]


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the fake saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    received: float = field(default_factory=time.time)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        """Fields of an urlencoded or multipart body (file parts as latin-1 text)."""
        ctype = self.headers.get("Content-Type", "")
        if ctype.startswith("multipart/"):
            return {name: value.decode("latin-1") for name, value in self.parts().items()}
        return dict(parse_qsl(self.text, keep_blank_values=True))

    def parts(self) -> dict[str, bytes]:
        """The parts of a multipart body by field name."""
        head = f"Content-Type: {self.headers.get('Content-Type', '')}\r\n\r\n".encode()
        message = BytesParser(policy=email_policy).parsebytes(head + self.body)
        out: dict[str, bytes] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                out[name] = payload
        return out


#: Where the middleware leaves the recorded request for the handlers.
RECORDED = web.RequestKey("recorded", RecordedRequest)


@dataclass(slots=True)
class Fault:
    """One scripted misbehaviour, applied to the next request whose path contains ``path``."""

    kind: str  # "fail" | "delay" | "drop"
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    path: str = ""


class FakeHTTPServer(LoopbackServer):
    """Base of the platform fakes: loopback aiohttp app, request log, fault queue."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    # -- what subclasses provide ----------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    def error_body(self, status: int) -> Any:
        """The platform's error body for a scripted failure with no body of its own."""
        return {"error": f"HTTP {status}"}

    def fault_response(self, status: int, body: Any, headers: dict[str, str]) -> web.Response:
        """The answer to a scripted failure; fakes add the headers their platform always sends.

        A ``str`` body is sent as HTML, like the error page of a proxy in front of the API.
        """
        if isinstance(body, str):
            return web.Response(text=body, status=status, headers=headers,
                                content_type="text/html")
        return web.json_response(body, status=status, headers=headers)

    # -- scripting ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.base_url

    def fail_next(self, status: int = 500, body: Any = None, *,
                  headers: dict[str, str] | None = None, times: int = 1, path: str = "") -> None:
        """Answer the next ``times`` requests with ``status`` and ``body`` (default: the
        platform's error body for that status)."""
        with self._lock:
            self._faults.extend(Fault("fail", status, body, dict(headers or {}), path=path)
                                for _ in range(times))

    def delay_next(self, seconds: float, *, path: str = "") -> None:
        """Handle the next request normally, then wait ``seconds`` before answering."""
        with self._lock:
            self._faults.append(Fault("delay", seconds=seconds, path=path))

    def drop_connection_next(self, *, path: str = "") -> None:
        """Read the next request, then close the socket without answering."""
        with self._lock:
            self._faults.append(Fault("drop", path=path))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def requests_to(self, path_part: str, method: str | None = None) -> list[RecordedRequest]:
        return [r for r in self.requests
                if path_part in r.path and (method is None or r.method == method)]

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        app.add_routes(self.routes())
        return app

    # -- the request path -----------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        body = await request.read()
        recorded = RecordedRequest(
            request.method, request.path, dict(request.query), dict(request.headers), body)
        request[RECORDED] = recorded
        self.requests.append(recorded)
        fault = self._take_fault(request.path)
        if fault is None:
            return await handler(request)  # type: ignore[no-any-return]
        if fault.kind == "drop":
            assert request.transport is not None
            request.transport.close()
            raise asyncio.CancelledError
        if fault.kind == "delay":
            response = await handler(request)
            await asyncio.sleep(fault.seconds)
            return response  # type: ignore[no-any-return]
        payload = fault.body if fault.body is not None else self.error_body(fault.status)
        return self.fault_response(fault.status, payload, fault.headers)

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for i, fault in enumerate(self._faults):
                if fault.path in path:
                    return self._faults.pop(i)
        return None


# -- X -------------------------------------------------------------------------------------

DUPLICATE_DETAIL = "You are not allowed to create a Tweet with duplicate content."
NOT_PERMITTED_DETAIL = "You are not permitted to perform this action."
_URL = re.compile(r"https?://[^\s]+")


@dataclass(slots=True)
class FakeTweet:
    """A stored post: ``text`` as X shows it (t.co links), ``submitted`` as it was sent."""

    id: str
    text: str
    submitted: str
    entities: dict[str, Any]
    media_ids: list[str]
    author_id: str
    created: float


class FakeXAPI(FakeHTTPServer):
    """X API v2: ``POST /2/tweets``, ``GET /2/users/me``, ``GET /2/users/:id/tweets``,
    ``POST /2/media/upload``.

    Credentials are either the four OAuth 1.0a values (the HMAC-SHA1 signature is checked
    against the URL this server was called at) or an OAuth 2.0 user ``bearer_token``.
    """

    def __init__(
        self, *, consumer_key: str = "", consumer_secret: str = "", access_token: str = "",
        access_token_secret: str = "", bearer_token: str = "", user_id: str = "2244994945",
        username: str = "example_news", name: str = "Example News",
        on_post: Callable[[FakeTweet], None] | None = None,
    ) -> None:
        super().__init__()
        self.consumer_key, self.consumer_secret = consumer_key, consumer_secret
        self.access_token, self.access_token_secret = access_token, access_token_secret
        self.bearer_token = bearer_token
        self.user = {"id": user_id, "name": name, "username": username}
        self.on_post = on_post
        self.tweets: list[FakeTweet] = []
        self.media: dict[str, bytes] = {}
        self.limit, self.remaining = 100, 100
        self._limited_until = 0.0
        self._daily_until = 0.0
        self._ids = itertools.count(1880000000000000001)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/2/tweets", self._create_tweet),
            web.get("/2/users/me", self._me),
            web.get("/2/users/{id}/tweets", self._user_tweets),
            web.post("/2/media/upload", self._upload),
        ]

    def error_body(self, status: int) -> Any:
        titles = {400: "Invalid Request", 401: "Unauthorized", 403: "Forbidden",
                  404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error",
                  503: "Service Unavailable"}
        title = titles.get(status, "Error")
        return {"title": title, "type": "about:blank", "status": status, "detail": title}

    def fault_response(self, status: int, body: Any, headers: dict[str, str]) -> web.Response:
        response = super().fault_response(status, body, headers)
        response.headers.update(self._rate_headers() | headers)
        return response

    def rate_limit(self, seconds: float, *, daily: bool = False) -> None:
        """Refuse every call with 429 for ``seconds``; ``daily`` spends the 24-hour user quota
        instead of the 15-minute window."""
        if daily:
            self._daily_until = time.time() + seconds
        else:
            self._limited_until = time.time() + seconds

    # -- handlers ---------------------------------------------------------------------------

    async def _create_tweet(self, request: web.Request) -> web.Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        try:
            payload = json.loads(await request.read())
            text = str(payload.get("text", ""))
        except (ValueError, AttributeError):
            return self._problem(400, "Invalid Request", "One or more parameters to your "
                                 "request was invalid.", "https://api.twitter.com/2/problems/"
                                 "invalid-request")
        media_ids = [str(m) for m in (payload.get("media") or {}).get("media_ids", [])]
        unknown = [m for m in media_ids if m not in self.media]
        if unknown:
            return self._problem(400, "Invalid Request", f"Your media IDs are invalid: "
                                 f"{unknown[0]}", "https://api.twitter.com/2/problems/"
                                 "invalid-request")
        if not text.strip() and not media_ids:
            return self._problem(400, "Invalid Request", "Tweet text is empty.",
                                 "https://api.twitter.com/2/problems/invalid-request")
        if weighted_length(text) > 280:
            # X refuses over-long posts with a bare 403 (platforms.md 1.4; seen in the wild).
            return self._problem(403, "Forbidden", NOT_PERMITTED_DETAIL, "about:blank")
        if any(t.submitted == text for t in self.tweets):
            return self._problem(403, "Forbidden", DUPLICATE_DETAIL, "about:blank")
        tweet = self._store(text, media_ids)
        body = {"data": {"id": tweet.id, "text": tweet.text,
                         "edit_history_tweet_ids": [tweet.id]}}
        return self._json(body, status=201)

    async def _me(self, request: web.Request) -> web.Response:
        refused = self._gate(request)
        return refused or self._json({"data": dict(self.user)})

    async def _user_tweets(self, request: web.Request) -> web.Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        if request.match_info["id"] != self.user["id"]:
            return self._json({"errors": [{"value": request.match_info["id"], "detail":
                               "Could not find user with id.", "title": "Not Found Error",
                               "resource_type": "user", "parameter": "id", "type":
                               "https://api.twitter.com/2/problems/resource-not-found"}]})
        limit = max(5, min(100, int(request.query.get("max_results", "10"))))
        fields = request.query.get("tweet.fields", "").split(",")
        data = []
        for tweet in sorted(self.tweets, key=lambda t: t.created, reverse=True)[:limit]:
            item: dict[str, Any] = {"id": tweet.id, "text": tweet.text,
                                    "edit_history_tweet_ids": [tweet.id]}
            if "entities" in fields and tweet.entities:
                item["entities"] = tweet.entities
            data.append(item)
        meta: dict[str, Any] = {"result_count": len(data)}
        if data:
            meta.update(newest_id=data[0]["id"], oldest_id=data[-1]["id"])
        return self._json({"data": data, "meta": meta} if data else {"meta": meta})

    async def _upload(self, request: web.Request) -> web.Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        parts = request[RECORDED].parts()
        if "media" not in parts or parts.get("media_category") != b"tweet_image":
            return self._problem(400, "Invalid Request", "media and media_category are "
                                 "required", "https://api.twitter.com/2/problems/"
                                 "invalid-request")
        media_id = str(next(self._ids))
        self.media[media_id] = parts["media"]
        return self._json({"data": {"id": media_id, "media_key": f"3_{media_id}",
                                    "size": len(parts["media"]), "expires_after_secs": 86400,
                                    "image": {"image_type": "image/jpeg", "w": 1, "h": 1}}})

    # -- helpers ----------------------------------------------------------------------------

    def _gate(self, request: web.Request) -> web.Response | None:
        """Authentication, then the rate limits: X checks them in this order."""
        if not self._authorized(request):
            return self._json({"title": "Unauthorized", "type": "about:blank", "status": 401,
                               "detail": "Unauthorized"}, status=401)
        now = time.time()
        if now < self._daily_until:
            return self._json(self.error_body(429) | {"detail": "Too Many Requests"},
                              status=429, daily_reset=self._daily_until)
        if now < self._limited_until:
            return self._json(self.error_body(429) | {"detail": "Too Many Requests"},
                              status=429, reset=self._limited_until, remaining=0)
        self.remaining = max(0, self.remaining - 1)
        return None

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            return bool(self.bearer_token) and secrets.compare_digest(
                header[7:], self.bearer_token)
        if not header.startswith("OAuth ") or not self.consumer_key:
            return False
        params = {k: unescape(v) for k, v in parse_authorization_header(header)}
        required = {"oauth_consumer_key", "oauth_nonce", "oauth_signature",
                    "oauth_signature_method", "oauth_timestamp", "oauth_token", "oauth_version"}
        if not required <= params.keys() or params["oauth_signature_method"] != "HMAC-SHA1":
            return False
        if (params["oauth_consumer_key"] != self.consumer_key
                or params["oauth_token"] != self.access_token):
            return False
        body = None
        if request.content_type == "application/x-www-form-urlencoded":
            body = request[RECORDED].text
        collected = oauth_signature.collect_parameters(
            uri_query=request.query_string, body=body, headers={"Authorization": header},
            exclude_oauth_signature=True)
        base = oauth_signature.signature_base_string(
            request.method, oauth_signature.base_string_uri(str(request.url)),
            oauth_signature.normalize_parameters(collected))
        # RFC 5849 3.4.2: HMAC-SHA1 over the base string, keyed by both secrets.
        key = escape(self.consumer_secret) + "&" + escape(self.access_token_secret)
        expected = base64.b64encode(
            hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()).decode()
        return secrets.compare_digest(expected, params["oauth_signature"])

    def _json(self, body: Any, *, status: int = 200, reset: float | None = None,
              remaining: int | None = None, daily_reset: float | None = None) -> web.Response:
        headers = self._rate_headers(reset, remaining)
        if daily_reset is not None:
            headers |= {"x-user-limit-24hour-limit": "17", "x-user-limit-24hour-remaining": "0",
                        "x-user-limit-24hour-reset": str(math.ceil(daily_reset))}
        return web.json_response(body, status=status, headers=headers)

    def _rate_headers(self, reset: float | None = None, remaining: int | None = None
                      ) -> dict[str, str]:
        """The 15-minute window headers X sends with every answer."""
        return {
            "x-rate-limit-limit": str(self.limit),
            "x-rate-limit-remaining": str(self.remaining if remaining is None else remaining),
            "x-rate-limit-reset": str(math.ceil(reset if reset else time.time() + 900)),
        }

    def _problem(self, status: int, title: str, detail: str, kind: str) -> web.Response:
        return self._json({"title": title, "detail": detail, "type": kind, "status": status},
                          status=status)

    def _store(self, text: str, media_ids: list[str]) -> FakeTweet:
        """Save the post the way X shows it: each URL replaced by a t.co link."""
        tweet_id = str(next(self._ids))
        shown, urls, last = "", [], 0
        for match in _URL.finditer(text):
            shown += text[last:match.start()]
            short = "https://t.co/" + secrets.token_urlsafe(8)[:10]
            start = len(shown)
            shown += short
            urls.append({"start": start, "end": len(shown), "url": short,
                         "expanded_url": match.group(0),
                         "display_url": match.group(0).split("://", 1)[-1][:24]})
            last = match.end()
        shown += text[last:]
        entities: dict[str, Any] = {"urls": urls} if urls else {}
        tweet = FakeTweet(tweet_id, shown, text, entities, media_ids, self.user["id"],
                          time.time())
        self.tweets.append(tweet)
        if self.on_post is not None:
            self.on_post(tweet)
        return tweet

