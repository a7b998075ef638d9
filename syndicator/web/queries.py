"""Read-only questions the dashboard asks that the Store's public methods do not answer.

They read the same tables as the CLI through the store's own sessions, and write nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from syndicator.clock import from_db, to_db
from syndicator.store.schema import AttemptRow, DeliveryRow
from syndicator.store.store import Store

#: Attempt outcomes that count as failures on the chart ("sent", "duplicate" and "found"
#: mean the platform holds the post; "started" is an attempt still in flight).
FAILED_OUTCOMES = frozenset({"failed", "uncertain", "transient", "rate_limited"})


def post_deliveries(store: Store, post_id: int) -> list[dict[str, Any]]:
    """Every channel's delivery of one post, in channel order."""
    with store.session() as s:
        ids = list(s.scalars(select(DeliveryRow.id).where(DeliveryRow.post_id == post_id)
                            .order_by(DeliveryRow.channel_id, DeliveryRow.id)))
    found = (store.delivery(i) for i in ids)
    return [d for d in found if d is not None]


def version(store: Store) -> str:
    """A fingerprint of the deliveries table that changes whenever a row is added or moves."""
    with store.session() as s:
        count, top, changed = s.execute(select(
            func.count(DeliveryRow.id), func.max(DeliveryRow.id),
            func.max(DeliveryRow.updated_at))).one()
    moment = from_db(changed)
    return f"{count}-{top or 0}-{moment.timestamp() if moment else 0:.6f}"


@dataclass(frozen=True, slots=True)
class Daily:
    """Counts per channel per UTC day, oldest day first."""

    days: tuple[date, ...]
    sent: dict[str, tuple[int, ...]]
    failed: dict[str, tuple[int, ...]]


def daily(store: Store, channels: list[str], now: datetime, days: int = 14) -> Daily:
    """Deliveries sent and attempts that failed, per channel and UTC day, for ``days`` days.

    Buckets are made here rather than in SQL so SQLite and PostgreSQL agree on day edges.
    """
    first = (now - timedelta(days=days - 1)).date()
    since = to_db(datetime(first.year, first.month, first.day, tzinfo=now.tzinfo))
    span = tuple(first + timedelta(days=i) for i in range(days))
    sent: Counter[tuple[str, date]] = Counter()
    failed: Counter[tuple[str, date]] = Counter()
    with store.session() as s:
        for channel, moment in s.execute(select(DeliveryRow.channel_id, DeliveryRow.sent_at)
                                         .where(DeliveryRow.sent_at >= since)):
            if moment is not None:
                sent[channel, moment.date()] += 1
        for channel, moment, outcome in s.execute(
                select(AttemptRow.channel_id, AttemptRow.started_at, AttemptRow.outcome)
                .where(AttemptRow.started_at >= since)):
            if outcome in FAILED_OUTCOMES:
                failed[channel, moment.date()] += 1
    return Daily(days=span,
                 sent={c: tuple(sent[c, d] for d in span) for c in channels},
                 failed={c: tuple(failed[c, d] for d in span) for c in channels})
