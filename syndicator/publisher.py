"""Claims due deliveries, publishes each through its channel's adapter, records the outcome.

One post in flight per channel, oldest first; the retry policy lives here and nowhere else.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from syndicator.adapters.base import Adapter
from syndicator.clock import Clock, from_db
from syndicator.config import ChannelBase, RetryPolicy, Settings
from syndicator.durations import format_duration
from syndicator.errors import (
    AuthError,
    DuplicateError,
    PermanentError,
    PublishError,
    RateLimited,
    UncertainError,
)
from syndicator.model import DeliveryState, Limits, Message, Receipt
from syndicator.schedule import earliest_slot
from syndicator.secrets import redact
from syndicator.store.records import Claimed
from syndicator.store.store import Store

log = logging.getLogger("syndicator.publisher")

LEASE = timedelta(minutes=5)


def backoff(policy: RetryPolicy, attempt: int, rng: random.Random) -> timedelta:
    """Exponential backoff, capped, with jitter: a random 50-100% of the step."""
    step = policy.base_delay.total_seconds() * (2 ** max(0, attempt - 1))
    step = min(step, policy.max_delay.total_seconds())
    return timedelta(seconds=step * rng.uniform(0.5, 1.0))


@dataclass(frozen=True, slots=True)
class ChannelGate:
    """Why a channel is not publishing right now, and until when."""

    until: datetime | None
    reason: str


def channel_gate(store: Store, channel: ChannelBase, now: datetime, limits: Limits
                 ) -> ChannelGate | None:
    """None if the channel may post now, else until when it waits (None: paused) and why:
    a pause, a platform's rate limit or error backoff, or the schedule and pacing."""
    state = store.channel_state(channel.id)
    if state.paused:
        return ChannelGate(None, f"paused: {state.paused_reason or 'by an admin'}")
    sent = store.sent_since(channel.id, now - timedelta(hours=48))
    slot = earliest_slot(channel.schedule, now, sent, min_interval=limits.min_interval)
    blocked = from_db(state.blocked_until)
    if blocked is not None and blocked > max(slot, now):
        return ChannelGate(blocked, "waiting out a rate limit or error")
    if slot > now:
        return ChannelGate(slot, "schedule (spacing, daily cap or quiet hours)")
    return None


