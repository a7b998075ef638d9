"""The aiohttp application: routes, the login gate, security headers, static files."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from syndicator.clock import Clock, SystemClock
from syndicator.config import LoadedConfig
from syndicator.store.store import Store
from syndicator.web import actions, api, auth, pages
from syndicator.web.context import CONTEXT, Context
from syndicator.web.options import WebOptions
from syndicator.web.ratelimit import LoginLimiter
from syndicator.web.sessions import Signer

STATIC = Path(__file__).parent / "static"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


async def _headers(request: web.Request, response: web.StreamResponse) -> None:
    """Every answer: no framing, no sniffing, no inline script, no caching of pages."""
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if not request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")


def create_app(config: LoadedConfig, store: Store, options: WebOptions, *,
               secret_key: bytes, clock: Clock | None = None) -> web.Application:
    """The dashboard over ``store``; ``secret_key`` signs sessions (see ``server.py``)."""
    clock = clock or SystemClock()
    ctx = Context(config=config, store=store, options=options, clock=clock,
                  signer=Signer(secret_key),
                  limiter=LoginLimiter(clock, limit=options.login_failures,
                                       window=options.login_window))
    app = web.Application(middlewares=[auth.gate], client_max_size=1024 * 1024)
    app[CONTEXT] = ctx
    app.on_response_prepare.append(_headers)
    app.add_routes([
        web.get("/login", auth.login_form),
        web.post("/login", auth.login),
        web.post("/logout", auth.logout),
        web.get("/", pages.queue_page),
        web.get("/posts/{post_id:\\d+}", pages.post_page),
        web.get("/deliveries/{delivery_id:\\d+}", pages.delivery_page),
        web.post("/deliveries/{delivery_id:\\d+}/{action}", actions.delivery_action),
        web.get("/history", pages.history_page),
        web.get("/health", pages.health_page),
        web.post("/channels/{channel_id}/{action}", actions.channel_action),
        web.post("/api/check", api.check_text),
        web.get("/api/version", api.version),
        web.get("/api/queue", api.queue),
        web.static("/static", STATIC),
    ])
    return app
