"""Find emoji sequences with current Unicode emoji data.

X counts a whole emoji sequence (ZWJ family, skin tone, flag, keycap, tag flag) as two
characters. twitter-text matches a fixed list of sequences, so a sequence missing from the list
is counted code point by code point; ``twitter-text-parser`` still carries the 2019 list
(Emoji 12), which over-counts ``❤️‍🔥`` and every newer ZWJ sequence. We match against the
``emoji`` package's data instead (every sequence in emoji-test.txt, whatever its
qualification), longest match first, scanning left to right as twitter-text's regex does.
Sequences that are not in the data (a ZWJ chain nobody standardised, a skin tone on a
non-person) are split as X would split them, so an unknown sequence is over-counted, never
under-counted.
"""

from __future__ import annotations

from functools import cache
from typing import TypeAlias

import emoji as emoji_data

__all__ = ["find_emojis"]

_END = ""
_Node: TypeAlias = "dict[str, _Node]"


@cache
def _trie() -> _Node:
    root: _Node = {}
    for sequence in emoji_data.EMOJI_DATA:
        node = root
        for char in sequence:
            node = node.setdefault(char, {})
        node[_END] = {}
    return root


def find_emojis(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` code point spans of the emoji sequences in ``text``, left to right."""
    root = _trie()
    spans: list[tuple[int, int]] = []
    i, n = 0, len(text)
    while i < n:
        node = root.get(text[i])
        if node is None:
            i += 1
            continue
        end = i + 1 if _END in node else 0
        j = i + 1
        while j < n:
            node = node.get(text[j])
            if node is None:
                break
            j += 1
            if _END in node:
                end = j
        if end:
            spans.append((i, end))
            i = end
        else:
            i += 1
    return spans
