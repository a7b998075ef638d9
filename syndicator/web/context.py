"""The dashboard's shared state and page rendering, reachable from every handler."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import jinja2
from aiohttp import web

from syndicator.clock import Clock
from syndicator.config import LoadedConfig
from syndicator.desk import Desk
from syndicator.secrets import redact
from syndicator.store.store import Store
from syndicator.web import present
from syndicator.web.options import User, WebOptions
from syndicator.web.ratelimit import LoginLimiter
from syndicator.web.sessions import FLASH_COOKIE, Session, Signer

T = TypeVar("T")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("syndicator.web", "templates"),
        autoescape=True, trim_blocks=True, lstrip_blocks=True,
        undefined=jinja2.StrictUndefined)
    env.filters.update(dir=present.text_dir, stamp=present.stamp, clip=present.clip,
                       safe_url=present.safe_url, share_url=present.share_url,
                       redact=lambda text: redact(str(text)) if text else "")
    return env


@dataclass
class Context:
    """One per app: config, store, desk, signing keys, login limiter, templates."""

    config: LoadedConfig
    store: Store
    options: WebOptions
    clock: Clock
    signer: Signer
    limiter: LoginLimiter
    desk: Desk = field(init=False)
    templates: jinja2.Environment = field(default_factory=_environment)
    #: Each password check costs ~32 MiB and tens of milliseconds: a burst of parallel
    #: logins (all passing the throttle before any failure is counted) waits in line.
    password_checks: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(2))

    def __post_init__(self) -> None:
        self.desk = Desk(self.store, self.config.settings, self.clock)

    async def run(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a store call in a worker thread: the daemon's loop must not wait on the disk."""
        return await asyncio.to_thread(func, *args, **kwargs)

    def now(self) -> datetime:
        return self.clock.now()

    def render(self, request: web.Request, template: str, *, status: int = 200,
               **values: Any) -> web.Response:
        """A page with the logged-in user, CSRF token and any flash message filled in."""
        session = request.get(SESSION_KEY)
        user = request.get(USER_KEY)
        flash = self.signer.unsign("flash", request.cookies.get(FLASH_COOKIE))
        now = self.now()
        html = self.templates.get_template(template).render(
            user=user, csrf=session.csrf if session else "", flash=flash,
            path=request.path, now=now, when=lambda m: present.when(m, now),
            poll_ms=int(self.options.poll_seconds * 1000), **values)
        response = web.Response(text=html, status=status, content_type="text/html",
                                charset="utf-8")
        if flash is not None:
            response.del_cookie(FLASH_COOKIE, path="/")
        return response

    def flash(self, response: web.StreamResponse, message: str, kind: str = "ok") -> None:
        """Show ``message`` once on the next page (it survives the redirect after a POST)."""
        response.set_cookie(FLASH_COOKIE, self.signer.sign("flash", {"m": message, "k": kind}),
                            max_age=60, path="/", httponly=True, samesite="Strict")


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(data, default=_json_default, ensure_ascii=False),
                        status=status, content_type="application/json", charset="utf-8")


def redirect(location: str) -> web.Response:
    """A 303 to ``location`` (a response to return, so cookies can be set on it)."""
    return web.Response(status=303, headers={"Location": location})


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


CONTEXT = web.AppKey("syndicator_web", Context)
SESSION_KEY = web.RequestKey("syndicator_session", Session)
USER_KEY = web.RequestKey("syndicator_user", User)


def context(request: web.Request) -> Context:
    return request.app[CONTEXT]


def current_user(request: web.Request) -> User:
    """The logged-in user (the auth middleware guarantees one on every protected route)."""
    try:
        return request[USER_KEY]
    except KeyError:
        raise web.HTTPUnauthorized() from None
