"""Messages right on each platform the first time, whatever the feed sends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syndicator import adapters
from syndicator.adapters.telegram_html import parse_html
from syndicator.composer import Composer, EmptyPost
from syndicator.config import ChannelBase, parse_settings
from syndicator.model import Post
from syndicator.text import weighted_length

ENV = {"T": "1:x", "K": "k", "S": "s", "A": "a", "B": "b", "P": "p"}
CREDS = {
    "telegram": {"bot_token": "${T}"},
    "twitter": {"consumer_key": "${K}", "consumer_secret": "${S}", "access_token": "${A}",
                "access_token_secret": "${B}"},
    "facebook": {"page_token": "${P}"},
    "whatsapp": {},
}
EXTRA = {"telegram": {"chat": "@news"}, "facebook": {"page_id": "123"}}


def channel(platform: str, **kw: Any) -> ChannelBase:
    data = {"id": platform, "platform": platform, "feeds": ["en"],
            "credentials": CREDS[platform], **EXTRA.get(platform, {}), **kw}
    settings_ = parse_settings({"feeds": [{"id": "en", "url": "https://n.example/f"}],
                                "channels": [data]}, environ=ENV)
    return settings_.channels[0]


PLATFORMS = ["telegram", "twitter", "facebook", "whatsapp"]
COMPOSER = Composer()


def assert_valid(platform: str, text: str) -> None:
    adapter = adapters.load(platform)
    assert adapter.problems(text) == [], (platform, text)
    if platform == "telegram":
        parse_html(text)  # tdlib's own rules accept it
    if platform == "twitter":
        assert 0 < weighted_length(text) <= 280


LONG = " ".join(["word"] * 10_000)
HOSTILE = [
    Post("en", "1", "https://n.example/a", "", summary="Only a summary, no title here."),
    Post("en", "2", None, "No link at all", summary="Body."),
    Post("en", "2b", "https://n.example/only-a-link", ""),
    Post("en", "3", "https://n.example/c", "Long one", summary=LONG, content=LONG),
    Post("en", "4", "https://n.example/d", "🧑‍🎄❤️‍🔥🇮🇷🏳️‍🌈" * 60),
    Post("en", "5", "https://n.example/e", "<script>alert(1)</script> & <b>bold</b>",
         summary="x < y && y > z; <img src=x onerror=alert(1)>"),
    Post("en", "6", "https://n.example/f", "Spoof \u202eevil\u202c title\u00a0here",
         summary="&nbsp; &#x202E; literal entities"),
    Post("en", "7", "https://n.example/g?a=1&b=2#frag", "خبر فوری: تهران " * 40,
         summary="متن خبر " * 500, categories=("سیاست خارجی", "Iran News", "2024")),
]


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("post", HOSTILE, ids=[p.key for p in HOSTILE])
def test_hostile_entries_render_valid_messages(platform: str, post: Post) -> None:
    rendered = COMPOSER.render(channel(platform), post)
    assert_valid(platform, rendered.text)
    assert rendered.length <= rendered.limit
    assert "\u202e" not in rendered.text
    if post.link and platform != "facebook":
        shown = parse_html(rendered.text)[0] if platform == "telegram" else rendered.text
        assert post.link in shown  # the link is never cut


def test_telegram_escapes_every_field() -> None:
    script = next(p for p in HOSTILE if p.title.startswith("<script>"))
    text = COMPOSER.render(channel("telegram"), script).text
    plain, entities = parse_html(text)
    assert "<script>alert(1)</script> & <b>bold</b>" in plain
    assert [e["type"] for e in entities] == ["Bold"]  # only our own title tag


def test_an_entry_with_nothing_to_say_is_refused_with_a_reason() -> None:
    with pytest.raises(EmptyPost, match="no title, no summary and no link"):
        COMPOSER.render(channel("telegram"), Post("en", "0", None, ""))


def test_hashtags_utm_and_rtl_marks() -> None:
    ch = channel("telegram", utm={"source": "telegram", "medium": "social"},
                 hashtags={"max": 2, "stop": ["2024"]})
    post = Post("fa", "k", "https://n.example/x?id=7#top", "گزارش ویژه از شیراز",
                summary="خلاصه", categories=("سیاست خارجی", "2024", "Iran News"))
    text = COMPOSER.render(ch, post).text
    assert "https://n.example/x?id=7&amp;utm_source=telegram&amp;utm_medium=social#top" in text
    assert "#سیاست_خارجی #IranNews" in text
    assert text.startswith("<b>\u200fگزارش ویژه از شیراز\u200f</b>")


def test_x_drops_hashtags_before_shortening_the_title() -> None:
    ch = channel("twitter", hashtags={"max": 5})
    title = "A headline that is long enough to matter " * 7
    post = Post("en", "k", "https://n.example/a", title.strip(),
                categories=("Politics", "Economy", "World"))
    rendered = COMPOSER.render(ch, post)
    assert rendered.dropped == ("hashtags",) and "title" in rendered.shortened
    assert weighted_length(rendered.text) <= 280 and rendered.text.endswith("https://n.example/a")
    assert "…" in rendered.text


def test_template_errors_name_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "mine.html.j2").write_text("<b>{{ title }}</b>\n{% if summary %}\n{{ oops(",
                                           encoding="utf-8")
    (tmp_path / "undef.html.j2").write_text("<b>{{ title }}</b>\n{{ no_such_field }}",
                                            encoding="utf-8")
    composer = Composer([tmp_path])
    syntax = composer.check(channel("telegram", template="mine.html.j2"))
    assert syntax is not None and "mine.html.j2:3:" in syntax
    undefined = composer.check(channel("telegram", template="undef.html.j2"))
    assert undefined is not None and "undef.html.j2:2" in undefined
    assert "no_such_field" in undefined


SCRIPTS = st.sampled_from([
    "news", "خبر", "فارسی‌زبان", "العربية", "Shqipëri", "🧑‍🎄", "🇦🇱", "e\u0301", "#tag",
    "https://n.example/a?b=c", "&amp;", "<i>", "2024", "ـ", "\u200c", "!", "«»",
])
TEXTS = st.lists(SCRIPTS, max_size=400).map(" ".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=TEXTS, summary=TEXTS, categories=st.lists(SCRIPTS, max_size=6),
       platform=st.sampled_from(PLATFORMS))
def test_any_mixed_script_post_fits(title: str, summary: str, categories: list[str],
                                    platform: str) -> None:
    post = Post("en", "k", "https://n.example/story", title, summary=summary,
                categories=tuple(categories))
    rendered = COMPOSER.render(channel(platform), post)
    assert_valid(platform, rendered.text)
