"""Typed outcomes of a platform call, classified by what the publisher should do next.

Only an adapter knows its platform's error codes; it maps them to one of these classes once,
and the publisher acts on the class alone.
"""

from __future__ import annotations


class PublishError(Exception):
    """Base of everything an adapter raises from ``publish``/``verify``/``find_existing``."""

    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        platform: str = "",
        status: int | None = None,
        code: int | str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.platform = platform
        self.status = status
        self.code = code

    def __str__(self) -> str:
        return self.message


class TransientError(PublishError):
    """Worth retrying later: 5xx, connection refused or reset before the request was sent."""

    kind = "transient"


class RateLimited(PublishError):
    """The platform asked us to wait ``retry_after`` seconds before calling again."""

    kind = "rate_limited"

    def __init__(self, message: str, *, retry_after: float, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after = max(0.0, float(retry_after))


class PermanentError(PublishError):
    """Retrying the same request will fail the same way (bad request, content refused)."""

    kind = "permanent"


class AuthError(PermanentError):
    """The channel's credentials or rights are wrong: every post would fail; pause the channel."""

    kind = "auth"


class DuplicateError(PermanentError):
    """The platform says this exact post already exists: it was sent, by us or by hand."""

    kind = "duplicate"


class UncertainError(PublishError):
    """The request may have reached the platform but no answer came (timeout after sending)."""

    kind = "uncertain"
