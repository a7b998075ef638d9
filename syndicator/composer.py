"""Messages from Jinja2 templates, one per platform, fitted to each platform's length rule.

Text precedence: the editor's override (on the delivery), the channel's template, the
platform's default template in ``templates/``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

import adapters
from syndicator.config import ChannelBase
from syndicator.model import Post

PACKAGE_TEMPLATES = Path(__file__).resolve().parent / "templates"
DEFAULT_TEMPLATES = {
    "telegram": "telegram.html.j2",
    "twitter": "twitter.txt.j2",
    "facebook": "facebook.txt.j2",
    "whatsapp": "whatsapp.txt.j2",
}
SUMMARY_CHARS = 280
ELLIPSIS = "…"


class TemplateProblem(Exception):
    """A template cannot be loaded or rendered; names the file and line."""


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    length: int
    limit: int
    dropped: tuple[str, ...] = ()


def shorten_words(text: str, limit: int) -> str:
    """Cut plain text at a word boundary within ``limit`` characters, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - 1)]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-–—") + ELLIPSIS


class Composer:
    """Renders a post for a channel; one Jinja2 environment shared by all channels."""

    def __init__(self, search_paths: Sequence[Path] = ()) -> None:
        paths = [str(p) for p in search_paths] + [str(PACKAGE_TEMPLATES)]
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(paths),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2", "html")),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=False,
            trim_blocks=False,
        )

    def template_name(self, channel: ChannelBase) -> str:
        return channel.template or DEFAULT_TEMPLATES[channel.platform]

    def check(self, channel: ChannelBase) -> str | None:
        """A problem with the channel's template (file and line), or None."""
        try:
            self.env.get_template(self.template_name(channel))
        except jinja2.TemplateSyntaxError as exc:
            return f"{exc.filename or exc.name}:{exc.lineno}: {exc.message}"
        except jinja2.TemplateNotFound as exc:
            return f"template {exc.name!r} not found (looked in {', '.join(self.env.loader.searchpath)})"  # type: ignore[union-attr]
        return None

    def fields(self, channel: ChannelBase, post: Post) -> dict[str, Any]:
        zone = ZoneInfo(channel.schedule.timezone)
        return {
            "title": post.title,
            "link": post.link or "",
            "summary": shorten_words(post.summary, SUMMARY_CHARS),
            "content_text": post.summary,
            "author": post.author or "",
            "categories": list(post.categories),
            "hashtags": [],
            "published": post.published.astimezone(zone) if post.published else None,
            "feed": post.feed_id,
            "language": post.language or "",
            "image": post.image or "",
        }

    def render(self, channel: ChannelBase, post: Post) -> Rendered:
        """The message for ``post`` on ``channel``, shortened to the platform's limit."""
        adapter = adapters.load(channel.platform)
        measure: Callable[[str], int] = adapter.measure
        limit = adapter.limits.max_length
        fields = self.fields(channel, post)
        dropped: list[str] = []
        text = self._render(channel, fields)
        for part in ("hashtags", "summary"):
            if measure(text) <= limit:
                break
            if fields[part]:
                fields[part] = [] if part == "hashtags" else ""
                dropped.append(part)
                text = self._render(channel, fields)
        title = fields["title"]
        while measure(text) > limit and len(title) > 1:
            title = shorten_words(title, max(1, len(title) - max(1, measure(text) - limit)))
            fields["title"] = title
            text = self._render(channel, fields)
        return Rendered(text=text, length=measure(text), limit=limit, dropped=tuple(dropped))

    def _render(self, channel: ChannelBase, fields: dict[str, Any]) -> str:
        name = self.template_name(channel)
        try:
            text = self.env.get_template(name).render(**fields)
        except jinja2.TemplateError as exc:
            line = getattr(exc, "lineno", None)
            where = f"{name}:{line}" if line else name
            raise TemplateProblem(f"{where}: {exc}") from None
        return re.sub(r"\n{3,}", "\n\n", text).strip()
