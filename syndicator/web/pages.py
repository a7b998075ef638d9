"""The dashboard's pages: queue, one post on every channel, history, health. Reads only."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from syndicator.desk import EDITABLE
from syndicator.model import OPEN_STATES
from syndicator.status import status_data
from syndicator.web import charts, queries
from syndicator.web.context import Context, context, current_user
from syndicator.web.problems import config_problems

QUEUE_STATES = ("held", "scheduled", "sending", "uncertain", "failed", "sent")
FAILED_SHOWN = 20
SENT_SHOWN = 10


def queue_data(ctx: Context) -> dict[str, Any]:
    """Each channel's deliveries grouped by state, and the WhatsApp links to share."""
    states = ctx.store.channel_states()
    channels = []
    shares: list[tuple[str, dict[str, Any]]] = []
    for channel in ctx.config.settings.channels:
        groups: dict[str, list[dict[str, Any]]] = {s: [] for s in QUEUE_STATES}
        for delivery in ctx.store.queue(channel.id):
            groups[delivery["state"]].append(delivery)
        groups["failed"] = ctx.store.deliveries(states=["failed"], channel=channel.id,
                                                limit=FAILED_SHOWN, newest_first=True)
        groups["sent"] = ctx.store.deliveries(states=["sent"], channel=channel.id,
                                              limit=SENT_SHOWN, newest_first=True)
        if channel.platform == "whatsapp":
            shares.extend((channel.id, d) for d in groups["sent"] if d["remote_url"])
        channels.append({"config": channel, "state": states.get(channel.id), "groups": groups,
                         "waiting": sum(len(groups[s.value]) for s in OPEN_STATES)})
    return {"channels": channels, "shares": shares, "version": queries.version(ctx.store),
            "states": QUEUE_STATES}


async def queue_page(request: web.Request) -> web.Response:
    ctx = context(request)
    data = await ctx.run(queue_data, ctx)
    if request.query.get("fragment") == "1":
        return ctx.render(request, "_queue.html", **data)
    return ctx.render(request, "queue.html", **data)


def post_data(ctx: Context, post_id: int) -> dict[str, Any] | None:
    """A post and, per channel, its text measured by that platform's rules."""
    post = ctx.store.post(post_id)
    if post is None:
        return None
    cards = []
    for delivery in queries.post_deliveries(ctx.store, post_id):
        try:
            channel = ctx.desk.channel(delivery["channel"])
            check = ctx.desk.check_text(channel.id, delivery["text"])
        except LookupError:
            channel, check = None, None
        cards.append({
            "delivery": delivery, "channel": channel, "check": check,
            "editable": delivery["state"] in EDITABLE and channel is not None,
            "attempts": ctx.store.attempts(delivery_id=delivery["id"], limit=20),
            "events": ctx.store.events(delivery_id=delivery["id"], limit=20),
        })
    return {"post": post, "cards": cards, "version": queries.version(ctx.store)}


async def render_post(request: web.Request, post_id: int, *, status: int = 200,
                      drafts: dict[int, str] | None = None,
                      refusals: dict[int, list[str]] | None = None) -> web.Response:
    ctx = context(request)
    data = await ctx.run(post_data, ctx, post_id)
    if data is None:
        raise web.HTTPNotFound(text=f"404: no post {post_id}\n")
    return ctx.render(request, "post.html", status=status, drafts=drafts or {},
                      refusals=refusals or {}, **data)


async def post_page(request: web.Request) -> web.Response:
    return await render_post(request, int(request.match_info["post_id"]))


async def delivery_page(request: web.Request) -> web.Response:
    """``/deliveries/ID``: the post page, scrolled to that channel."""
    ctx = context(request)
    delivery_id = int(request.match_info["delivery_id"])
    delivery = await ctx.run(ctx.store.delivery, delivery_id)
    if delivery is None:
        raise web.HTTPNotFound(text=f"404: no delivery {delivery_id}\n")
    raise web.HTTPSeeOther(f"/posts/{delivery['post']['id']}#d{delivery_id}")


async def history_page(request: web.Request) -> web.Response:
    ctx = context(request)
    channel = request.query.get("channel") or None
    delivery = request.query.get("delivery", "")
    delivery_id = int(delivery) if delivery.isdigit() else None
    attempts = await ctx.run(ctx.store.attempts, channel=channel, delivery_id=delivery_id,
                             limit=200)
    events = await ctx.run(ctx.store.events, delivery_id=delivery_id, limit=100)
    return ctx.render(request, "history.html", attempts=attempts, events=events,
                      channel=channel or "", delivery=delivery_id,
                      channel_ids=[c.id for c in ctx.config.settings.channels])


def health_data(ctx: Context) -> dict[str, Any]:
    ids = [c.id for c in ctx.config.settings.channels]
    now = ctx.now()
    daily = queries.daily(ctx.store, ids, now)
    status = status_data(ctx.config, ctx.store, now)
    return {
        "health": status,
        "sent_chart": charts.stacked_bars("Deliveries sent per day (UTC)", daily.days,
                                          daily.sent),
        "failed_chart": charts.stacked_bars("Failed attempts per day (UTC)", daily.days,
                                            daily.failed, css_class="chart failures"),
    }


async def health_page(request: web.Request) -> web.Response:
    ctx = context(request)
    data = await ctx.run(health_data, ctx)
    problems = config_problems(ctx.config, ctx.options) if current_user(request).is_admin \
        else []
    return ctx.render(request, "health.html", problems=problems, **data)
