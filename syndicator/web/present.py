"""How values look on a page: times, text direction, safe links. Pure functions, no I/O."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from syndicator.durations import format_duration

#: Languages written right to left (primary subtags); others get ``dir="auto"``.
RTL_LANGUAGES = frozenset({"ar", "arc", "ckb", "dv", "fa", "he", "iw", "ks", "ku", "ps",
                           "sd", "syr", "ug", "ur", "yi"})


def text_dir(language: str | None) -> str:
    """``rtl`` for a right-to-left post language, else ``auto`` (the browser looks)."""
    if not language:
        return "auto"
    primary = language.replace("_", "-").split("-")[0].lower()
    return "rtl" if primary in RTL_LANGUAGES else "auto"


def when(moment: datetime | None, now: datetime) -> str:
    """``in 5m`` / ``3h ago`` / ``now`` / ``-``, like the CLI."""
    if moment is None:
        return "-"
    delta = moment - now
    if abs(delta.total_seconds()) < 1:
        return "now"
    if delta.total_seconds() > 0:
        return f"in {format_duration(delta)}"
    return f"{format_duration(-delta)} ago"


def stamp(moment: datetime | None) -> str:
    """UTC time for titles and tables."""
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "-"


def safe_url(url: str | None, *, prefixes: tuple[str, ...] = ("https://", "http://")) -> str:
    """Return ``url`` if it is an absolute link with one of ``prefixes``, else empty.

    Feeds and platforms supply these links; a ``javascript:`` one must never become an href.
    """
    if not url:
        return ""
    parts = urlsplit(url)
    if not parts.netloc or not url.lower().startswith(prefixes):
        return ""
    return url


def share_url(url: str | None) -> str:
    """A WhatsApp click-to-chat link, or empty if it is not one."""
    return safe_url(url, prefixes=("https://wa.me/", "https://api.whatsapp.com/"))


def clip(text: str | None, size: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= size else text[: size - 1] + "…"
