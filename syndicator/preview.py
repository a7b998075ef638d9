"""Messages the newest posts would get on every channel, rendered without publishing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from syndicator import adapters
from syndicator.composer import Composer, EmptyPost, TemplateProblem
from syndicator.config import ChannelBase, FeedSettings, LoadedConfig
from syndicator.entries import FeedParseError, normalize_link
from syndicator.fetch import FeedFetcher, FetchError
from syndicator.router import matches
from syndicator.secrets import redact
from syndicator.watcher import read_feed


async def preview(config: LoadedConfig, feeds: Sequence[FeedSettings],
                  channels: Sequence[ChannelBase],
                   post_url: str | None, limit: int) -> tuple[list[dict[str, Any]], list[str]]:
    """What the newest entries (or the one at ``post_url``) would become on each channel."""
    composer = Composer([config.base_dir / "templates", config.base_dir])
    wanted = normalize_link(post_url) if post_url else None
    results: list[dict[str, Any]] = []
    problems: list[str] = []
    async with FeedFetcher() as fetcher:
        for feed in feeds:
            try:
                parsed = await read_feed(fetcher, feed)
            except (FetchError, FeedParseError) as exc:
                problems.append(f"feed {feed.id}: {redact(str(exc))}")
                continue
            entries = parsed.entries
            if wanted:
                entries = [e for e in entries if e.link_norm == wanted]
            else:
                entries = sorted(entries, key=lambda e: e.published or datetime.min.replace(
                    tzinfo=UTC), reverse=True)[:limit]
            for entry in entries:
                post = entry.to_post(feed.id)
                messages = []
                for channel in channels:
                    if feed.id not in channel.feeds:
                        continue
                    ok, why = matches(channel.filters, post)
                    item: dict[str, Any] = {"channel": channel.id,
                                            "platform": channel.platform}
                    if not ok:
                        messages.append({**item, "skipped": why})
                        continue
                    try:
                        rendered = composer.render(channel, post)
                    except (EmptyPost, TemplateProblem) as exc:
                        messages.append({**item, "skipped": str(exc)})
                        continue
                    limits = adapters.load(channel.platform).limits
                    messages.append({**item, "text": rendered.text, "length": rendered.length,
                                     "limit": rendered.limit, "counting": limits.counting,
                                     "dropped": list(rendered.dropped),
                                     "shortened": list(rendered.shortened)})
                results.append({"feed": feed.id, "title": post.title, "link": post.link,
                                "published": post.published, "messages": messages})
    return results, problems
