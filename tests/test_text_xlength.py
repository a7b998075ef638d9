"""X weighted length against twitter-text's own conformance corpus (read at test time)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from syndicator.text import V1, V2, V3, extract_urls, find_urls, fits_x, parse_x, weighted_length
from syndicator.text._tlds import COUNTRY, GENERIC


def _corpora() -> Path:
    path = Path(
        os.environ.get("SYNDICATOR_CORPORA")
        or Path(__file__).resolve().parents[2] / "shared" / "corpora"
    )
    if not path.is_dir():
        raise FileNotFoundError(f"test corpora not found at {path} (set SYNDICATOR_CORPORA)")
    return path


def _load(name: str) -> dict[str, list[dict[str, Any]]]:
    with open(_corpora() / "twitter-text" / "conformance" / name, encoding="utf-8") as f:
        tests: dict[str, list[dict[str, Any]]] = yaml.safe_load(f)["tests"]
    return tests


VALIDATE = _load("validate.yml")
EXTRACT = _load("extract.yml")


def _cases(section: str, source: dict[str, list[dict[str, Any]]]) -> Any:
    return pytest.mark.parametrize(
        "case", source[section], ids=[c["description"] for c in source[section]]
    )


def _as_reference(text: str, config: Any) -> dict[str, Any]:
    r = parse_x(text, config)
    return {
        "weightedLength": r.weighted_length,
        "valid": r.valid,
        "permillage": r.permillage,
        "displayRangeStart": 0,
        "displayRangeEnd": r.display_range_end,
        "validRangeStart": 0,
        "validRangeEnd": r.valid_range_end,
    }


def test_corpus_has_the_44_weighted_cases() -> None:
    sections = (
        "WeightedTweetsCounterTest",
        "WeightedTweetsWithDiscountedEmojiCounterTest",
        "UnicodeDirectionalMarkerCounterTest",
    )
    assert [len(VALIDATE[s]) for s in sections] == [20, 22, 2]


@_cases("WeightedTweetsCounterTest", VALIDATE)
def test_weighted_v2_corpus(case: dict[str, Any]) -> None:
    assert _as_reference(case["text"], V2) == case["expected"]


@_cases("WeightedTweetsWithDiscountedEmojiCounterTest", VALIDATE)
def test_weighted_v3_corpus(case: dict[str, Any]) -> None:
    assert _as_reference(case["text"], V3) == case["expected"]


@_cases("UnicodeDirectionalMarkerCounterTest", VALIDATE)
def test_directional_markers_corpus(case: dict[str, Any]) -> None:
    assert _as_reference(case["text"], V3) == case["expected"]


@_cases("tweets", VALIDATE)
def test_legacy_validity_v1_corpus(case: dict[str, Any]) -> None:
    assert fits_x(case["text"], V1) is case["expected"]


@_cases("urls", EXTRACT)
def test_url_extraction_corpus(case: dict[str, Any]) -> None:
    assert extract_urls(case["text"]) == case["expected"]


@_cases("urls_with_indices", EXTRACT)
def test_url_indices_corpus(case: dict[str, Any]) -> None:
    got = [{"url": m.url, "indices": [m.start, m.end]} for m in find_urls(case["text"])]
    assert got == case["expected"]


@_cases("urls_with_directional_markers", EXTRACT)
def test_url_directional_markers_corpus(case: dict[str, Any]) -> None:
    got = [{"url": m.url, "indices": [m.start, m.end]} for m in find_urls(case["text"])]
    assert got == case["expected"]


@_cases("tco_urls_with_params", EXTRACT)
def test_tco_urls_with_params_corpus(case: dict[str, Any]) -> None:
    assert extract_urls(case["text"]) == case["expected"]


def test_every_tld_of_the_corpus_is_ours_and_detected() -> None:
    tlds = _load("tlds.yml")
    failures = []
    for section, ours in (("country", COUNTRY), ("generic", GENERIC)):
        listed = [c["description"].split(" is a valid ")[0] for c in tlds[section]]
        assert list(ours) == listed, section
        failures += [c["text"] for c in tlds[section] if extract_urls(c["text"]) != c["expected"]]
    assert failures == []


@pytest.mark.parametrize(
    "emoji",
    ["❤️‍🔥", "🧑‍🎄", "😮‍💨", "🫠", "🧑🏽‍💻", "🫱🏼‍🫲🏿", "🇦🇱", "🇮🇷", "#️⃣", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "👩‍❤️‍💋‍👩"],
)
def test_newer_emoji_sequences_count_two(emoji: str) -> None:
    assert weighted_length(emoji) == 2
    assert weighted_length(f"a {emoji} b") == 6


def test_unknown_zwj_chain_is_split_not_undercounted() -> None:
    assert weighted_length("🐱\u200d🦄") == 2 + 1 + 2


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("example.com", 23),
        ("read example.ir/news now", 5 + 23 + 4),
        ("https://www.bbc.com/persian/articles/c1234567890?utm_source=x&utm_medium=y", 23),
        ("e\u0301", 1),
        ("ab\r\nc", 5),
        ("\u200e", 2),
        ("\u2068\u2069", 4),
        ("\u061c", 1),
        ("سلام", 4),
        ("你好", 4),
        ("", 0),
    ],
)
def test_weighted_length_examples(text: str, length: int) -> None:
    assert weighted_length(text) == length


def test_fits_x_boundaries() -> None:
    assert fits_x("a" * 280)
    assert not fits_x("a" * 281)
    assert fits_x("界" * 140)
    assert not fits_x("界" * 141)
    assert not fits_x("")
    assert not fits_x("fine\ufeff")
    assert fits_x("x" * 256 + " https://example.com/" + "y" * 500)
    assert not fits_x("x" * 257 + " https://example.com/" + "y" * 500)
