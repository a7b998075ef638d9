"""Health of every feed and channel, as `syndicator status` and the dashboard show it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from syndicator import adapters
from syndicator.clock import from_db
from syndicator.config import ChannelBase, LoadedConfig
from syndicator.publisher import month_start
from syndicator.schedule import earliest_slot
from syndicator.store.schema import ChannelState
from syndicator.store.store import Store


def _next_post(store: Store, channel: ChannelBase, now: datetime,
               state: ChannelState | None) -> datetime | None:
    """When the channel's next post should go: its due time, pushed by the schedule policy,
    the platform's pacing and any rate-limit wait (None: nothing queued, or paused)."""
    due = store.next_due(channel.id, now)
    if due is None or (state is not None and state.paused):
        return None
    sent = store.sent_since(channel.id, now - timedelta(hours=48))
    pacing = adapters.load(channel.platform).limits.min_interval
    times = [due[1], earliest_slot(channel.schedule, now, sent, min_interval=pacing)]
    blocked = from_db(state.blocked_until) if state is not None else None
    if blocked is not None:
        times.append(blocked)
    return max(times)


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
            "blocked_until": from_db(ch.blocked_until) if ch and ch.blocked_until and
            from_db(ch.blocked_until) > now else None,  # type: ignore[operator]
            "deliveries": counts.get(channel.id, {}),
            "next_due_at": _next_post(store, channel, now, ch),
        })
        if channel.budget is not None:
            out["channels"][-1]["budget"] = {
                "per_month": channel.budget.per_month,
                "spent_this_month": round(store.spend_since(channel.id, month_start(now)), 4)}
    return out
