"""Health of every feed and channel, as `syndicator status` and the dashboard show it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from syndicator import adapters
from syndicator.clock import from_db
from syndicator.config import ChannelBase, LoadedConfig
from syndicator.publisher import channel_gate, month_start
from syndicator.store.store import Store


def _next_post(store: Store, channel: ChannelBase, now: datetime) -> datetime | None:
    """When the channel's next post should go, by the publisher's own rules (None: nothing
    queued, or paused)."""
    due = store.next_due(channel.id, now)
    if due is None:
        return None
    gate = channel_gate(store, channel, now, adapters.load(channel.platform).limits)
    if gate is None:
        return due[1]
    return max(due[1], gate.until) if gate.until is not None else None


def _future(moment: datetime | None, now: datetime) -> datetime | None:
    return moment if moment is not None and moment > now else None


def status_data(config: LoadedConfig, store: Store, now: datetime) -> dict[str, Any]:
    """Each feed and channel: last success, errors, paused and why, waits, spend."""
    feeds = store.feed_states()
    channels = store.channel_states()
    counts = store.counts()
    out: dict[str, Any] = {"storage": store.engine.url.render_as_string(hide_password=True),
                           "feeds": [], "channels": []}
    for feed in config.settings.feeds:
        st = feeds.get(feed.id)
        out["feeds"].append({
            "id": feed.id, "url": feed.url, "poll_interval": feed.poll_interval.total_seconds(),
            "last_polled_at": from_db(st.last_polled_at) if st else None,
            "last_success_at": from_db(st.last_success_at) if st else None,
            "errors": st.error_count if st else 0,
            "last_error": st.last_error if st else None,
            "next_poll_at": from_db(st.next_poll_at) if st else None,
        })
    for channel in config.settings.channels:
        ch = channels.get(channel.id)
        out["channels"].append({
            "id": channel.id, "platform": channel.platform, "enabled": channel.enabled,
            "paused": bool(ch and ch.paused), "paused_reason": ch.paused_reason if ch else None,
            "last_success_at": from_db(ch.last_success_at) if ch else None,
            "last_error": ch.last_error if ch else None,
            "last_error_at": from_db(ch.last_error_at) if ch else None,
            "blocked_until": _future(from_db(ch.blocked_until) if ch else None, now),
            "deliveries": counts.get(channel.id, {}),
            "next_due_at": _next_post(store, channel, now),
        })
        if channel.budget is not None:
            out["channels"][-1]["budget"] = {
                "per_month": channel.budget.per_month,
                "spent_this_month": round(store.spend_since(channel.id, month_start(now)), 4)}
    return out
