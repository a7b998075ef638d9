"""Direction helpers: detection, wrapping, and what the added characters cost on each platform."""

from __future__ import annotations

import pytest

from syndicator.adapters.telegram_html import utf16_len
from syndicator.text import (
    FSI,
    LRI,
    LRM,
    PDI,
    RECOMMENDED_STYLE,
    RLI,
    RLM,
    extract_hashtags,
    extract_telegram_hashtags,
    extract_urls,
    first_strong,
    is_rtl,
    isolate,
    strip_controls,
    weighted_length,
)


@pytest.mark.parametrize(
    ("text", "rtl"),
    [
        ("خبر فوری از تهران", True),
        ("BBC: گزارش خبرنگار از تهران درباره انتخابات", True),
        ("COVID-19: واکسن جدید", True),
        ("«۱۲» نفر کشته شدند", True),
        ("الأخبار https://example.com/a/very/long/english/path", True),
        ("Kosova sot", False),
        ("Breaking: قطر", False),
        ("ab سل", False),
        ("سل ab", True),
        ("2024 - 10", False),
        ("", False),
    ],
)
def test_is_rtl(text: str, rtl: bool) -> None:
    assert is_rtl(text) is rtl


def test_first_strong() -> None:
    assert first_strong("«۱۲» BBC گزارش") == "ltr"
    assert first_strong("123 خبر") == "rtl"
    assert first_strong("123 !") is None


def test_isolate_styles() -> None:
    title = "BBC: گزارش"
    assert isolate(title) == f"{RLM}{title}{RLM}"
    assert isolate("https://e.com/x/", direction="ltr") == f"{LRM}https://e.com/x/{LRM}"
    assert isolate(title, style="isolate") == f"{FSI}{title}{PDI}"
    assert isolate(title, style="isolate", direction="rtl") == f"{RLI}{title}{PDI}"
    assert isolate(title, style="isolate", direction="ltr") == f"{LRI}{title}{PDI}"
    assert isolate(title, style="none") == title
    assert isolate("") == ""


def test_recommended_style_is_marks_everywhere() -> None:
    assert set(RECOMMENDED_STYLE) == {"x", "telegram", "facebook", "whatsapp"}
    assert set(RECOMMENDED_STYLE.values()) == {"marks"}


def test_what_the_characters_cost() -> None:
    for char in (LRM, RLM, LRI, RLI, FSI, PDI):
        assert weighted_length(char) == 2
        assert utf16_len(char) == 1
    assert weighted_length("\u061c") == 1


def test_marked_links_and_tags_stay_links_and_tags() -> None:
    post = " ".join(
        [
            isolate("BBC: انفجار در بندر عباس!"),
            isolate("https://example.com/fa/news/", direction="ltr"),
            isolate("example.org", direction="ltr"),
            isolate("#Iran #News", direction="ltr"),
            "#ایران",
        ]
    )
    assert extract_urls(post) == ["https://example.com/fa/news/", "example.org"]
    assert extract_hashtags(post) == ["Iran", "News", "ایران"]
    assert extract_telegram_hashtags(post) == ["Iran", "News", "ایران"]
    bare = strip_controls(post)
    assert weighted_length(post) == weighted_length(bare) + 8 * 2


def test_strip_controls() -> None:
    assert strip_controls("\u202bخبر\u202c \u200fفوری\u200f \u2068x\u2069\u061c") == "خبر فوری x"
