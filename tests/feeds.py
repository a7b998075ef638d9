"""Real RSS files for tests, written the way news sites write them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape


@dataclass
class Item:
    slug: str
    title: str
    minutes_ago: float
    summary: str = "A short summary of the article."
    categories: list[str] = field(default_factory=list)
    guid: str | None = "default"


def rss(items: list[Item], *, title: str = "Example News", base: str = "https://news.example.org",
        language: str = "en", now: datetime | None = None) -> bytes:
    now = now or datetime.now(UTC)
    parts = []
    for item in items:
        guid = f"{base}/?p={item.slug}" if item.guid == "default" else item.guid
        cats = "".join(f"<category>{escape(c)}</category>" for c in item.categories)
        parts.append(
            f"<item><title>{escape(item.title)}</title><link>{base}/{item.slug}/</link>"
            + (f'<guid isPermaLink="false">{escape(guid)}</guid>' if guid else "")
            + f"<pubDate>{format_datetime(now - timedelta(minutes=item.minutes_ago))}</pubDate>"
            f"<description>{escape(item.summary)}</description>{cats}</item>")
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>{escape(title)}</title><link>{base}/</link><language>{language}</language>"
            f"<description>test</description>{''.join(parts)}</channel></rss>").encode()
