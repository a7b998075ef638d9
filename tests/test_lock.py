"""One daemon per database, on SQLite (a file lock) and PostgreSQL (an advisory lock)."""

from __future__ import annotations

from pathlib import Path

import pytest

from syndicator.lock import DaemonLock, DatabaseLock, LockedError, daemon_lock


def test_the_lock_fits_the_storage(tmp_path: Path) -> None:
    assert isinstance(daemon_lock(f"sqlite:///{tmp_path}/a.db"), DaemonLock)
    assert isinstance(daemon_lock("postgresql+psycopg://u@h/db"), DatabaseLock)
    assert daemon_lock("sqlite:///:memory:") is None


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_second_holder_is_refused_until_the_first_lets_go(
        kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = (f"sqlite:///{tmp_path}/state.db" if kind == "sqlite"
           else request.getfixturevalue("pg_server"))
    first, second = daemon_lock(url), daemon_lock(url)
    assert first is not None and second is not None
    first.acquire()
    try:
        with pytest.raises(LockedError, match="another syndicator daemon.* is already running"):
            second.acquire()
    finally:
        first.release()
    second.acquire()
    second.release()
