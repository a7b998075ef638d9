from __future__ import annotations

from datetime import UTC, datetime, timedelta

from syndicator.config import Schedule
from syndicator.schedule import earliest_slot

NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def policy(**kw: object) -> Schedule:
    return Schedule.model_validate(kw)


def test_default_policy_is_as_soon_as_possible() -> None:
    assert earliest_slot(policy(), NOON, [NOON - timedelta(seconds=1)]) == NOON


def test_min_spacing_counts_from_the_last_post() -> None:
    slot = earliest_slot(policy(min_spacing="5m"), NOON, [NOON - timedelta(minutes=2)])
    assert slot == NOON + timedelta(minutes=3)


def test_platform_pacing_applies_when_larger_than_spacing() -> None:
    slot = earliest_slot(policy(), NOON, [NOON - timedelta(seconds=1)], min_interval=3)
    assert slot == NOON + timedelta(seconds=2)


def test_daily_cap_waits_for_the_next_local_day() -> None:
    # Asia/Tehran is UTC+3:30: 12:00 UTC is 15:30 local; the local day began 20:30 UTC before.
    sent = [NOON - timedelta(hours=h) for h in (3, 2, 1)]
    slot = earliest_slot(policy(max_per_day=3, timezone="Asia/Tehran"), NOON, sent)
    assert slot == datetime(2026, 3, 10, 20, 30, tzinfo=UTC)


def test_daily_cap_ignores_posts_of_the_previous_local_day() -> None:
    sent = [datetime(2026, 3, 9, 20, 0, tzinfo=UTC)] * 3  # 23:30 local on the 9th
    slot = earliest_slot(policy(max_per_day=3, timezone="Asia/Tehran"), NOON, sent)
    assert slot == NOON


def test_quiet_hours_across_midnight_wait_until_they_end() -> None:
    night = datetime(2026, 3, 10, 21, 0, tzinfo=UTC)  # 00:30 in Tehran
    slot = earliest_slot(policy(quiet_hours="23:00-07:00", timezone="Asia/Tehran"), night, [])
    assert slot == datetime(2026, 3, 11, 3, 30, tzinfo=UTC)  # 07:00 Tehran
    day = earliest_slot(policy(quiet_hours="23:00-07:00", timezone="Asia/Tehran"), NOON, [])
    assert day == NOON


def test_rules_combine_spacing_pushing_into_quiet_hours() -> None:
    before_quiet = datetime(2026, 3, 10, 22, 58, tzinfo=UTC)
    slot = earliest_slot(policy(min_spacing="5m", quiet_hours="23:00-07:00"), before_quiet,
                         [before_quiet - timedelta(minutes=1)])
    assert slot == datetime(2026, 3, 11, 7, 0, tzinfo=UTC)


def test_a_burst_of_thirty_is_spread_not_dropped() -> None:
    p = policy(min_spacing="5m", max_per_day=24, quiet_hours="23:00-07:00")
    now, sent = datetime(2026, 3, 10, 8, 0, tzinfo=UTC), []
    for _ in range(30):
        now = earliest_slot(p, now, sent)
        sent.append(now)
    gaps = [b - a for a, b in zip(sent, sent[1:], strict=False)]
    assert min(gaps) >= timedelta(minutes=5)
    assert len(sent) == 30
    by_day: dict[object, int] = {}
    for moment in sent:
        by_day[moment.date()] = by_day.get(moment.date(), 0) + 1
        assert not (moment.hour >= 23 or moment.hour < 7)
    assert max(by_day.values()) <= 24 and len(by_day) == 2