class Publisher:
    """Moves deliveries from scheduled to sent (or failed, or uncertain)."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        adapters: Mapping[str, Adapter],
        clock: Clock,
        *,
        owner: str,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.adapters = dict(adapters)
        self.clock = clock
        self.owner = owner
        self.rng = rng or random.Random()
        self.in_flight: dict[str, asyncio.Task[None]] = {}
        self.stats: Counter[str] = Counter()
        # Holding the database alone (the daemon lock), every 'sending' row is an orphan.
        self.exclusive = store.is_sqlite

    # -- the loop ------------------------------------------------------------------------

    def gate(self, channel: ChannelBase, now: datetime, due_id: int | None = None
             ) -> ChannelGate | None:
        """None if the channel may publish now, else until when it waits and why."""
        if channel.id not in self.adapters:
            return ChannelGate(None, "no adapter (see `syndicator check`)")
        gate = channel_gate(self.store, channel, now, self.adapters[channel.id].limits)
        if gate is not None:
            return gate
        if due_id is not None and self.over_budget(channel, due_id, now):
            return ChannelGate(next_month(now), "monthly budget reached")
        return None

    def price(self, channel: ChannelBase, text: str) -> float | None:
        """What one post costs on a billed channel; a post with a URL costs more on X."""
        if channel.budget is None:
            return None
        with_link = bool(_URL.search(text))
        return (channel.budget.price_per_post_with_link if with_link
                else channel.budget.price_per_post)

    def over_budget(self, channel: ChannelBase, delivery_id: int, now: datetime) -> bool:
        """True (and the delivery says why) when posting it would pass the monthly budget."""
        budget = channel.budget
        if budget is None:
            return False
        price = self.price(channel, self.store.delivery_text(delivery_id)) or 0.0
        spent = self.store.spend_since(channel.id, month_start(now))
        if spent + price <= budget.per_month + 1e-9:
            return False
        reason = (f"waiting for next month's budget: ${spent:.2f} of ${budget.per_month:.2f} "
                  f"spent this month, this post costs ${price:.3f}")
        self.store.annotate(delivery_id, reason=reason, kind="budget")
        log.info("channel %s: %s", channel.id, reason)
        return True

    async def tick(self) -> int:
        """Start publishing the next due delivery of every idle channel; returns how many."""
        now = self.clock.now()
        started = 0
        for channel in self.settings.channels:
            if channel.approval == "required" and channel.auto_approve_after is not None:
                released = self.store.auto_approve(channel.id, now - channel.auto_approve_after)
                if released:
                    log.info("channel %s: %d held post(s) approved automatically after %s",
                             channel.id, len(released), format_duration(
                                 channel.auto_approve_after))
            task = self.in_flight.get(channel.id)
            if task is not None and not task.done():
                continue
            due = self.store.next_due(channel.id, now)
            if due is None or due[1] > now:
                continue
            if self.gate(channel, now, due[0]) is not None:
                continue
            claimed = self.store.claim(due[0], self.owner, LEASE, attempt=True)
            if claimed is None:
                continue
            started += 1
            self.in_flight[channel.id] = asyncio.create_task(
                self.publish(channel, claimed), name=f"publish-{claimed.id}")
        return started

    def next_wakeup(self) -> datetime | None:
        """The earliest moment any channel could publish again (for `poll --once`)."""
        now = self.clock.now()
        times: list[datetime] = []
        for channel in self.settings.channels:
            due = self.store.next_due(channel.id, now)
            if due is None:
                continue
            gate = self.gate(channel, now, due[0])
            if gate is not None and gate.until is None:
                continue
            times.append(max(due[1], gate.until if gate and gate.until else due[1]))
        return min(times) if times else None

    async def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait for in-flight publishes; True if all finished in time."""
        tasks = [t for t in self.in_flight.values() if not t.done()]
        if not tasks:
            return True
        done, pending = await asyncio.wait(tasks, timeout=timeout)
        return not pending

    async def stop(self, grace: float) -> None:
        """Let in-flight publishes finish for ``grace`` seconds; mark the rest uncertain."""
        if await self.wait_idle(grace):
            return
        for task in self.in_flight.values():
            task.cancel()
        await asyncio.gather(*self.in_flight.values(), return_exceptions=True)

    # -- one delivery --------------------------------------------------------------------

    async def publish(self, channel: ChannelBase, claimed: Claimed) -> None:
        adapter = self.adapters[channel.id]
        message = self.message(claimed)
        attempt = claimed.attempt_id
        label = f"delivery {claimed.id} ({channel.id}: {_short(message.title)})"
        try:
            receipt = await adapter.publish(message)
        except asyncio.CancelledError:
            if adapter.can_look_up:  # left 'sending': the next start searches the platform
                log.warning("%s: stopped while in flight; it is looked up on the next start",
                            label)
            else:
                self._uncertain(claimed, attempt,
                                "the daemon stopped while the request was in flight")
            raise
        except PublishError as exc:
            await self._failed(channel, adapter, claimed, attempt, exc, label)
        except Exception as exc:  # a bug in an adapter: never retry blindly, hold for a person
            log.exception("%s: unexpected error in the %s adapter", label, channel.platform)
            self._uncertain(claimed, attempt, f"unexpected error: {exc!r}")
        else:
            self._sent(channel, claimed, attempt, receipt, label)

    def message(self, claimed: Claimed) -> Message:
        post = claimed.post
        return Message(delivery_id=claimed.id, text=claimed.text, link=post.get("link"),
                       image=post.get("image"), title=post.get("title") or "",
                       language=post.get("language"))

    def _sent(self, channel: ChannelBase, claimed: Claimed, attempt: int | None,
              receipt: Receipt, label: str, outcome: str = "sent") -> None:
        self.stats["sent"] += 1
        cost = self.price(channel, claimed.text) if outcome in ("sent", "found") else None
        self.store.finish(claimed.id, attempt, state=DeliveryState.SENT, outcome=outcome,
                          remote_id=receipt.remote_id, remote_url=receipt.url,
                          note=receipt.note or None, cost=cost,
                          channel={"last_success_at": self.clock.now(), "blocked_until": None})
        log.info("%s: sent %s%s", label, _short(receipt.url or receipt.remote_id, 100),
                 f" ({receipt.note})" if receipt.note else "")

    def _uncertain(self, claimed: Claimed, attempt: int | None, reason: str) -> None:
        """Hold a delivery whose outcome nobody knows, for an editor to check."""
        self.stats["uncertain"] += 1
        self.store.finish(claimed.id, attempt, state=DeliveryState.UNCERTAIN,
                          outcome="uncertain", error=redact(reason), error_kind="uncertain",
                          count_attempt=attempt is not None)
        log.warning("delivery %s (%s): outcome unknown, held for an editor: %s "
                    "(check the channel, then `syndicator retry %s` or `syndicator skip %s`)",
                    claimed.id, claimed.channel_id, redact(reason), claimed.id, claimed.id)

    async def _failed(self, channel: ChannelBase, adapter: Adapter, claimed: Claimed,
                      attempt: int | None, exc: PublishError, label: str) -> None:
        now = self.clock.now()
        reason = redact(str(exc))
        policy = self.settings.retry_for(channel)
        common: dict[str, Any] = {"error": reason, "error_kind": exc.kind,
                                  "http_status": exc.status}
        if isinstance(exc, PermanentError) and not isinstance(exc, DuplicateError):
            self.stats["failed"] += 1
        if isinstance(exc, DuplicateError):
            receipt = Receipt(remote_id="",
                              note=f"platform reports it is already posted: {reason}")
            self._sent(channel, claimed, attempt, receipt, label, outcome="duplicate")
        elif isinstance(exc, RateLimited):
            wait = timedelta(seconds=exc.retry_after + self.rng.uniform(0, 1))
            until = now + wait
            self.store.finish(claimed.id, attempt, state=DeliveryState.SCHEDULED,
                              outcome="rate_limited", retry_after=exc.retry_after,
                              next_attempt_at=until, count_attempt=False, **common,
                              channel={"blocked_until": until, "last_error": reason,
                                       "last_error_at": now})
            log.warning("%s: rate-limited by %s, next try in %.0fs", label, channel.platform,
                        wait.total_seconds())
        elif isinstance(exc, AuthError):
            self.store.finish(claimed.id, attempt, state=DeliveryState.FAILED,
                              outcome="failed", **common,
                              channel={"paused": True, "paused_reason": reason,
                                       "last_error": reason, "last_error_at": now})
            log.error("%s: failed: %s. Channel %s is paused; fix its credentials or settings, "
                      "then `syndicator resume %s` (this post is retried then)",
                      label, reason, channel.id, channel.id)
        elif isinstance(exc, PermanentError):
            self.store.finish(claimed.id, attempt, state=DeliveryState.FAILED,
                              outcome="failed", **common,
                              channel={"last_error": reason, "last_error_at": now})
            log.error("%s: failed: %s", label, reason)
        elif isinstance(exc, UncertainError):
            found = await self._find(adapter, claimed)
            # A platform we can search (X, Facebook) answered "not there": send it once more.
            # Without a lookup (Telegram) the channel's on_uncertain decides.
            retry = adapter.can_look_up or channel.on_uncertain == "retry"
            if found is not None:
                self._sent(channel, claimed, attempt, found, label, outcome="found")
            elif retry and claimed.error_kind != "uncertain":
                self.store.finish(claimed.id, attempt, state=DeliveryState.SCHEDULED,
                                  outcome="uncertain", next_attempt_at=now, **common)
                log.warning("%s: no answer (%s); not found on the platform, retrying once",
                            label, reason)
            else:
                self._uncertain(claimed, attempt, reason)
        else:  # TransientError, and any other typed error: retry with backoff
            attempts = claimed.attempts + 1
            if attempts >= policy.max_attempts:
                self.stats["failed"] += 1
                self.store.finish(claimed.id, attempt, state=DeliveryState.FAILED,
                                  outcome="failed", **{**common, "error": (
                                      f"gave up after {attempts} attempts: {reason}")})
                log.error("%s: failed after %d attempts: %s (`syndicator retry %s` to try "
                          "again)", label, attempts, reason, claimed.id)
            else:
                until = now + backoff(policy, attempts, self.rng)
                self.store.finish(claimed.id, attempt, state=DeliveryState.SCHEDULED,
                                  outcome="transient", next_attempt_at=until, **common,
                                  channel={"blocked_until": until, "last_error": reason,
                                           "last_error_at": now})
                log.warning("%s: %s; attempt %d of %d, next in %.0fs", label, reason, attempts,
                            policy.max_attempts, (until - now).total_seconds())

    async def _find(self, adapter: Adapter, claimed: Claimed) -> Receipt | None:
        try:
            return await adapter.find_existing(self.message(claimed))
        except PublishError as exc:
            log.warning("delivery %s: could not look for it on %s: %s", claimed.id,
                        adapter.platform, redact(str(exc)))
            return None

    # -- recovery ------------------------------------------------------------------------

    async def recover(self) -> int:
        """Settle deliveries a killed process left in 'sending', as any uncertain outcome:
        found on the platform, sent once more where it can be searched, else held. Returns
        how many are now held for an editor."""
        ids = self.store.expired_claims(self.clock.now(), owner=self.owner,
                                        every=self.exclusive)
        held = self.stats["uncertain"]
        for delivery_id in ids:
            claimed = self.store.claimed(delivery_id)
            if claimed is None:
                continue
            channel = next((c for c in self.settings.channels if c.id == claimed.channel_id),
                           None)
            adapter = self.adapters.get(claimed.channel_id)
            reason = "the process stopped while publishing; it may or may not have been posted"
            attempt = self.store.open_attempt(delivery_id)
            if channel is None or adapter is None:
                self._uncertain(claimed, attempt, reason)
                continue
            log.warning("delivery %s (%s) was interrupted while publishing", delivery_id,
                        channel.id)
            await self._failed(channel, adapter, claimed, attempt, UncertainError(reason),
                               f"delivery {delivery_id} ({channel.id})")
        return self.stats["uncertain"] - held


_URL = re.compile(r"https?://|\bwww\.", re.I)


def month_start(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(moment: datetime) -> datetime:
    start = month_start(moment)
    return (start + timedelta(days=32)).replace(day=1)


def _short(text: str, size: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1] + "…"
