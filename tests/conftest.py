"""Shared fixtures: the corpora, real databases (SQLite and the machine's PostgreSQL), a guard
that fails any test reaching beyond loopback."""

from __future__ import annotations

import ipaddress
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

# CI must be repeatable: the same examples every run (a red CI lands nothing). Locally the
# property tests keep exploring new examples and remember failures in .hypothesis/.
settings.register_profile("ci", derandomize=True, deadline=None)
settings.register_profile("explore", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI")
                                                                 else "default"))

REPO = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("SYNDICATOR_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def corpora_dir() -> Path:
    """../shared/corpora beside the repository (or $SYNDICATOR_CORPORA); must exist."""
    path = Path(os.environ.get("SYNDICATOR_CORPORA") or REPO.parent / "shared" / "corpora")
    assert path.is_dir(), f"test corpora not found at {path} (set SYNDICATOR_CORPORA)"
    return path


@pytest.fixture(scope="session")
def corpora() -> Path:
    return corpora_dir()


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check_address(address: object) -> None:
    if isinstance(address, tuple) and address and isinstance(address[0], str):
        host = address[0]
        try:
            ip = ipaddress.ip_address(host.split("%")[0])
        except ValueError:
            if host != "localhost":
                raise OSError(f"test tried to reach {host}: tests stay on loopback") from None
            return
        if not ip.is_loopback:
            raise OSError(f"test tried to reach {host}: tests stay on loopback")


def _guarded_connect(self: socket.socket, address: object) -> None:
    _check_address(address)
    return _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _check_address(address)
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A fresh PostgreSQL database for this session; fails (not skips) if the server is down."""
    from sqlalchemy import create_engine, text

    name = f"syndicator_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        pytest.fail(f"PostgreSQL at {PG_ADMIN} is required for the store tests: {exc}")
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each store test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    from sqlalchemy import create_engine, text

    base = request.getfixturevalue("pg_server")
    schema_db = f"t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{schema_db}"'))
    url = base.rsplit("/", 1)[0] + "/" + schema_db
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{schema_db}" WITH (FORCE)'))
    admin.dispose()
