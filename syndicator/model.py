"""Value types that flow between the core and the adapters."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class DeliveryState(enum.StrEnum):
    """Where one post stands on one channel; the same words in the database, JSON and logs."""

    HELD = "held"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    UNCERTAIN = "uncertain"

    @property
    def terminal(self) -> bool:
        return self in (DeliveryState.SENT, DeliveryState.FAILED, DeliveryState.SKIPPED)


OPEN_STATES = (
    DeliveryState.HELD,
    DeliveryState.SCHEDULED,
    DeliveryState.SENDING,
    DeliveryState.UNCERTAIN,
)


@dataclass(frozen=True, slots=True)
class Post:
    """A feed entry, normalised: what the composer and the router see."""

    feed_id: str
    key: str
    link: str | None
    title: str
    summary: str = ""
    content: str = ""
    image: str | None = None
    author: str | None = None
    categories: tuple[str, ...] = ()
    language: str | None = None
    published: datetime | None = None


@dataclass(frozen=True, slots=True)
class Message:
    """What one adapter publishes for one delivery: already composed and fitted."""

    delivery_id: int
    text: str
    link: str | None = None
    image: str | None = None
    title: str = ""
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Receipt:
    """Proof that the platform holds the post."""

    remote_id: str
    url: str | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class Account:
    """Who an adapter posts as, as the platform reports it (for `syndicator check`)."""

    id: str
    name: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Limits:
    """How much a platform accepts and how it counts: read by the composer, not if-chains.

    ``counting`` names the length rule: ``"utf16"`` (Telegram, after entity parsing),
    ``"x-weighted"`` (twitter-text v3), ``"chars"`` (code points).
    """

    max_length: int
    counting: str = "chars"
    caption_length: int | None = None
    parse_mode: str | None = None
    media: bool = False
    min_interval: float = 0.0
