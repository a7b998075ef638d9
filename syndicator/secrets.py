"""Secrets come only from environment variables; this keeps their values out of every output."""

from __future__ import annotations

import logging
import re
import threading

_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


def env_reference(value: str) -> str | None:
    """Return NAME for a ``${NAME}`` reference, else None."""
    match = _REF.match(value.strip())
    return match.group(1) if match else None


class Redactor:
    """Replaces every known secret value (and URL-quoted forms) with ``***``."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None

    def add(self, value: str) -> None:
        if len(value) < 4:
            return
        from urllib.parse import quote

        with self._lock:
            self._values.update({value, quote(value, safe="")})
            self._pattern = re.compile(
                "|".join(re.escape(v) for v in sorted(self._values, key=len, reverse=True))
            )

    def __call__(self, text: str) -> str:
        pattern = self._pattern
        return pattern.sub("***", text) if pattern and text else text


redact = Redactor()


class RedactingFilter(logging.Filter):
    """Formats each record's message once, redacted, so no handler can print a secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        record.msg, record.args = cleaned, None
        return True
