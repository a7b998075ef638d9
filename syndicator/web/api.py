"""Small JSON endpoints the pages' scripts call: live text counter, change detection, queue."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from syndicator.web import queries
from syndicator.web.context import context, json_response

MAX_CHECK = 100_000


async def check_text(request: web.Request) -> web.Response:
    """Measure a text by the platform's own rule, as an edit would be checked.

    POST ``{"delivery": ID, "text": ...}`` or ``{"channel": ID, "text": ...}``; the answer
    has the length, limit, counting rule and problems.
    """
    ctx = context(request)
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return json_response({"error": "expected a JSON body"}, status=400)
    if not isinstance(body, dict) or not isinstance(body.get("text"), str):
        return json_response({"error": "expected {\"delivery\": ID, \"text\": \"...\"}"},
                             status=400)
    text: str = body["text"].replace("\r\n", "\n").strip("\n")
    if len(text) > MAX_CHECK:
        return json_response({"error": "text too large"}, status=413)
    channel = body.get("channel")
    if isinstance(body.get("delivery"), int):
        delivery = await ctx.run(ctx.store.delivery, body["delivery"])
        if delivery is None:
            return json_response({"error": f"no delivery {body['delivery']}"}, status=404)
        channel = delivery["channel"]
    if not isinstance(channel, str):
        return json_response({"error": "say which delivery or channel"}, status=400)
    try:
        check = ctx.desk.check_text(channel, text)
    except LookupError as exc:
        return json_response({"error": str(exc)}, status=404)
    return json_response({"length": check.length, "limit": check.limit,
                          "counting": check.counting, "problems": list(check.problems),
                          "ok": check.ok})


async def version(request: web.Request) -> web.Response:
    """GET: a token that changes whenever a delivery is added or moves (pages poll it)."""
    ctx = context(request)
    return json_response({"version": await ctx.run(queries.version, ctx.store)})


def _public(d: dict[str, Any]) -> dict[str, Any]:
    post = d["post"]
    return {"id": d["id"], "channel": d["channel"], "state": d["state"], "text": d["text"],
            "override": d["override"], "attempts": d["attempts"],
            "next_attempt_at": d["next_attempt_at"], "last_error": d["last_error"],
            "remote_url": d["remote_url"], "created_at": d["created_at"],
            "post": {k: post[k] for k in ("id", "feed_id", "title", "link", "language")}}


async def queue(request: web.Request) -> web.Response:
    """GET: open deliveries (held, scheduled, sending, uncertain) with the change token."""
    ctx = context(request)

    def read() -> dict[str, Any]:
        return {"version": queries.version(ctx.store),
                "deliveries": [_public(d) for d in ctx.store.queue()]}

    return json_response(await ctx.run(read))
