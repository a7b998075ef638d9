"""Editors' and admins' actions: each is one Desk call with the logged-in user as actor.

Forms get a redirect with a one-shot message (a refused edit re-renders the post with the
typed text and the platform's reasons); clients that ask for JSON get the outcome as JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from syndicator.desk import Desk, EditRefused
from syndicator.durations import parse_when
from syndicator.web.auth import require_admin, safe_next, wants_json
from syndicator.web.context import context, current_user, json_response, redirect
from syndicator.web.pages import render_post

VERBS = {
    "approve": "approved", "hold": "held for approval", "skip": "skipped",
    "retry": "queued again", "revert": "back to the template text", "edit": "edited",
    "reschedule": "moved",
}
MAX_TEXT = 100_000


def _field(form: Any, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def _operation(desk: Desk, action: str, delivery: dict[str, Any], form: Any,
               actor: str) -> Callable[[], dict[str, Any]]:
    delivery_id = delivery["id"]
    if action == "edit":
        text = _field(form, "text").replace("\r\n", "\n")
        if len(text) > MAX_TEXT:
            raise EditRefused([f"too long to be a post ({len(text)} characters)"])
        return lambda: desk.edit(delivery_id, text, actor)
    if action == "reschedule":
        zone = desk.channel(delivery["channel"]).schedule.timezone
        at = parse_when(_field(form, "at"), zone, desk.clock.now())
        return lambda: desk.reschedule(delivery_id, at, actor)
    method: Callable[[int, str], dict[str, Any]] = getattr(desk, action)
    return lambda: method(delivery_id, actor)


async def delivery_action(request: web.Request) -> web.StreamResponse:
    """POST /deliveries/{id}/{action}: approve, hold, skip, retry, revert, edit, reschedule."""
    ctx = context(request)
    user = current_user(request)
    action = request.match_info["action"]
    delivery_id = int(request.match_info["delivery_id"])
    if action not in VERBS:
        raise web.HTTPNotFound(text=f"404: no action {action!r}\n")
    delivery = await ctx.run(ctx.store.delivery, delivery_id)
    if delivery is None:
        raise web.HTTPNotFound(text=f"404: no delivery {delivery_id}\n")
    form = await request.post()
    post_id = delivery["post"]["id"]
    back = safe_next(_field(form, "back") or f"/posts/{post_id}#d{delivery_id}")
    try:
        result = await ctx.run(_operation(ctx.desk, action, delivery, form, user.name))
    except EditRefused as exc:
        if wants_json(request):
            return json_response({"error": "refused", "problems": exc.problems}, status=422)
        return await render_post(request, post_id, status=422,
                                 drafts={delivery_id: _field(form, "text")},
                                 refusals={delivery_id: exc.problems})
    except (LookupError, ValueError) as exc:
        message = str(exc).strip("'\"")
        if wants_json(request):
            return json_response({"error": message}, status=409)
        response = redirect(back)
        ctx.flash(response, message, "error")
        return response
    summary = f"delivery {delivery_id} ({result['channel']}): {VERBS[action]}, " \
              f"now {result['state']}"
    if wants_json(request):
        return json_response({"ok": True, "message": summary, "id": result["id"],
                              "state": result["state"], "text": result["text"],
                              "override": result["override"]})
    response = redirect(back)
    ctx.flash(response, summary)
    return response


async def channel_action(request: web.Request) -> web.StreamResponse:
    """POST /channels/{id}/pause|resume (admins only)."""
    require_admin(request)
    ctx = context(request)
    user = current_user(request)
    channel_id = request.match_info["channel_id"]
    action = request.match_info["action"]
    form = await request.post()
    try:
        if action == "pause":
            reason = _field(form, "reason").strip()[:500] or None
            await ctx.run(ctx.desk.pause, channel_id, user.name, reason)
            message = f"channel {channel_id}: paused (posts wait in the queue)"
        elif action == "resume":
            requeued = await ctx.run(ctx.desk.resume, channel_id, user.name)
            message = f"channel {channel_id}: resumed" + (
                f"; {requeued} post(s) queued again" if requeued else "")
        else:
            raise web.HTTPNotFound(text=f"404: no action {action!r}\n")
    except LookupError as exc:
        raise web.HTTPNotFound(text=f"404: {str(exc).strip(chr(39))}\n") from None
    if wants_json(request):
        return json_response({"ok": True, "message": message})
    response = redirect(safe_next(_field(form, "back") or "/health"))
    ctx.flash(response, message)
    return response
