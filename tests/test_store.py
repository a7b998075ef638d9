"""The store contract, run on SQLite and on the machine's PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import inspect

from syndicator.clock import ManualClock
from syndicator.model import DeliveryState, Post
from syndicator.store import NewDelivery, NewPost, Store
from syndicator.store.migrate import current_revision, head_revision


def post(key: str, published: datetime | None = None) -> NewPost:
    return NewPost(Post("en", key, f"https://n.example/{key}", f"Title {key}",
                        published=published), f"https://n.example/{key}", f"title {key}")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def store(storage_url: str, clock: ManualClock) -> Store:
    s = Store.open(storage_url, clock=clock)
    yield s
    s.close()


def test_migrations_reach_head_and_are_idempotent(store: Store) -> None:
    assert current_revision(store.engine) == head_revision()
    assert store.upgrade()[0] == store.upgrade()[1] == head_revision()
    tables = set(inspect(store.engine).get_table_names())
    assert {"feeds", "posts", "deliveries", "attempts", "channels"} <= tables


def test_post_and_deliveries_are_written_once(store: Store, clock: ManualClock) -> None:
    now = clock.now()
    first = store.add_post(post("a"), [NewDelivery("tg", "hello", now),
                                       NewDelivery("x", "hi", now)])
    assert first is not None
    assert store.add_post(post("a"), [NewDelivery("tg", "again", now)]) is None
    queue = store.queue()
    assert [(d["channel"], d["text"]) for d in queue] == [("tg", "hello"), ("x", "hi")]


def test_a_failed_delivery_insert_rolls_back_its_post(store: Store, clock: ManualClock) -> None:
    now = clock.now()
    twice = [NewDelivery("tg", "one", now), NewDelivery("tg", "two", now)]
    assert store.add_post(post("b"), twice) is None  # unique (post, channel) refused
    assert store.seen("en", keys=["b"], link_norms=[], title_norms=[],
                      titles_since=now)[0] == set()


def test_seen_reports_keys_links_and_recent_titles(store: Store, clock: ManualClock) -> None:
    store.add_post(post("c"), [])
    clock.advance(timedelta(days=40))
    store.add_post(post("d"), [])
    keys, links, titles = store.seen(
        "en", keys=["c", "zz"], link_norms=["https://n.example/d"],
        title_norms=["title c", "title d"], titles_since=clock.now() - timedelta(days=30))
    assert keys == {"c"} and links == {"https://n.example/d"} and titles == {"title d"}


def test_oldest_first_claim_is_exclusive_and_finish_records_attempt(
        store: Store, clock: ManualClock) -> None:
    now = clock.now()
    store.add_post(post("new", published=now - timedelta(minutes=1)),
                   [NewDelivery("tg", "new", now)])
    store.add_post(post("old", published=now - timedelta(hours=1)),
                   [NewDelivery("tg", "old", now)])
    due = store.next_due("tg", now)
    assert due is not None
    claimed = store.claim(due[0], "me", timedelta(minutes=5))
    assert claimed is not None and claimed.text == "old"
    assert store.claim(due[0], "other", timedelta(minutes=5)) is None
    attempt = store.start_attempt(claimed.id, "tg")
    store.finish(claimed.id, attempt, state=DeliveryState.SENT, outcome="sent",
                 remote_id="42", remote_url="https://t.me/x/42")
    d = store.delivery(claimed.id)
    assert d is not None and d["state"] == "sent" and d["remote_id"] == "42"
    assert d["attempts"] == 1 and d["sent_at"] == clock.now()
    history = store.attempts(delivery_id=claimed.id)
    assert [a["outcome"] for a in history] == ["sent"]


def test_expired_claims_are_found_for_recovery(store: Store, clock: ManualClock) -> None:
    store.add_post(post("e"), [NewDelivery("tg", "e", clock.now())])
    due = store.next_due("tg", clock.now())
    assert due and store.claim(due[0], "dead-process", timedelta(minutes=5))
    assert store.expired_claims(clock.now()) == []
    assert store.expired_claims(clock.now(), owner="dead-process") == [due[0]]
    clock.advance(timedelta(minutes=6))
    assert store.expired_claims(clock.now()) == [due[0]]


def test_change_checks_state_and_records_who(store: Store, clock: ManualClock) -> None:
    store.add_post(post("f"), [NewDelivery("tg", "f", clock.now())])
    due = store.next_due("tg", clock.now())
    assert due
    held = store.change(due[0], allowed=["scheduled"], actor="maryam", action="hold",
                        state="held")
    assert held["state"] == "held"
    with pytest.raises(ValueError, match="is held: cannot hold it"):
        store.change(due[0], allowed=["scheduled"], actor="maryam", action="hold",
                     refusal="cannot {action} it", state="held")
    with pytest.raises(LookupError, match="no delivery 999999"):
        store.change(999999, allowed=["held"], actor="maryam", action="approve")
    events = store.events(delivery_id=due[0])
    assert [(e["actor"], e["action"]) for e in events] == [("maryam", "hold")]


def test_requeue_after_resume_only_touches_auth_failures(store: Store, clock: ManualClock) -> None:
    for key, kind in (("g", "auth"), ("h", "permanent")):
        store.add_post(post(key), [NewDelivery("tg", key, clock.now())])
        due = store.next_due("tg", clock.now())
        assert due
        store.claim(due[0], "me", timedelta(minutes=1))
        store.finish(due[0], None, state=DeliveryState.FAILED, outcome="failed",
                     error="x", error_kind=kind)
    assert store.requeue_auth_failures("tg", None) == 1
    states = {d["post"]["key"]: d["state"] for d in store.deliveries()}
    assert states == {"g": "scheduled", "h": "failed"}


def test_feed_state_tracks_validators_and_errors(store: Store) -> None:
    store.record_poll("en", "https://n.example/feed", error="HTTP 500")
    store.record_poll("en", "https://n.example/feed", error="HTTP 500")
    state = store.feed_state("en")
    assert state and state.error_count == 2 and state.first_polled_at is None
    store.record_poll("en", "https://n.example/feed", etag='"v1"', body_hash="abc", parsed=True)
    state = store.feed_state("en")
    assert state and state.error_count == 0 and state.etag == '"v1"'
    assert state.first_polled_at is not None and state.last_error is None
