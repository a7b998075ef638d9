"""Hashtags: twitter-text's hashtag corpus, tdlib's rule, and tags both platforms link whole."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from syndicator.text import (
    extract_hashtags,
    extract_telegram_hashtags,
    hashtag,
    hashtags,
    isolate,
)


def _corpora() -> Path:
    path = Path(
        os.environ.get("SYNDICATOR_CORPORA")
        or Path(__file__).resolve().parents[2] / "shared" / "corpora"
    )
    if not path.is_dir():
        raise FileNotFoundError(f"test corpora not found at {path} (set SYNDICATOR_CORPORA)")
    return path


def _extract_cases() -> dict[str, list[dict[str, Any]]]:
    path = _corpora() / "twitter-text" / "conformance" / "extract.yml"
    with open(path, encoding="utf-8") as f:
        tests: dict[str, list[dict[str, Any]]] = yaml.safe_load(f)["tests"]
    return tests


EXTRACT = _extract_cases()
CORPUS = EXTRACT["hashtags"] + EXTRACT["hashtags_from_astral"]


@pytest.mark.parametrize("case", CORPUS, ids=[c["description"] for c in CORPUS])
def test_x_hashtag_extraction_corpus(case: dict[str, Any]) -> None:
    assert extract_hashtags(case["text"]) == case["expected"]


@pytest.mark.parametrize(
    "case",
    EXTRACT["hashtags_with_indices"],
    ids=[c["description"] for c in EXTRACT["hashtags_with_indices"]],
)
def test_x_hashtag_indices_corpus(case: dict[str, Any]) -> None:
    assert extract_hashtags(case["text"]) == [e["hashtag"] for e in case["expected"]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#news #خبر", ["news", "خبر"]),
        ("#می\u200cخواهم", ["می\u200cخواهم"]),
        ("#مُحَمَّد", ["م"]),
        ("#ab\u200dcd", ["ab"]),
        ("#123", []),
        ("#123abc", ["123abc"]),
        ("a#tag", []),
        ("#tag#other", []),
        ("#il·lusió", ["il·lusió"]),
        ("＃fullwidth", []),
        ("#" + "a" * 300, ["a" * 256]),
    ],
)
def test_telegram_hashtag_rule(text: str, expected: list[str]) -> None:
    assert extract_telegram_hashtags(text) == expected


@pytest.mark.parametrize(
    ("term", "tag"),
    [
        ("climate change", "#ClimateChange"),
        ("COVID-19 vaccine", "#COVID19Vaccine"),
        ("Women's rights", "#WomensRights"),
        ("iPhone sales", "#iPhoneSales"),
        ("U.S. election", "#USElection"),
        ("Shqipëri e Veriut", "#ShqipëriEVeriut"),
        ("Kosova", "#Kosova"),
        ("هوش مصنوعی", "#هوش_مصنوعی"),
        ("می\u200cخواهم", "#می\u200cخواهم"),
        ("\u200cهوش\u200c\u200cمصنوعی\u200c", "#هوش\u200cمصنوعی"),
        ("مُحَمَّد", "#محمد"),
        ("ســـلام عليكم", "#سلام_عليكم"),
        ("قمة G20", "#قمة_G20"),
        ("انتخابات ۲۰۲۴", "#انتخابات_۲۰۲۴"),
        ("#2024 Olympics", "#2024Olympics"),
        ("e\u0301lection", "#élection"),
        ("2024", None),
        ("10 20", None),
        ("  ", None),
        ("#", None),
        ("🔥", None),
        ("x" * 257, None),
    ],
)
def test_hashtag_examples(term: str, tag: str | None) -> None:
    assert hashtag(term) == tag


def test_zwnj_policy() -> None:
    assert hashtag("می\u200cخواهم", zwnj="underscore") == "#می_خواهم"
    assert hashtag("می\u200cخواهم", zwnj="remove") == "#میخواهم"


def test_hashtags_maps_stops_dedupes_and_limits() -> None:
    got = hashtags(
        ["World", "Politics", "world", "Sport", "Iran", "Climate change", "Extra"],
        mapping={"POLITICS": "Politik", "sport": ""},
        stop={"#iran"},
        max_count=3,
    )
    assert got == ["#World", "#Politik", "#ClimateChange"]
    assert hashtags(["ایران", "اخبار"], mapping=None, stop={"اخبار"}, max_count=5) == ["#ایران"]
    assert hashtags(["a", "b"], mapping=None, stop=None, max_count=0) == []


TERM_ALPHABET = st.sampled_from(
    list("abcXYZ019ëçéİı ")
    + ["\u200c", "\u200d", "\u064e", "\u0640", "'", "-", ".", "&", "#", "_", "·", "🔥", "e\u0301"]
    + list("سلامیکگپچژ۱۲۳٤٥")
    + list("日本語한국")
)


@settings(max_examples=300, deadline=None)
@given(st.lists(TERM_ALPHABET, max_size=20).map("".join))
def test_every_tag_is_linked_whole_on_x_and_telegram(term: str) -> None:
    tag = hashtag(term)
    if tag is None:
        return
    body = tag[1:]
    for context in (tag, f"خبر {tag} امروز", f"News {tag}, today", isolate(tag, direction="ltr")):
        assert extract_hashtags(context) == [body], context
        assert extract_telegram_hashtags(context) == [body], context
