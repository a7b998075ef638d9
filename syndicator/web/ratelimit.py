"""Failed-login throttling per client address and per user name, in memory.

Both keys count: one address guessing many names is stopped by the address, many addresses
guessing one name by the name. A throttled attempt is refused before its password is checked.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

from syndicator.clock import Clock


class LoginLimiter:
    """Allows ``limit`` failures per ``window`` for each key; forgets old failures."""

    def __init__(self, clock: Clock, *, limit: int = 5,
                 window: timedelta = timedelta(minutes=5), max_keys: int = 10_000) -> None:
        self.clock = clock
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._failures: dict[str, deque[datetime]] = {}

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, *keys: str) -> float:
        """Seconds until every key may try again (0: go ahead)."""
        now = self.clock.now()
        wait = 0.0
        for key in keys:
            times = self._recent(key, now)
            if len(times) >= self.limit:
                wait = max(wait, (times[-self.limit] + self.window - now).total_seconds())
        return wait

    def fail(self, *keys: str) -> None:
        now = self.clock.now()
        if len(self._failures) >= self.max_keys:
            self._prune(now)
        for key in keys:
            self._failures.setdefault(key, deque(maxlen=self.limit * 4)).append(now)

    def succeed(self, *keys: str) -> None:
        """A correct password clears the user's count (not the address's)."""
        for key in keys:
            self._failures.pop(key, None)

    def _prune(self, now: datetime) -> None:
        for key in list(self._failures):
            self._recent(key, now)
        while len(self._failures) >= self.max_keys:  # a flood of addresses: drop the oldest
            self._failures.pop(next(iter(self._failures)))
