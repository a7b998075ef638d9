"""A fake Graph API on 127.0.0.1: a Page's feed, ``/me`` and Graph's real error bodies."""

from __future__ import annotations

import itertools
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from syndicator.sandbox.twitter import RECORDED, FakeHTTPServer

#: Bodies as Graph sends them (https://developers.facebook.com/docs/graph-api/guides/error-handling).
EXPIRED_MESSAGE = ("Error validating access token: Session has expired on Tuesday, 01-Sep-26 "
                   "10:00:00 PDT. The current time is Tuesday, 01-Sep-26 11:00:00 PDT.")
INVALID_MESSAGE = "Invalid OAuth access token - Cannot parse access token"
DUPLICATE_MESSAGE = "(#506) Duplicate status message"
THROTTLE_MESSAGE = "(#32) Page request limit reached"
PERMISSION_MESSAGE = ("(#200) If posting to a page, requires both pages_read_engagement and "
                      "pages_manage_posts as an admin with sufficient administrative permission")
_VERSIONED = "/{version:v\\d+\\.\\d+}"


@dataclass(slots=True)
class FakePagePost:
    id: str
    message: str
    link: str | None
    created: float

    @property
    def permalink_url(self) -> str:
        page, _, post = self.id.partition("_")
        return f"https://www.facebook.com/{page}/posts/{post}"


class FakeGraphAPI(FakeHTTPServer):
    """Graph API for one Page: ``POST/GET /vNN.N/{page}/feed``, ``GET /vNN.N/me``.

    Switches: ``expire_token()`` (190/463), ``revoke_permission()`` (200),
    ``throttle(minutes)`` (32 with an X-Business-Use-Case-Usage header), plus the base class's
    ``fail_next``/``delay_next``/``drop_connection_next``.
    """

    def __init__(self, *, page_id: str = "104857600123456", page_name: str = "Example News",
                 page_token: str = "", on_post: Callable[[FakePagePost], None] | None = None
                 ) -> None:
        super().__init__()
        self.page_id, self.page_name, self.page_token = page_id, page_name, page_token
        self.on_post = on_post
        self.posts: list[FakePagePost] = []
        self.versions: list[str] = []
        self._expired = False
        self._permission = True
        self._throttled_until = 0.0
        self._ids = itertools.count(122100000000000001)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post(_VERSIONED + "/{page}/feed", self._create_post),
            web.get(_VERSIONED + "/{page}/feed", self._feed),
            web.get(_VERSIONED + "/me", self._me),
        ]

    def error_body(self, status: int) -> Any:
        if status >= 500:
            return self.graph_error("An unexpected error has occurred. Please retry your "
                                    "request later.", "OAuthException", 2, is_transient=True)
        return self.graph_error("An unknown error has occurred.", "OAuthException", 1)

    def graph_error(self, message: str, kind: str, code: int, subcode: int | None = None,
                    **extra: Any) -> dict[str, Any]:
        error: dict[str, Any] = {"message": message, "type": kind, "code": code}
        if subcode is not None:
            error["error_subcode"] = subcode
        error.update(extra)
        error["fbtrace_id"] = "A" + secrets.token_urlsafe(15)
        return {"error": error}

    # -- switches ---------------------------------------------------------------------------

    def expire_token(self) -> None:
        self._expired = True

    def revoke_permission(self) -> None:
        self._permission = False

    def throttle(self, minutes: int) -> None:
        """Refuse calls with code 32 for ``minutes``, announcing the wait in the BUC header."""
        self._throttled_until = time.time() + minutes * 60

    # -- handlers ---------------------------------------------------------------------------

    async def _create_post(self, request: web.Request) -> web.Response:
        form = request[RECORDED].form()
        refused = self._gate(request, form.get("access_token") or request.query.get(
            "access_token", ""), page=request.match_info["page"])
        if refused is not None:
            return refused
        if not self._permission:
            return self._error(403, self.graph_error(PERMISSION_MESSAGE, "OAuthException", 200))
        message, link = form.get("message", ""), form.get("link") or None
        if not message and not link:
            return self._error(400, self.graph_error(
                "(#100) Missing message or attachment", "OAuthException", 100))
        if any(p.message == message and p.link == link for p in self.posts):
            return self._error(400, self.graph_error(DUPLICATE_MESSAGE, "OAuthException", 506))
        post = FakePagePost(f"{self.page_id}_{next(self._ids)}", message, link, time.time())
        self.posts.append(post)
        if self.on_post is not None:
            self.on_post(post)
        return self._json({"id": post.id})

    async def _feed(self, request: web.Request) -> web.Response:
        refused = self._gate(request, request.query.get("access_token", ""),
                             page=request.match_info["page"])
        if refused is not None:
            return refused
        fields = request.query.get("fields", "id,message,created_time").split(",")
        limit = max(1, min(100, int(request.query.get("limit", "25"))))
        data = []
        for post in sorted(self.posts, key=lambda p: p.created, reverse=True)[:limit]:
            item = {"id": post.id, "message": post.message, "link": post.link,
                    "permalink_url": post.permalink_url,
                    "created_time": time.strftime("%Y-%m-%dT%H:%M:%S+0000",
                                                  time.gmtime(post.created))}
            data.append({k: v for k, v in item.items() if k in fields and v is not None})
        return self._json({"data": data})

    async def _me(self, request: web.Request) -> web.Response:
        refused = self._gate(request, request.query.get("access_token", ""))
        return refused or self._json({"id": self.page_id, "name": self.page_name})

    # -- helpers ----------------------------------------------------------------------------

    def _gate(self, request: web.Request, token: str, *, page: str | None = None
              ) -> web.Response | None:
        self.versions.append(request.match_info["version"])
        if not token or not secrets.compare_digest(token, self.page_token):
            return self._error(400, self.graph_error(INVALID_MESSAGE, "OAuthException", 190))
        if self._expired:
            return self._error(400, self.graph_error(EXPIRED_MESSAGE, "OAuthException", 190,
                                                     463))
        if page is not None and page != self.page_id:
            return self._error(400, self.graph_error(
                f"(#100) Unsupported request: object '{page}' does not exist",
                "GraphMethodException", 100, 33))
        remaining = self._throttled_until - time.time()
        if remaining > 0:
            return self._error(400, self.graph_error(THROTTLE_MESSAGE, "OAuthException", 32),
                               regain_minutes=max(1, round(remaining / 60)))
        return None

    def _usage(self, regain_minutes: int = 0) -> dict[str, str]:
        usage = {self.page_id: [{"type": "pages", "call_count": 100 if regain_minutes else 4,
                                 "total_cputime": 1, "total_time": 2,
                                 "estimated_time_to_regain_access": regain_minutes}]}
        return {"X-Business-Use-Case-Usage": json.dumps(usage, separators=(",", ":"))}

    def _json(self, body: Any, status: int = 200, regain_minutes: int = 0) -> web.Response:
        return web.json_response(body, status=status, headers=self._usage(regain_minutes))

    def _error(self, status: int, body: Any, regain_minutes: int = 0) -> web.Response:
        return self._json(body, status, regain_minutes)

    def fault_response(self, status: int, body: Any, headers: dict[str, str]) -> web.Response:
        response = super().fault_response(status, body, headers)
        response.headers.update(self._usage() | headers)
        return response
