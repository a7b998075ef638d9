"""Messages from Jinja2 templates, one per platform, fitted to each platform's length rule.

Text precedence: the editor's override (kept on the delivery), the channel's own template,
then the platform's default template in ``templates/``. Fitting drops hashtags first, then
shortens the summary (emptying it when too little would be left), then the title, always at a
word or grapheme boundary and never inside a URL, hashtag, tag or entity.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from syndicator import adapters
from syndicator.config import ChannelBase
from syndicator.model import Post
from syndicator.text import add_utm, hashtags, is_rtl, isolate, strip_controls
from syndicator.text.fit import FitError, fit_template, shorten
from syndicator.text.plain import html_to_text

PACKAGE_TEMPLATES = Path(__file__).resolve().parent / "templates"
DEFAULT_TEMPLATES = {
    "telegram": "telegram.html.j2",
    "twitter": "twitter.txt.j2",
    "facebook": "facebook.txt.j2",
    "whatsapp": "whatsapp.txt.j2",
}
SUMMARY_CHARS = 400
TITLE_FROM_SUMMARY = 90
MIN_SUMMARY = 40


class TemplateProblem(Exception):
    """A template cannot be loaded or rendered; names the file and line."""


class EmptyPost(Exception):
    """The entry has nothing to post (no title, no summary, no link)."""


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    length: int
    limit: int
    dropped: tuple[str, ...] = ()
    shortened: tuple[str, ...] = ()


def _chars(text: str) -> int:
    return len(text)


def clean(text: str) -> str:
    """Plain text as readers should get it: no bidi overrides, whitespace collapsed."""
    return " ".join(strip_controls(text).split())


class Composer:
    """Renders a post for a channel; one Jinja2 environment shared by all channels."""

    def __init__(self, search_paths: Sequence[Path] = ()) -> None:
        paths = [str(p) for p in search_paths] + [str(PACKAGE_TEMPLATES)]
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(paths),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2", "html")),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=False,
        )

    def template_name(self, channel: ChannelBase) -> str:
        return channel.template or DEFAULT_TEMPLATES[channel.platform]

    def check(self, channel: ChannelBase) -> str | None:
        """A problem with the channel's template (file and line), or None."""
        try:
            template = self.env.get_template(self.template_name(channel))
            sample = Post("sample", "sample", "https://example.org/a", "Sample title",
                          summary="Sample summary.", categories=("News",))
            template.render(**self.fields(channel, sample))
        except jinja2.TemplateSyntaxError as exc:
            return f"{exc.filename or exc.name}:{exc.lineno}: {exc.message}"
        except jinja2.TemplateNotFound as exc:
            paths = ", ".join(getattr(self.env.loader, "searchpath", []))
            return f"template {exc.name!r} not found (looked in {paths})"
        except jinja2.TemplateError as exc:
            return f"{self.template_name(channel)}:{_line(exc)}: {exc}"
        return None

    def fields(self, channel: ChannelBase, post: Post) -> dict[str, Any]:
        """What a template may use; every value is plain text (the template escapes)."""
        zone = ZoneInfo(channel.schedule.timezone)
        summary = clean(post.summary)
        title = clean(post.title) or shorten(summary, TITLE_FROM_SUMMARY, _chars)
        if not title and not summary and not post.link:
            raise EmptyPost("the entry has no title, no summary and no link")
        rtl = is_rtl(f"{title} {summary}")
        if rtl:
            title, summary = isolate(title, direction="rtl"), isolate(summary, direction="rtl")
        link = add_utm(post.link, _utm(channel.utm)) if post.link else ""
        return {
            "title": title,
            "link": link,
            "summary": shorten(summary, SUMMARY_CHARS, _chars) if summary else "",
            "content_text": clean(html_to_text(post.content)) if post.content else summary,
            "author": clean(post.author or ""),
            "categories": list(post.categories),
            "hashtags": hashtags(post.categories, mapping=channel.hashtags.map,
                                 stop=set(channel.hashtags.stop),
                                 max_count=channel.hashtags.max),
            "published": post.published.astimezone(zone) if post.published else None,
            "feed": post.feed_id,
            "language": post.language or "",
            "rtl": rtl,
            "image": post.image or "",
        }

    def render(self, channel: ChannelBase, post: Post) -> Rendered:
        """The message for ``post`` on ``channel``, fitted to the platform's limit."""
        adapter = adapters.load(channel.platform)
        limit = adapter.limits.max_length
        template = self._template(channel)

        def render(fields: Mapping[str, Any]) -> str:
            try:
                text = template.render(**fields)
            except jinja2.TemplateError as exc:
                raise TemplateProblem(
                    f"{self.template_name(channel)}:{_line(exc)}: {exc}") from None
            return re.sub(r"\n{3,}", "\n\n", text).strip()

        try:
            fitted = fit_template(render, self.fields(channel, post), limit, adapter.measure,
                                  drop=("hashtags",), shorten=("summary", "title"),
                                  min_keep={"summary": MIN_SUMMARY})
        except FitError as exc:
            raise TemplateProblem(
                f"{self.template_name(channel)}: the message cannot fit {limit} even with "
                f"the title cut short ({exc.length}); shorten the template's fixed text"
            ) from None
        return Rendered(text=fitted.text, length=adapter.measure(fitted.text), limit=limit,
                        dropped=fitted.dropped, shortened=fitted.shortened)

    def _template(self, channel: ChannelBase) -> jinja2.Template:
        try:
            return self.env.get_template(self.template_name(channel))
        except jinja2.TemplateError as exc:
            raise TemplateProblem(f"{self.template_name(channel)}:{_line(exc)}: {exc}"
                                  ) from None


def _utm(values: Mapping[str, str]) -> dict[str, str]:
    return {k if k.startswith("utm_") else f"utm_{k}": v for k, v in values.items()}


def _line(exc: BaseException) -> str:
    line = getattr(exc, "lineno", None)
    if line:
        return str(line)
    tb = exc.__traceback__
    found = "?"
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(".j2") or "template" in \
                tb.tb_frame.f_code.co_filename:
            found = str(tb.tb_lineno)
        tb = tb.tb_next
    return found
