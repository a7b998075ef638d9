"""One daemon per database: a second one on the same SQLite file refuses to start."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType


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


def lock_path(storage_url: str) -> Path | None:
    """Where the lock lives for a SQLite URL; None for servers (they get row leases)."""
    prefix = "sqlite:///"
    if not storage_url.startswith(prefix):
        return None
    db = storage_url[len(prefix):]
    if not db or db == ":memory:":
        return None
    return Path(db + ".lock")
