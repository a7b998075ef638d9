"""Human durations in YAML ("90s", "5m", "1h30m", "7d") as timedeltas."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: object) -> timedelta:
    """Parse ``5m``, ``1h30m``, ``7d`` or a number of seconds; raise ValueError with a hint."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("not a duration")
    if isinstance(value, int | float):
        return timedelta(seconds=float(value))
    text = str(value).strip().lower().replace(" ", "")
    if not text:
        raise ValueError("empty duration")
    pos, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or pos == 0:
        raise ValueError(f"not a duration: {value!r} (write e.g. 30s, 5m, 1h30m, 7d)")
    return timedelta(seconds=total)


def format_duration(delta: timedelta) -> str:
    """Short inverse of :func:`parse_duration` for logs and status output."""
    seconds = int(round(delta.total_seconds()))
    if seconds < 0:
        return "-" + format_duration(-delta)
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size or (unit == "s" and not parts):
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts[:2])


def parse_when(text: str, zone: str, now: datetime) -> datetime:
    """``+30m`` / ``in 2h``, ``HH:MM`` (the next one, in ``zone``) or an ISO date and time
    (naive ones in ``zone``); ValueError says what to write instead."""
    raw = text.strip()
    try:
        if raw.startswith(("+", "in ")):
            return now + parse_duration(raw.removeprefix("+").removeprefix("in ").strip())
        tz = ZoneInfo(zone)
        if len(raw) <= 5 and ":" in raw:
            hour, minute = (int(x) for x in raw.split(":"))
            local = now.astimezone(tz).replace(hour=hour, minute=minute, second=0,
                                               microsecond=0)
            return local + timedelta(days=1) if local < now else local
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{text!r}: write +30m, HH:MM (in {zone}), or 2026-12-01T09:00 "
                         "(in the channel's time zone)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)
