"""utm_* parameters: appended, ours win, the publisher's query and fragment untouched."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syndicator.text import add_utm

TAGS = {"source": "telegram", "medium": "social", "campaign": "daily news"}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://example.com/a",
            "https://example.com/a?utm_source=telegram&utm_medium=social&utm_campaign=daily%20news",
        ),
        (
            "https://example.com/a?id=7&b=",
            "https://example.com/a?id=7&b=&utm_source=telegram&utm_medium=social"
            "&utm_campaign=daily%20news",
        ),
        (
            "https://example.com/a?utm_source=rss&id=7&UTM_MEDIUM=x&utm_term=t#top",
            "https://example.com/a?id=7&utm_term=t&utm_source=telegram&utm_medium=social"
            "&utm_campaign=daily%20news#top",
        ),
        (
            "http://example.com/#/route?x=1",
            "http://example.com/?utm_source=telegram&utm_medium=social&utm_campaign=daily%20news"
            "#/route?x=1",
        ),
        (
            "https://example.com/a?q=%D8%A7%DB%8C%D8%B1%D8%A7%D9%86",
            "https://example.com/a?q=%D8%A7%DB%8C%D8%B1%D8%A7%D9%86&utm_source=telegram"
            "&utm_medium=social&utm_campaign=daily%20news",
        ),
        (
            "https://fa.example.com/خبر/۱",
            "https://fa.example.com/خبر/۱?utm_source=telegram&utm_medium=social"
            "&utm_campaign=daily%20news",
        ),
    ],
)
def test_add_utm(url: str, expected: str) -> None:
    assert add_utm(url, TAGS) == expected


@pytest.mark.parametrize(
    "url",
    ["tg://resolve?domain=x", "mailto:desk@example.com", "/relative/path", "", "http://[::1"],
)
def test_other_links_are_left_alone(url: str) -> None:
    assert add_utm(url, TAGS) == url


def test_nothing_to_add_leaves_the_link_alone() -> None:
    assert add_utm("https://example.com/a?b=1#c", {}) == "https://example.com/a?b=1#c"
    assert add_utm("https://example.com/a", {"source": ""}) == "https://example.com/a"


def test_prefixed_keys_are_taken_as_they_are() -> None:
    assert add_utm("https://e.com/", {"utm_source": "x"}) == "https://e.com/?utm_source=x"


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["id", "utm_source", "utm_medium", "q", "p"]),
            st.text("abc ۱&=+", max_size=4),
        ),
        max_size=5,
    ),
    st.text("abcdef/", max_size=6),
)
def test_ours_win_once_and_the_rest_survive(
    existing: list[tuple[str, str]], fragment: str
) -> None:
    url = "https://example.com/p?" + urlencode(existing) + ("#" + fragment if fragment else "")
    out = add_utm(url, {"source": "x", "medium": "y"})
    parts = urlsplit(out)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    assert [v for k, v in pairs if k == "utm_source"] == ["x"]
    assert [v for k, v in pairs if k == "utm_medium"] == ["y"]
    others = [(k, v) for k, v in existing if not k.startswith("utm_")]
    assert [(k, v) for k, v in pairs if not k.startswith("utm_")] == others
    assert parts.fragment == fragment
