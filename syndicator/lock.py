"""One daemon per database: a second one on the same SQLite file or PostgreSQL database
refuses to start (until replicas share the work with row leases)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool


class LockedError(Exception):
    """Another syndicator process holds the lock."""


class DaemonLock:
    """An exclusive ``flock`` on ``<db>.lock``; released by the kernel if the process dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise LockedError(
                f"another syndicator daemon (pid {holder}) is already running on this database "
                f"(lock {self.path}); stop it first, or give this one its own storage:"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> DaemonLock:
        self.acquire()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.release()


class DatabaseLock:
    """A PostgreSQL session-level advisory lock, held on a connection of its own; the server
    releases it when the process (and so the connection) dies."""

    KEY = 0x53594E44  # "SYND"

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None
        self._connection: Connection | None = None

    def acquire(self) -> None:
        engine = create_engine(self.url, poolclass=NullPool)
        connection = engine.connect()
        got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                 {"key": self.KEY}).scalar()
        connection.commit()
        if not got:
            connection.close()
            engine.dispose()
            raise LockedError(
                "another syndicator daemon is already running on this database (it holds "
                "the PostgreSQL advisory lock); stop it first, or give this one its own "
                "storage:")
        self._engine, self._connection = engine, connection

    def release(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> DatabaseLock:
        self.acquire()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.release()


def daemon_lock(storage_url: str) -> DaemonLock | DatabaseLock | None:
    """The lock that keeps a second daemon off this database (None: no way to lock it)."""
    path = lock_path(storage_url)
    if path is not None:
        return DaemonLock(path)
    if storage_url.startswith("postgresql"):
        return DatabaseLock(storage_url)
    return None


def lock_path(storage_url: str) -> Path | None:
    """Where the lock lives for a SQLite URL; None for servers (they get row leases)."""
    prefix = "sqlite:///"
    if not storage_url.startswith(prefix):
        return None
    db = storage_url[len(prefix):]
    if not db or db == ":memory:":
        return None
    return Path(db + ".lock")
