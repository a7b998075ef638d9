"""Who may see and do what: the login gate, CSRF checks, roles, and the login form itself.

Every route except the login form and the stylesheet needs a session; pages send the browser
to /login, everything else (JSON, forms) gets 401. Every state-changing request carries the
session's CSRF token (form field ``_csrf`` or header ``X-CSRF-Token``).
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import quote, urlsplit

from aiohttp import web

from syndicator.web.context import (
    SESSION_KEY,
    USER_KEY,
    context,
    current_user,
    json_response,
    redirect,
)
from syndicator.web.passwords import DUMMY_HASH, verify_password
from syndicator.web.sessions import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    dump_session,
    load_session,
    new_session,
)

log = logging.getLogger("syndicator.web")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PUBLIC = frozenset({"/login", "/static/app.css"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "_csrf"


def wants_json(request: web.Request) -> bool:
    return (request.path.startswith("/api/")
            or "application/json" in request.headers.get("Accept", ""))


def _unauthorized(request: web.Request) -> web.StreamResponse:
    if request.method == "GET" and not wants_json(request):
        target = request.path_qs if request.path != "/" else ""
        return redirect("/login" + (f"?next={quote(target, safe='')}" if target else ""))
    return json_response({"error": "login required"}, status=401)


def _forbidden(request: web.Request, message: str) -> web.StreamResponse:
    if wants_json(request):
        return json_response({"error": message}, status=403)
    return web.Response(text=f"403 Forbidden: {message}\n", status=403)


def _same_origin(request: web.Request) -> bool:
    """Refuse a request a browser says came from another site, token or not.

    Defence in depth behind SameSite=Strict; a request without ``Origin`` passes.
    """
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.host


async def _csrf_token(request: web.Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


@web.middleware
async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Load the session, refuse anonymous requests and state changes without a valid token."""
    ctx = context(request)
    session = load_session(ctx.signer, request.cookies.get(SESSION_COOKIE), ctx.now())
    user = ctx.options.user(session.user) if session else None
    if session is not None and user is not None and hmac.compare_digest(
            session.version, ctx.signer.fingerprint(user.password_hash)):
        request[SESSION_KEY] = session
        request[USER_KEY] = user
    else:
        session = user = None
    if request.path in PUBLIC:
        return await handler(request)
    if user is None or session is None:
        return _unauthorized(request)
    if request.method not in SAFE_METHODS:
        if not _same_origin(request):
            return _forbidden(request, "cross-origin request refused")
        token = await _csrf_token(request)
        if not token or not hmac.compare_digest(token.encode(), session.csrf.encode()):
            return _forbidden(request, "missing or invalid CSRF token (reload the page)")
    return await handler(request)


def require_admin(request: web.Request) -> None:
    """Raise 403 unless an admin is logged in."""
    if not current_user(request).is_admin:
        raise web.HTTPForbidden(text="403 Forbidden: only admins may do this\n")


def _client(request: web.Request) -> str:
    return request.remote or "unknown"


def safe_next(value: str | None) -> str:
    """Only a path on this site: ``//evil.example`` and ``https://...`` are not followed."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return "/"


async def login_form(request: web.Request, *, error: str | None = None,
                     status: int = 200, name: str = "", next_path: str | None = None
                     ) -> web.Response:
    ctx = context(request)
    target = safe_next(next_path or request.query.get("next"))
    if request.get(USER_KEY) is not None and error is None:
        return redirect(target)
    # Reuse a valid nonce: a second GET (another tab, a stray asset request redirected
    # here) must not invalidate the form already on screen.
    signed = ctx.signer.unsign("login", request.cookies.get(LOGIN_COOKIE))
    nonce = str(signed["n"]) if signed and signed.get("n") else secrets.token_urlsafe(24)
    response = ctx.render(request, "login.html", status=status, login_nonce=nonce,
                          error=error, name=name, next=target)
    response.set_cookie(LOGIN_COOKIE, ctx.signer.sign("login", {"n": nonce}), path="/login",
                        httponly=True, samesite="Strict", max_age=3600,
                        secure=request.secure)
    return response


async def login(request: web.Request) -> web.StreamResponse:
    """Check the login form: CSRF nonce, throttle, then the password (constant time)."""
    ctx = context(request)
    form = await request.post()
    name = str(form.get("name", "")).strip()[:128]
    password = str(form.get("password", ""))
    nonce = str(form.get(CSRF_FIELD, ""))
    target = str(form.get("next", "")) or None
    signed = ctx.signer.unsign("login", request.cookies.get(LOGIN_COOKIE))
    if (not _same_origin(request) or not signed or not nonce
            or not hmac.compare_digest(str(signed.get("n", "")).encode(), nonce.encode())):
        return await login_form(request, error="The form expired; please try again.",
                                status=403, name=name, next_path=target)
    keys = (f"ip:{_client(request)}", f"user:{name.lower()}")
    wait = ctx.limiter.retry_after(*keys)
    if wait > 0:
        log.warning("dashboard: login throttled for %r from %s", name, _client(request))
        response = await login_form(
            request, status=429, name=name, next_path=target,
            error=f"Too many failed logins. Try again in {int(wait) + 1} seconds.")
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    user = ctx.options.user(name)
    async with ctx.password_checks:
        ok = await ctx.run(verify_password, password,
                           user.password_hash if user else DUMMY_HASH)
    if user is None or not ok:
        ctx.limiter.fail(*keys)
        log.warning("dashboard: failed login for %r from %s", name, _client(request))
        return await login_form(request, error="Wrong name or password.", status=401,
                                name=name, next_path=target)
    ctx.limiter.succeed(keys[1])
    session = new_session(user.name, ctx.signer.fingerprint(user.password_hash), ctx.now(),
                          ctx.options.session_ttl)
    log.info("dashboard: %s (%s) logged in from %s", user.name, user.role, _client(request))
    response = redirect(safe_next(target))
    response.set_cookie(SESSION_COOKIE, dump_session(ctx.signer, session), path="/",
                        httponly=True, samesite="Strict", secure=request.secure,
                        max_age=int(ctx.options.session_ttl.total_seconds()))
    response.del_cookie(LOGIN_COOKIE, path="/login")
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    response = redirect("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response
