"""Shortening and fitting: always fits, only ever a grapheme prefix, never inside a token."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import jinja2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syndicator.adapters.telegram_html import parse_html, utf16_len
from syndicator.text import (
    FitError,
    Part,
    fit,
    fit_template,
    graphemes,
    shorten,
    weighted_length,
)

PLAIN = {
    "latin": [
        "news",
        "Breaking",
        "the",
        "Tehran",
        "Prishtinë",
        "naïve",
        "U.S.",
        "e\u0301clair",
        "Internationalization",
        "Donaudampfschifffahrtsgesellschaft",
    ],
    "persian": ["خبر", "می\u200cخواهم", "رئیس\u200cجمهور", "ایران", "گفت\u200cوگو", "۱۴۰۳"],
    "arabic": ["مُحَمَّد", "العربية", "السلام", "٢٠٢٤", "ســـلام"],
    "emoji": ["👨\u200d👩\u200d👧\u200d👦", "❤️\u200d🔥", "🧑🏽\u200d💻", "🇮🇷", "🇦🇱", "1️⃣", "👍🏽"],
    "cjk": ["故人西辞黄鹤楼", "日本語のニュース"],
}
ATOMIC = {
    "url": [
        "https://example.com/news/2024/10/story",
        "example.org",
        "http://t.co/abc123",
        "https://fa.wikipedia.org/wiki/ایران",
        "bbc.co.uk/persian?x=1&y=2",
    ],
    "hashtag": ["#Iran", "#ایران", "#هوش_مصنوعی", "#News2024", "#Shqipëri", "#می\u200cخواهم"],
    "entity": ["&amp;", "&#x27;", "&lt;", "&#1575;", "&quot;"],
    "tag": ["<b>", "</b>", "<i>", "</i>", '<a href="https://example.com/?a=1&amp;b=2">', "</a>"],
    "mention": ["@user_1"],
}
SEPARATORS = [" ", " ", " ", "\n", " — ", "، ", ", "]
CLOSERS = re.compile(r"(?:</[a-z]+>)*\Z")


@st.composite
def messages(draw: st.DrawFn) -> tuple[str, list[tuple[int, int]]]:
    """A mixed-script text and the spans of the pieces that must stay whole."""
    kinds = st.sampled_from(sorted(PLAIN) + sorted(ATOMIC))
    text = ""
    atoms: list[tuple[int, int]] = []
    for i in range(draw(st.integers(1, 14))):
        if i:
            text += draw(st.sampled_from(SEPARATORS))
        kind = draw(kinds)
        piece = draw(st.sampled_from(PLAIN.get(kind) or ATOMIC[kind]))
        if kind in ATOMIC or kind == "emoji":
            atoms.append((len(text), len(text) + len(piece)))
        text += piece
    return text, atoms


def _graphemes_count(text: str) -> int:
    return len(graphemes(text))


MEASURES: dict[str, Callable[[str], int]] = {
    "code points": len,
    "utf16": utf16_len,
    "x weighted": weighted_length,
    "graphemes": _graphemes_count,
}


def _grapheme_prefixes(text: str) -> set[str]:
    clusters = graphemes(text)
    return {"".join(clusters[:k]) for k in range(len(clusters) + 1)}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages(), st.sampled_from(sorted(MEASURES)), st.data())
def test_shorten_properties(
    message: tuple[str, list[tuple[int, int]]], measure_name: str, data: st.DataObject
) -> None:
    text, atoms = message
    measure = MEASURES[measure_name]
    budget = data.draw(st.integers(0, measure(text) + 3))
    result = shorten(text, budget, measure)
    assert measure(result) <= budget
    if measure(text) <= budget:
        assert result == text
        return
    if result == "":
        return
    body = CLOSERS.sub("", result)
    assert body.endswith("…")
    prefix = body[: -len("…")]
    assert prefix
    assert prefix in _grapheme_prefixes(text)
    cut = len(prefix)
    assert not any(start < cut < end for start, end in atoms), (cut, atoms)
    assert not prefix[-1].isspace()


@settings(max_examples=100, deadline=None)
@given(messages())
def test_shorten_returns_text_that_fits_unchanged(
    message: tuple[str, list[tuple[int, int]]],
) -> None:
    text, _ = message
    assert shorten(text, weighted_length(text), weighted_length) == text


@pytest.mark.parametrize(
    ("text", "budget", "expected"),
    [
        ("Breaking news: the quick brown fox jumps", 20, "Breaking news: the…"),
        ("Breaking news: the quick brown fox", 14, "Breaking news…"),
        ("Internationalization matters", 10, "Internati…"),
        ("خبر فوری: رئیس\u200cجمهور ایران امروز در تهران", 20, "خبر فوری…"),
        ("故人西辞黄鹤楼，烟花三月下扬州。", 10, "故人西辞黄鹤楼…"),
        ("read https://example.com/a/very/long/path today", 30, "read…"),
        ("AT&amp;T buys Time Warner", 6, "AT…"),
        ("<b>Hello world and more</b> tail", 14, "<b>Hello…</b>"),
        ("<i>Hello</i> <b>world and more</b>", 16, "<i>Hello</i>…"),
        ("👨\u200d👩\u200d👧\u200d👦👨\u200d👩\u200d👧\u200d👦", 8, "👨\u200d👩\u200d👧\u200d👦…"),
        ("short", 10, "short"),
        ("anything", 0, ""),
    ],
)
def test_shorten_examples(text: str, budget: int, expected: str) -> None:
    assert shorten(text, budget, len) == expected


def test_shorten_rejects_a_negative_budget() -> None:
    with pytest.raises(ValueError):
        shorten("x", -1, len)


X_TEMPLATE = jinja2.Environment(autoescape=False).from_string(
    "{{ title }}{% if hashtags %} {{ hashtags | join(' ') }}{% endif %}\n{{ link }}"
)
TELEGRAM_TEMPLATE = jinja2.Environment(autoescape=True).from_string(
    "<b>{{ title }}</b>{% if summary %}\n\n{{ summary }}{% endif %}"
    "{% if hashtags %}\n\n{{ hashtags | join(' ') }}{% endif %}\n\n{{ link }}"
)


def _telegram_length(html: str) -> int:
    plain, _ = parse_html(html)
    return utf16_len(plain)


def _field(kind: str) -> st.SearchStrategy[str]:
    words = st.sampled_from(
        PLAIN["latin"]
        + PLAIN["persian"]
        + PLAIN["arabic"]
        + PLAIN["emoji"]
        + ["AT&T", "<3", "a < b", '"quoted"']
    )
    return st.lists(words, min_size=1 if kind == "title" else 0, max_size=40).map(" ".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=_field("title"),
    summary=_field("summary"),
    tags=st.lists(st.sampled_from(ATOMIC["hashtag"]), max_size=6),
    limit=st.integers(0, 320),
    platform=st.sampled_from(["x", "telegram"]),
)
def test_fit_template_fits_or_says_why(
    title: str, summary: str, tags: list[str], limit: int, platform: str
) -> None:
    if platform == "x":
        template, measure = X_TEMPLATE, weighted_length
    else:
        template, measure = TELEGRAM_TEMPLATE, _telegram_length
    fields: dict[str, Any] = {
        "title": title,
        "summary": summary,
        "hashtags": tags,
        "link": "https://example.com/n/1",
    }
    original = dict(fields)
    try:
        fitted = fit_template(
            template.render,
            fields,
            limit,
            measure,
            drop=["hashtags"],
            shorten=["summary", "title"],
        )
    except FitError as error:
        bare = template.render({**fields, "title": "", "summary": "", "hashtags": []})
        assert measure(bare) > limit
        assert error.length > limit
        return
    finally:
        assert fields == original
    assert measure(fitted.text) <= limit
    assert fitted.text == template.render(fitted.fields)
    assert fitted.fields["hashtags"] == tags[: len(fitted.fields["hashtags"])]
    for name in ("title", "summary"):
        value = fitted.fields[name]
        body = value[:-1] if value.endswith("…") and value != original[name] else value
        assert value == original[name] or body in _grapheme_prefixes(original[name])


def test_fit_template_drops_then_shortens_in_order() -> None:
    fields = {
        "title": "Ministers meet in Tirana to agree on the new regional energy plan",
        "summary": "The plan covers gas, power lines and solar parks across the Balkans. " * 3,
        "hashtags": ["#Albania", "#Energy", "#Balkans"],
        "link": "https://example.com/news/1",
    }
    html = fit_template(
        TELEGRAM_TEMPLATE.render,
        fields,
        4096,
        _telegram_length,
        drop=["hashtags"],
        shorten=["summary", "title"],
    )
    assert html.dropped == () and html.shortened == ()
    fitted = fit_template(
        TELEGRAM_TEMPLATE.render,
        fields,
        150,
        _telegram_length,
        drop=["hashtags"],
        shorten=["summary", "title"],
    )
    assert fitted.dropped == ("hashtags",)
    assert fitted.shortened == ("summary",)
    assert fitted.fields["summary"].endswith("…")
    assert _telegram_length(fitted.text) <= 150
    some_tags = fit_template(
        X_TEMPLATE.render, fields, 100, weighted_length, drop=["hashtags"], shorten=["title"]
    )
    assert some_tags.fields["hashtags"] == ["#Albania"]
    assert some_tags.shortened == ("hashtags",)


def test_fit_template_empties_a_field_below_its_minimum() -> None:
    fields = {
        "title": "Short title",
        "summary": "A summary that would be cut to a stub",
        "link": "",
    }
    render = jinja2.Template("{{ title }}{% if summary %}\n{{ summary }}{% endif %}").render
    fitted = fit_template(render, fields, 20, len, shorten=["summary"], min_keep={"summary": 12})
    assert fitted.text == "Short title"
    assert fitted.dropped == ("summary",)


def test_fit_template_raises_when_fixed_parts_are_too_long() -> None:
    render = jinja2.Template("{{ title }} {{ link }}").render
    with pytest.raises(FitError) as info:
        fit_template(render, {"title": "Title", "link": "x" * 50}, 20, len, shorten=["title"])
    assert info.value.limit == 20 and info.value.length > 20


def test_fit_parts() -> None:
    parts = [
        Part("title", "Parliament passes the budget after a night-long debate"),
        Part("summary", "The vote was 71 to 45; the opposition walked out before the end."),
        Part("hashtags", ["#Kosovo", "#Budget"]),
        Part("link", "https://example.com/a"),
    ]
    whole = fit(parts, 280, weighted_length, drop=["hashtags", "summary"], shorten=["title"])
    assert whole.text.count("\n\n") == 3
    tight = fit(parts, 60, weighted_length, drop=["hashtags", "summary"], shorten=["title"])
    assert tight.dropped == ("hashtags", "summary")
    assert tight.text.endswith("\n\nhttps://example.com/a")
    assert weighted_length(tight.text) <= 60
