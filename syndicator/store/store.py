"""The store: one class over SQLAlchemy that every command and the daemon share.

SQLite (WAL) by default; the same code runs on PostgreSQL. Every method is one short
transaction; times go in and out timezone-aware (UTC) and are stored naive UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from syndicator.clock import Clock, SystemClock, from_db, to_db
from syndicator.model import OPEN_STATES, DeliveryState
from syndicator.store.records import (
    Claimed,
    NewDelivery,
    NewPost,
    PollRecord,
    apply_poll,
    delivery_dict,
    post_dict,
)
from syndicator.store.schema import (
    AttemptRow,
    ChannelState,
    DeliveryRow,
    EventRow,
    FeedState,
    PostRow,
)


class StoreError(Exception):
    """The database cannot be opened or used; the message says which and what to do."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Store:
    """All reads and writes of syndicator's state."""

    def __init__(self, url: str, *, clock: Clock | None = None, engine: Engine | None = None):
        self.url = url
        self.clock = clock or SystemClock()
        try:
            self.engine = engine or create_engine(url, future=True, pool_pre_ping=True)
        except Exception as exc:  # bad URL, missing driver
            raise StoreError(f"storage {url!r}: {exc} (check the storage: key)") from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str, *, clock: Clock | None = None, upgrade: bool = True) -> Store:
        """Open the database and bring its schema up to date."""
        store = cls(url, clock=clock)
        if upgrade:
            store.upgrade()
        return store

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def upgrade(self) -> tuple[str | None, str | None]:
        try:
            from syndicator.store import migrate  # Alembic loads only when it is needed

            return migrate.upgrade(self.engine)
        except OperationalError as exc:
            raise StoreError(
                f"cannot open the database at {self.engine.url.render_as_string()}: "
                f"{exc.orig} (check the storage: key and that the folder is writable)"
            ) from None

    def close(self) -> None:
        self.engine.dispose()

    def _now(self) -> datetime:
        moment = to_db(self.clock.now())
        assert moment is not None
        return moment

    def session(self) -> Session:
        return self._sessions()

    # -- feeds ---------------------------------------------------------------------------

    def feed_state(self, feed_id: str) -> FeedState | None:
        with self.session() as s:
            return s.get(FeedState, feed_id)

    def feed_states(self) -> dict[str, FeedState]:
        with self.session() as s:
            return {f.id: f for f in s.scalars(select(FeedState))}

    def record_polls(self, records: Sequence[PollRecord]) -> None:
        """Remember many polls' outcomes in one transaction (a cycle of 10,000 feeds is mostly
        304s: one commit per feed would cost more than the fetches)."""
        if not records:
            return
        with self.session() as s, s.begin():
            ids = list({r.feed_id for r in records})
            rows = {f.id: f for chunk in _chunks(ids)
                    for f in s.scalars(select(FeedState).where(FeedState.id.in_(chunk)))}
            for record in records:
                state = rows.get(record.feed_id)
                if state is None:
                    state = FeedState(id=record.feed_id, url=record.url, error_count=0)
                    s.add(state)
                    rows[record.feed_id] = state
                apply_poll(state, record)

    def record_poll(self, feed_id: str, url: str, **outcome: Any) -> None:
        """One poll's outcome: validators on success, the error and its count on failure."""
        self.record_polls([PollRecord(feed_id, url, self.clock.now(), **outcome)])

    # -- posts ---------------------------------------------------------------------------

    def seen(
        self,
        feed_id: str,
        *,
        keys: Iterable[str],
        link_norms: Iterable[str],
        title_norms: Iterable[str],
        titles_since: datetime,
    ) -> tuple[set[str], set[str], set[str]]:
        """Which of these keys, normalised links and (recent) titles the feed already has."""
        keys, links, titles = list(set(keys)), list(set(link_norms)), list(set(title_norms))
        found_keys: set[str] = set()
        found_links: set[str] = set()
        found_titles: set[str] = set()
        with self.session() as s:
            for chunk in _chunks(keys):
                found_keys.update(s.scalars(select(PostRow.key).where(
                    PostRow.feed_id == feed_id, PostRow.key.in_(chunk))))
            for chunk in _chunks(links):
                found_links.update(s.scalars(select(PostRow.link_norm).where(
                    PostRow.feed_id == feed_id, PostRow.link_norm.in_(chunk))))
            for chunk in _chunks(titles):
                found_titles.update(s.scalars(select(PostRow.title_norm).where(
                    PostRow.feed_id == feed_id, PostRow.title_norm.in_(chunk),
                    PostRow.first_seen_at >= to_db(titles_since))))
        return found_keys, found_links, found_titles

    def add_post(self, new: NewPost, deliveries: Sequence[NewDelivery]) -> int | None:
        """Insert a post and its deliveries in ONE transaction; None if the post already exists."""
        post = new.post
        now = self._now()
        published = to_db(post.published)
        sort_at = published if published is not None and published <= now else now
        try:
            with self.engine.begin() as conn:  # Core inserts: this runs once per new post
                post_id = conn.execute(insert(PostRow).returning(PostRow.id), {
                    "feed_id": post.feed_id, "key": post.key, "link": post.link,
                    "link_norm": new.link_norm, "title": post.title,
                    "title_norm": new.title_norm, "summary": post.summary,
                    "content": post.content, "image": post.image, "author": post.author,
                    "categories": list(post.categories), "language": post.language,
                    "published_at": published, "first_seen_at": now,
                    "skipped_reason": new.skipped_reason}).scalar_one()
                if deliveries:
                    conn.execute(insert(DeliveryRow), [{
                        "post_id": post_id, "channel_id": d.channel_id,
                        "state": d.state.value, "text": d.text, "sort_at": sort_at,
                        "not_before": to_db(d.not_before) or now,
                        "next_attempt_at": to_db(d.not_before) or now, "attempts": 0,
                        "last_error": d.last_error, "created_at": now, "updated_at": now,
                    } for d in deliveries])
        except IntegrityError:
            return None
        return int(post_id)

    def post(self, post_id: int) -> dict[str, Any] | None:
        with self.session() as s:
            row = s.get(PostRow, post_id)
            return post_dict(row) if row else None

    # -- publishing ----------------------------------------------------------------------

    def channel_state(self, channel_id: str) -> ChannelState:
        with self.session() as s:
            return s.get(ChannelState, channel_id) or ChannelState(
                id=channel_id, paused=False)

    def channel_states(self) -> dict[str, ChannelState]:
        with self.session() as s:
            return {c.id: c for c in s.scalars(select(ChannelState))}

    def update_channel(self, channel_id: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            _update_channel(conn, channel_id, values)

    def next_due(self, channel_id: str, now: datetime) -> tuple[int, datetime] | None:
        """The oldest scheduled delivery of a channel and when it may go (None: nothing queued)."""
        with self.session() as s:
            row = s.execute(
                select(DeliveryRow.id, DeliveryRow.next_attempt_at)
                .where(DeliveryRow.channel_id == channel_id,
                       DeliveryRow.state == DeliveryState.SCHEDULED.value)
                .order_by(DeliveryRow.sort_at, DeliveryRow.id)
                .limit(1)
            ).first()
        if row is None:
            return None
        due = from_db(row[1])
        assert due is not None
        return row[0], due

    def claim(self, delivery_id: int, owner: str, lease: timedelta, *,
              attempt: bool = False) -> Claimed | None:
        """Mark a scheduled delivery as sending, if nobody else got it first; with ``attempt``
        the attempt row is opened in the same transaction."""
        now = self._now()
        with self.engine.begin() as conn:  # Core statements: this runs once per post sent
            claimed = conn.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id == delivery_id,
                       DeliveryRow.state == DeliveryState.SCHEDULED.value)
                .values(state=DeliveryState.SENDING.value, claimed_by=owner,
                        lease_until=now + lease, updated_at=now)
                .returning(DeliveryRow.channel_id, DeliveryRow.text,
                           DeliveryRow.override_text, DeliveryRow.attempts,
                           DeliveryRow.error_kind, DeliveryRow.post_id)
            ).one_or_none()
            if claimed is None:
                return None
            post = conn.execute(select(PostRow.__table__).where(
                PostRow.id == claimed.post_id)).mappings().one()
            attempt_id = None
            if attempt:
                attempt_id = conn.execute(insert(AttemptRow).returning(AttemptRow.id), {
                    "delivery_id": delivery_id, "channel_id": claimed.channel_id,
                    "started_at": now, "outcome": "started"}).scalar_one()
        return Claimed(
            id=delivery_id, channel_id=claimed.channel_id,
            text=claimed.override_text or claimed.text, attempts=claimed.attempts,
            error_kind=claimed.error_kind, post=post_dict(post), attempt_id=attempt_id)

    def start_attempt(self, delivery_id: int, channel_id: str) -> int:
        with self.session() as s, s.begin():
            attempt = AttemptRow(delivery_id=delivery_id, channel_id=channel_id,
                                 started_at=self._now(), outcome="started")
            s.add(attempt)
            s.flush()
            return attempt.id

    def finish(
        self,
        delivery_id: int,
        attempt_id: int | None,
        *,
        state: DeliveryState,
        outcome: str,
        error: str | None = None,
        error_kind: str | None = None,
        http_status: int | None = None,
        retry_after: float | None = None,
        next_attempt_at: datetime | None = None,
        count_attempt: bool = True,
        remote_id: str | None = None,
        remote_url: str | None = None,
        note: str | None = None,
        cost: float | None = None,
        channel: Mapping[str, Any] | None = None,
    ) -> None:
        """Record one attempt's outcome and move the delivery on (and update the channel's
        state with ``channel``), in one transaction."""
        now = self._now()
        values: dict[str, Any] = {"state": state.value, "updated_at": now, "claimed_by": None,
                                  "lease_until": None}
        if count_attempt:
            values["attempts"] = DeliveryRow.attempts + 1
        if error is not None or state == DeliveryState.SENT:
            values.update(last_error=error, error_kind=error_kind)
        if next_attempt_at is not None:
            values["next_attempt_at"] = to_db(next_attempt_at)
        if state == DeliveryState.SENT:
            values.update(sent_at=now, remote_id=remote_id, remote_url=remote_url, cost=cost)
        if note is not None:
            values["note"] = note
        with self.engine.begin() as conn:  # Core statements: this runs once per attempt
            channel_id = conn.execute(update(DeliveryRow).where(DeliveryRow.id == delivery_id)
                                      .values(**values).returning(DeliveryRow.channel_id)
                                      ).scalar_one_or_none()
            if channel_id is None:
                return
            if attempt_id is not None:
                conn.execute(update(AttemptRow).where(AttemptRow.id == attempt_id).values(
                    finished_at=now, outcome=outcome, error=error, http_status=http_status,
                    retry_after=retry_after))
            if channel:
                _update_channel(conn, channel_id, channel)

    def expired_claims(self, now: datetime, owner: str | None = None, *,
                       every: bool = False) -> list[int]:
        """Deliveries left in 'sending' by a process that died (lease past) or by ``owner``.

        ``every``: the caller holds the database alone (the SQLite daemon lock), so every
        'sending' row was left by a process that is gone, whatever its lease says.
        """
        with self.session() as s:
            cond = DeliveryRow.lease_until < to_db(now)
            if owner is not None:
                cond = or_(cond, DeliveryRow.claimed_by == owner)
            if every:
                cond = DeliveryRow.id.is_not(None)
            return list(s.scalars(select(DeliveryRow.id).where(
                DeliveryRow.state == DeliveryState.SENDING.value, cond)))

    def open_attempt(self, delivery_id: int) -> int | None:
        """The attempt a killed process started and never finished, if any."""
        with self.session() as s:
            return s.scalar(select(AttemptRow.id).where(
                AttemptRow.delivery_id == delivery_id, AttemptRow.outcome == "started")
                .order_by(AttemptRow.id.desc()).limit(1))

    def sent_since(self, channel_id: str, since: datetime) -> list[datetime]:
        with self.session() as s:
            rows = s.scalars(select(DeliveryRow.sent_at).where(
                DeliveryRow.channel_id == channel_id,
                DeliveryRow.state == DeliveryState.SENT.value,
                DeliveryRow.sent_at >= to_db(since)).order_by(DeliveryRow.sent_at))
            return [m for m in (from_db(r) for r in rows) if m is not None]

    def spend_since(self, channel_id: str, since: datetime) -> float:
        """What the channel's posts cost since ``since`` (platforms that bill per post)."""
        with self.session() as s:
            total = s.scalar(select(func.sum(DeliveryRow.cost)).where(
                DeliveryRow.channel_id == channel_id, DeliveryRow.sent_at >= to_db(since)))
            return float(total or 0.0)

    def delivery_text(self, delivery_id: int) -> str:
        with self.session() as s:
            row = s.get(DeliveryRow, delivery_id)
            return (row.override_text or row.text) if row else ""

    def annotate(self, delivery_id: int, *, reason: str, kind: str) -> None:
        """Say why a delivery waits, without changing its state (shown by `queue`)."""
        with self.session() as s, s.begin():
            row = s.get(DeliveryRow, delivery_id)
            if row is not None and (row.last_error, row.error_kind) != (reason, kind):
                row.last_error, row.error_kind = reason, kind

    def claimed(self, delivery_id: int) -> Claimed | None:
        """A delivery in the shape the publisher uses (for reconciling held or reaped ones)."""
        with self.session() as s:
            row = s.get(DeliveryRow, delivery_id, options=[selectinload(DeliveryRow.post)])
            if row is None:
                return None
            return Claimed(id=row.id, channel_id=row.channel_id,
                           text=row.override_text or row.text, attempts=row.attempts,
                           error_kind=row.error_kind, post=post_dict(row.post))

    # -- editors and admins --------------------------------------------------------------

    def delivery(self, delivery_id: int) -> dict[str, Any] | None:
        with self.session() as s:
            row = s.get(DeliveryRow, delivery_id, options=[selectinload(DeliveryRow.post)])
            return delivery_dict(row) if row else None

    def deliveries(
        self,
        *,
        states: Sequence[str] | None = None,
        channel: str | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[dict[str, Any]]:
        with self.session() as s:
            query = select(DeliveryRow).options(selectinload(DeliveryRow.post))
            if states:
                query = query.where(DeliveryRow.state.in_(list(states)))
            if channel:
                query = query.where(DeliveryRow.channel_id == channel)
            if newest_first:
                query = query.order_by(DeliveryRow.updated_at.desc(), DeliveryRow.id.desc())
            else:
                query = query.order_by(DeliveryRow.channel_id, DeliveryRow.sort_at,
                                       DeliveryRow.id)
            if limit:
                query = query.limit(limit)
            return [delivery_dict(r) for r in s.scalars(query)]

    def queue(self, channel: str | None = None) -> list[dict[str, Any]]:
        return self.deliveries(states=[s.value for s in OPEN_STATES], channel=channel)

    def attempts(self, *, delivery_id: int | None = None, channel: str | None = None,
                 limit: int = 50) -> list[dict[str, Any]]:
        with self.session() as s:
            query = select(AttemptRow, PostRow.title).join(
                DeliveryRow, DeliveryRow.id == AttemptRow.delivery_id).join(
                PostRow, PostRow.id == DeliveryRow.post_id)
            if delivery_id is not None:
                query = query.where(AttemptRow.delivery_id == delivery_id)
            if channel:
                query = query.where(AttemptRow.channel_id == channel)
            query = query.order_by(AttemptRow.started_at.desc(), AttemptRow.id.desc())
            return [{
                "id": a.id, "delivery_id": a.delivery_id, "channel": a.channel_id,
                "title": title, "started_at": from_db(a.started_at),
                "finished_at": from_db(a.finished_at), "outcome": a.outcome,
                "http_status": a.http_status, "retry_after": a.retry_after, "error": a.error,
            } for a, title in s.execute(query.limit(limit))]

    def change(
        self,
        delivery_id: int,
        *,
        allowed: Sequence[str],
        actor: str,
        action: str,
        detail: str | None = None,
        refusal: str = "cannot {action} it",
        **values: Any,
    ) -> dict[str, Any]:
        """Apply an editor's action to one delivery if its state allows, and record who did it.

        Raises LookupError for an unknown id and ValueError (saying why) for a wrong state.
        """
        now = self._now()
        with self.session() as s, s.begin():
            row = s.get(DeliveryRow, delivery_id)
            if row is None:
                raise LookupError(f"no delivery {delivery_id} (see `syndicator queue`)")
            if row.state not in allowed:
                raise ValueError(f"delivery {delivery_id} is {row.state}: "
                                 + refusal.format(action=action))
            for key, value in values.items():
                setattr(row, key, to_db(value) if isinstance(value, datetime) else value)
            row.updated_at = now
            s.add(EventRow(at=now, actor=actor, action=action, delivery_id=delivery_id,
                           channel_id=row.channel_id, detail=detail))
        result = self.delivery(delivery_id)
        assert result is not None
        return result

    def record_event(self, *, actor: str, action: str, channel_id: str | None = None,
                     delivery_id: int | None = None, detail: str | None = None) -> None:
        with self.session() as s, s.begin():
            s.add(EventRow(at=self._now(), actor=actor, action=action, channel_id=channel_id,
                           delivery_id=delivery_id, detail=detail))

    def events(self, *, delivery_id: int | None = None, limit: int = 100
               ) -> list[dict[str, Any]]:
        with self.session() as s:
            query = select(EventRow).order_by(EventRow.at.desc(), EventRow.id.desc())
            if delivery_id is not None:
                query = query.where(EventRow.delivery_id == delivery_id)
            return [{"at": from_db(e.at), "actor": e.actor, "action": e.action,
                     "delivery_id": e.delivery_id, "channel": e.channel_id,
                     "detail": e.detail} for e in s.scalars(query.limit(limit))]

    def auto_approve(self, channel_id: str, created_before: datetime) -> list[int]:
        """Release held deliveries whose approval deadline passed."""
        now = self._now()
        with self.session() as s, s.begin():
            ids = list(s.scalars(select(DeliveryRow.id).where(
                DeliveryRow.channel_id == channel_id,
                DeliveryRow.state == DeliveryState.HELD.value,
                DeliveryRow.created_at <= to_db(created_before))))
            for delivery_id in ids:
                row = s.get(DeliveryRow, delivery_id)
                assert row is not None
                row.state = DeliveryState.SCHEDULED.value
                row.next_attempt_at = max(row.not_before, now)
                row.updated_at = now
                s.add(EventRow(at=now, actor="syndicator", action="auto_approve",
                               delivery_id=delivery_id, channel_id=channel_id,
                               detail="approval deadline passed"))
            return ids

    def requeue_auth_failures(self, channel_id: str, since: datetime | None) -> int:
        """After an admin resumes a paused channel: retry what failed for the pausing reason."""
        now = self._now()
        with self.session() as s, s.begin():
            cond = and_(DeliveryRow.channel_id == channel_id,
                        DeliveryRow.state == DeliveryState.FAILED.value,
                        DeliveryRow.error_kind == "auth")
            if since is not None:
                cond = and_(cond, DeliveryRow.updated_at >= to_db(since))
            result = s.execute(update(DeliveryRow).where(cond).values(
                state=DeliveryState.SCHEDULED.value, attempts=0, next_attempt_at=now,
                updated_at=now))
            return int(result.rowcount)  # type: ignore[attr-defined]

    def prune(self, before: datetime) -> dict[str, int]:
        """Drop attempt and event rows older than ``before``. Posts and deliveries stay: they
        are what keeps a post from being sent twice."""
        cutoff = to_db(before)
        with self.session() as s, s.begin():
            attempts = s.execute(delete(AttemptRow).where(AttemptRow.started_at < cutoff,
                                                          AttemptRow.outcome != "started"))
            events = s.execute(delete(EventRow).where(EventRow.at < cutoff))
        return {"attempts": int(attempts.rowcount),  # type: ignore[attr-defined]
                "events": int(events.rowcount)}  # type: ignore[attr-defined]

    def counts(self) -> dict[str, dict[str, int]]:
        """Deliveries per channel and state."""
        out: dict[str, dict[str, int]] = {}
        with self.session() as s:
            rows = s.execute(select(DeliveryRow.channel_id, DeliveryRow.state, func.count())
                             .group_by(DeliveryRow.channel_id, DeliveryRow.state))
            for channel, state, count in rows:
                out.setdefault(channel, {})[state] = count
        return out


def _update_channel(conn: Connection, channel_id: str, values: Mapping[str, Any]) -> None:
    """One UPDATE on the hot path; the row is created the first time a channel needs it."""
    stored = {k: to_db(v) if isinstance(v, datetime) else v for k, v in values.items()}
    result = conn.execute(update(ChannelState).where(ChannelState.id == channel_id)
                          .values(**stored))
    if result.rowcount == 0:
        conn.execute(insert(ChannelState), {"id": channel_id, "paused": False, **stored})


def _chunks(items: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
