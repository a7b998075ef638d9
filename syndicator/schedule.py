"""A channel's posting policy: delay, spacing, daily cap and quiet hours, in its own time zone.

The policy never drops a post: it only answers "not before when may the next one go".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from syndicator.config import Schedule


def _next_local(moment: datetime, at: time, zone: ZoneInfo) -> datetime:
    """The first instant at or after ``moment`` whose local wall time is ``at``."""
    local = moment.astimezone(zone)
    candidate = datetime.combine(local.date(), at, tzinfo=zone)
    if candidate < local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=zone)
    return candidate.astimezone(moment.tzinfo)


def earliest_slot(
    policy: Schedule,
    now: datetime,
    sent: Sequence[datetime],
    *,
    min_interval: float = 0.0,
) -> datetime:
    """When the channel may publish its next post, given the times of recent posts (ascending).

    ``sent`` must cover at least the last 48 hours for the daily cap to be right.
    ``min_interval`` is the platform's own pacing, applied on top of ``min_spacing``.
    """
    zone = ZoneInfo(policy.timezone)
    spacing = max(policy.min_spacing, timedelta(seconds=min_interval))
    slot = now
    for _ in range(10):  # each rule can only push the slot later; a few rounds settle it
        before = slot
        if sent and spacing:
            slot = max(slot, sent[-1] + spacing)
        if policy.max_per_day:
            local_day = slot.astimezone(zone).date()
            day_start = datetime.combine(local_day, time(0), tzinfo=zone)
            today = [m for m in sent if m >= day_start]
            if len(today) >= policy.max_per_day:
                slot = (day_start + timedelta(days=1)).astimezone(now.tzinfo)
                slot = _next_local(slot, time(0), zone)
        quiet = policy.quiet_hours
        if quiet and quiet.contains(slot.astimezone(zone).time().replace(tzinfo=None)):
            slot = _next_local(slot, quiet.end, zone)
        if slot == before:
            break
    return slot
