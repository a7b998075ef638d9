"""Pieces of a message that must never be cut: links, hashtags, mentions, HTML tags, entities.

A link cut in half still counts (and shows) as a link, but to the wrong place; half a hashtag is
another hashtag; half a tag or ``&amp;`` makes Telegram reject the whole message. We find
links twice over, as X does (``urls.find_urls``: bare domains too) and as any client does
(a scheme followed by everything up to a space), and keep the union: protecting a few extra
characters costs nothing, cutting a link costs the post.
"""

from __future__ import annotations

import regex

from syndicator.text.urls import find_urls

__all__ = ["atomic_spans", "is_opening_tag"]

_ATOMS = regex.compile(
    r"""
      (?P<scheme_url>[A-Za-z][A-Za-z0-9+.\-]*://[^\s<>"«»]+)
    | (?P<hashtag>[#＃][\p{L}\p{M}\p{Nd}_\u200c\u200d\u00b7]+)
    | (?P<mention>[@＠][A-Za-z0-9_]+)
    | (?P<tag></?[A-Za-z][A-Za-z0-9\-]*(?:\s[^<>]*)?/?>)
    | (?P<entity>&(?:\#[0-9]+|\#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);)
    """,
    regex.VERBOSE,
)
_OPENING_TAG = regex.compile(r"<[A-Za-z][A-Za-z0-9\-]*(?:\s[^<>]*)?>")


def atomic_spans(text: str) -> list[tuple[int, int]]:
    """Sorted, non-overlapping ``(start, end)`` code point spans that must stay whole."""
    spans = [(m.start, m.end) for m in find_urls(text)]
    spans += [m.span() for m in _ATOMS.finditer(text)]
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def is_opening_tag(piece: str) -> bool:
    """Whether ``piece`` is exactly one opening HTML tag such as ``<b>`` or ``<a href="…">``."""
    return _OPENING_TAG.fullmatch(piece) is not None and not piece.endswith("/>")
