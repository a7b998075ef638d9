"""The editors' desk: every action an editor or admin takes, shared by the CLI and dashboard.

An override is checked with the platform's own rules before it is accepted; the template
text is kept, so reverting is one action; every action records who did it and when.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from syndicator import adapters
from syndicator.clock import Clock, SystemClock
from syndicator.config import ChannelBase, Settings
from syndicator.model import DeliveryState
from syndicator.store.store import Store

EDITABLE = ("held", "scheduled", "uncertain", "failed")


class EditRefused(ValueError):
    """The platform would refuse this text; ``problems`` says why, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class TextCheck:
    """A text measured by the platform's own rule, for live counters."""

    length: int
    limit: int
    counting: str
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


class Desk:
    def __init__(self, store: Store, settings: Settings, clock: Clock | None = None) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock or SystemClock()

    def channel(self, channel_id: str) -> ChannelBase:
        for channel in self.settings.channels:
            if channel.id == channel_id:
                return channel
        raise LookupError(f"channel {channel_id!r} is not in the config any more")

    def check_text(self, channel_id: str, text: str) -> TextCheck:
        adapter = adapters.load(self.channel(channel_id).platform)
        return TextCheck(length=adapter.measure(text), limit=adapter.limits.max_length,
                         counting=adapter.limits.counting,
                         problems=tuple(adapter.problems(text)))

    def _delivery(self, delivery_id: int) -> dict[str, Any]:
        found = self.store.delivery(delivery_id)
        if found is None:
            raise LookupError(f"no delivery {delivery_id} (see `syndicator queue`)")
        return found

    def edit(self, delivery_id: int, text: str, actor: str) -> dict[str, Any]:
        """Replace one delivery's text; refused with the platform's reason if it would fail."""
        delivery = self._delivery(delivery_id)
        if delivery["state"] in ("sent", "sending", "skipped"):
            raise ValueError(f"delivery {delivery_id} is {delivery['state']}: it cannot be "
                             "edited any more")
        text = text.strip("\n")
        check = self.check_text(delivery["channel"], text)
        if not check.ok:
            raise EditRefused(list(check.problems))
        return self.store.change(delivery_id, allowed=EDITABLE, actor=actor, action="edit",
                                 refusal="it cannot be edited any more", detail=text,
                                 override_text=text, override_by=actor,
                                 override_at=self.clock.now())

    def revert(self, delivery_id: int, actor: str) -> dict[str, Any]:
        """Go back to the template's text."""
        return self.store.change(delivery_id, allowed=EDITABLE, actor=actor, action="revert",
                                 refusal="it cannot be edited any more", override_text=None,
                                 override_by=None, override_at=None)

    def approve(self, delivery_id: int, actor: str) -> dict[str, Any]:
        delivery = self._delivery(delivery_id)
        not_before = delivery["not_before"]
        now = self.clock.now()
        return self.store.change(delivery_id, allowed=("held",), actor=actor, action="approve",
                                 refusal="only held posts wait for approval",
                                 state=DeliveryState.SCHEDULED.value,
                                 next_attempt_at=max(not_before, now) if not_before else now)

    def hold(self, delivery_id: int, actor: str) -> dict[str, Any]:
        return self.store.change(delivery_id, allowed=("scheduled", "uncertain", "failed"),
                                 actor=actor, action="hold", refusal="it cannot be held",
                                 state=DeliveryState.HELD.value)

    def skip(self, delivery_id: int, actor: str) -> dict[str, Any]:
        return self.store.change(delivery_id, allowed=EDITABLE, actor=actor, action="skip",
                                 refusal="it cannot be skipped",
                                 state=DeliveryState.SKIPPED.value, note=f"skipped by {actor}")

    def retry(self, delivery_id: int, actor: str) -> dict[str, Any]:
        now = self.clock.now()
        return self.store.change(delivery_id, allowed=("failed", "uncertain", "skipped"),
                                 actor=actor, action="retry",
                                 refusal="only failed, uncertain or skipped posts are retried",
                                 state=DeliveryState.SCHEDULED.value, attempts=0,
                                 next_attempt_at=now, not_before=now)

    def reschedule(self, delivery_id: int, at: datetime, actor: str) -> dict[str, Any]:
        """Move a waiting post to ``at`` (a held post still needs its approval)."""
        return self.store.change(delivery_id, allowed=("scheduled", "held"), actor=actor,
                                 action="reschedule", refusal="only waiting posts move",
                                 detail=at.isoformat(), next_attempt_at=at, not_before=at)

    def pause(self, channel_id: str, actor: str, reason: str | None = None) -> None:
        self.channel(channel_id)
        self.store.update_channel(channel_id, paused=True,
                                  paused_reason=reason or f"paused by {actor}")
        self.store.record_event(actor=actor, action="pause", channel_id=channel_id,
                                detail=reason)

    def resume(self, channel_id: str, actor: str) -> int:
        """Resume a channel; the posts that failed for the pausing reason go again."""
        self.channel(channel_id)
        state = self.store.channel_state(channel_id)
        requeued = self.store.requeue_auth_failures(channel_id, None) if state.paused else 0
        self.store.update_channel(channel_id, paused=False, paused_reason=None,
                                  blocked_until=None)
        self.store.record_event(actor=actor, action="resume", channel_id=channel_id,
                                detail=f"{requeued} re-queued" if requeued else None)
        return requeued
