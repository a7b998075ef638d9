"""Values going into and out of the store: what the watcher adds, what the publisher claims,
and the plain dicts the CLI and dashboard read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from syndicator.clock import from_db, to_db
from syndicator.model import DeliveryState, Post
from syndicator.store.schema import DeliveryRow, FeedState, PostRow


@dataclass(frozen=True, slots=True)
class NewPost:
    """A post to store, with what the store adds for recognising it again."""

    post: Post
    link_norm: str | None
    title_norm: str | None
    skipped_reason: str | None = None


@dataclass(frozen=True, slots=True)
class NewDelivery:
    channel_id: str
    text: str
    not_before: datetime
    state: DeliveryState = DeliveryState.SCHEDULED
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class PollRecord:
    """The outcome of one poll of one feed."""

    feed_id: str
    url: str
    at: datetime
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    parsed: bool = False
    next_poll_at: datetime | None = None


def apply_poll(state: FeedState, record: PollRecord) -> None:
    at = to_db(record.at)
    state.url = record.url
    state.last_polled_at = at
    state.next_poll_at = to_db(record.next_poll_at)
    if record.error is None:
        state.last_success_at = at
        state.error_count = 0
        state.last_error = None
        if record.etag is not None or record.last_modified is not None:
            state.etag, state.last_modified = record.etag, record.last_modified
        if record.body_hash is not None:
            state.body_hash = record.body_hash
        if record.parsed and state.first_polled_at is None:
            state.first_polled_at = at
    else:
        state.last_error = record.error
        state.last_error_at = at
        state.error_count = (state.error_count or 0) + 1


@dataclass(slots=True)
class Claimed:
    """A delivery the publisher holds a lease on, with what it needs to publish it."""

    id: int
    channel_id: str
    text: str
    attempts: int
    error_kind: str | None
    post: dict[str, Any] = field(default_factory=dict)
    attempt_id: int | None = None


_POST_FIELDS = ("id", "feed_id", "key", "link", "title", "summary", "content", "image",
                "author", "language")


def post_dict(post: PostRow | Mapping[Any, Any]) -> dict[str, Any]:
    """A post as the publisher, CLI and dashboard read it (from an ORM row or a Core row)."""
    def get(name: str) -> Any:
        return post[name] if isinstance(post, Mapping) else getattr(post, name)

    out = {name: get(name) for name in _POST_FIELDS}
    out["categories"] = list(get("categories") or [])
    out["published_at"] = from_db(get("published_at"))
    out["first_seen_at"] = from_db(get("first_seen_at"))
    return out


def delivery_dict(row: DeliveryRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "channel": row.channel_id,
        "state": row.state,
        "text": row.override_text or row.text,
        "template_text": row.text,
        "override": row.override_text is not None,
        "override_by": row.override_by,
        "override_at": from_db(row.override_at),
        "attempts": row.attempts,
        "next_attempt_at": from_db(row.next_attempt_at),
        "not_before": from_db(row.not_before),
        "last_error": row.last_error,
        "error_kind": row.error_kind,
        "remote_id": row.remote_id,
        "remote_url": row.remote_url,
        "note": row.note,
        "created_at": from_db(row.created_at),
        "sent_at": from_db(row.sent_at),
        "cost": row.cost,
        "post": post_dict(row.post),
    }
