"""Our parse_mode=HTML parser against tdlib's own parse_html test cases (shared corpus)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from syndicator.adapters.telegram_html import (
    TelegramHTMLError,
    parse_html,
    to_bot_api_entities,
    utf16_len,
)


def _corpora() -> Path:
    """The shared corpora: $SYNDICATOR_CORPORA, else ../shared/corpora beside the repo."""
    env = os.environ.get("SYNDICATOR_CORPORA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "corpora"


CASES_FILE = _corpora() / "tdlib-parse-html" / "tdlib_parse_html_cases.json"


def _cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads(CASES_FILE.read_text(encoding="utf-8"))["cases"]
    return cases


CASES = _cases()


def test_tdlib_corpus_is_complete() -> None:
    assert len(CASES) == 89
    assert sum(1 for c in CASES if c["ok"]) == 71


@pytest.mark.parametrize("case", CASES, ids=[f"line{c['line']}" for c in CASES])
def test_tdlib_parse_html_corpus(case: dict[str, Any]) -> None:
    if case["ok"]:
        text, entities = parse_html(case["html"])
        assert text == case["text"]
        assert entities == case["entities"]
        for entity in entities:  # offsets are UTF-16 units and stay inside the text
            assert entity["offset"] + entity["length"] <= utf16_len(text)
    else:
        with pytest.raises(TelegramHTMLError) as info:
            parse_html(case["html"])
        assert info.value.message == case["error"]
        assert str(info.value) == case["error"]


def test_utf16_len_counts_surrogate_pairs() -> None:
    assert utf16_len("") == 0
    assert utf16_len("abc") == 3
    assert utf16_len("سلام") == 4
    assert utf16_len("😀") == 2
    assert utf16_len("🏟 x") == 4


def test_persian_text_with_entities() -> None:
    text, entities = parse_html(
        'خبر فوری: <b>زلزله</b> در <a href="https://example.ir/x">تهران</a> 😀')
    assert text == "خبر فوری: زلزله در تهران 😀"
    assert entities == [
        {"type": "Bold", "offset": 10, "length": 5},
        {"type": "TextUrl", "offset": 19, "length": 5, "url": "https://example.ir/x"},
    ]


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("<p>x</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("<br>", 'Unsupported start tag "br" at byte offset 0'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("x <b", "Unclosed start tag at byte offset 2"),
        ('<span class="x">a</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ('<tg-emoji emoji-id="0">x</tg-emoji>', "Invalid custom emoji identifier specified"),
        ("a\x00b", "Text must not contain null bytes"),
    ],
)
def test_common_mistakes_get_telegrams_reason(html: str, error: str) -> None:
    with pytest.raises(TelegramHTMLError, match="^" + error.replace("(", r"\(") + "$"):
        parse_html(html)


@pytest.mark.parametrize(
    ("href", "url"),
    [
        ("https://Example.COM/a b ", "https://example.com/a%20b"),
        ("example.org", "http://example.org/"),
        ("tg://resolve?domain=news", "tg://resolve?domain=news"),
        ("localhost", None),  # no dot in the host: Telegram drops the link, keeps the text
        ("example.org:0", None),
    ],
)
def test_links_are_normalised_like_telegram(href: str, url: str | None) -> None:
    text, entities = parse_html(f'<a href="{href}">x</a>')
    assert text == "x"
    assert entities == ([] if url is None else
                        [{"type": "TextUrl", "offset": 0, "length": 1, "url": url}])


def test_bot_api_entity_shape() -> None:
    _, entities = parse_html(
        '<b>a</b><pre><code class="language-py">b</code></pre><a href="tg://user?id=42">c</a>'
        '<tg-time unix="1647531900" format="wT">d</tg-time>')
    assert to_bot_api_entities(entities) == [
        {"type": "bold", "offset": 0, "length": 1},
        {"type": "pre", "offset": 1, "length": 1, "language": "py"},
        {"type": "text_mention", "offset": 2, "length": 1,
         "user": {"id": 42, "is_bot": False, "first_name": ""}},
        {"type": "date_time", "offset": 3, "length": 1, "unix_time": 1647531900,
         "date_time_format": "wT"},
    ]
