"""Grapheme clusters: what a reader sees as one character stays one piece."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syndicator.text import boundaries, graphemes


@pytest.mark.parametrize(
    ("text", "clusters"),
    [
        ("👨‍👩‍👧‍👦", ["👨‍👩‍👧‍👦"]),
        ("❤️‍🔥x", ["❤️‍🔥", "x"]),
        ("🇮🇷🇦🇱", ["🇮🇷", "🇦🇱"]),
        ("🇮🇷🇦", ["🇮🇷", "🇦"]),
        ("👍🏽!", ["👍🏽", "!"]),
        ("1️⃣2", ["1️⃣", "2"]),
        ("🏴󠁧󠁢󠁷󠁬󠁳󠁿", ["🏴󠁧󠁢󠁷󠁬󠁳󠁿"]),
        ("e\u0301a", ["e\u0301", "a"]),
        ("مُحَمَّد", ["مُ", "حَ", "مَّ", "د"]),
        ("می\u200cخواهم", ["م", "ی\u200c", "خ", "و", "ا", "ه", "م"]),
        ("ë ç", ["ë", " ", "ç"]),
        ("\r\n", ["\r\n"]),
        ("한국어", ["한", "국", "어"]),
        ("", []),
    ],
)
def test_clusters(text: str, clusters: list[str]) -> None:
    assert graphemes(text) == clusters


def test_boundaries_are_cluster_starts_and_the_end() -> None:
    assert boundaries("a👍🏽b") == [0, 1, 3, 4]
    assert boundaries("") == [0]


@given(st.text())
def test_clusters_rebuild_the_text(text: str) -> None:
    clusters = graphemes(text)
    assert "".join(clusters) == text
    assert all(clusters)
    offsets = boundaries(text)
    assert offsets == [sum(len(c) for c in clusters[:i]) for i in range(len(clusters) + 1)]
