"""X's weighted post length: twitter-text's ``parseTweet``, ported with current emoji data.

The rules (X's "counting characters" page, twitter-text ``js/src/parseTweet.js``): the text is
NFC-normalised; every link found by twitter-text's extractor counts ``transformedURLLength``;
with emoji parsing on, a whole emoji sequence counts ``defaultWeight``; any other code point
weighs by the config's ranges (a code point outside the BMP weighs as its low surrogate, that is
``defaultWeight`` in every official config). A post is valid when ``0 < length <= max`` and it
holds none of U+FFFE, U+FEFF, U+FFFF.

We port rather than depend on ``twitter-text-parser`` 3.0.0 (2023): it does
``import pkg_resources``, which setuptools 82 removed (so ``import twitter_text`` fails in any
fresh environment), and its Emoji 12 table over-counts every newer ZWJ sequence. It also turns
CR LF into LF before counting, which the reference does not.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

from syndicator.text.emojis import find_emojis
from syndicator.text.urls import find_urls

__all__ = ["V1", "V2", "V3", "XConfig", "XParse", "fits_x", "parse_x", "weighted_length"]

_INVALID = frozenset("\ufffe\ufeff\uffff")


@dataclass(frozen=True, slots=True)
class XConfig:
    """One twitter-text weighting config (``config/v*.json``), weights scaled by ``scale``."""

    max_length: int
    scale: int
    default_weight: int
    url_length: int
    emoji_parsing: bool
    ranges: tuple[tuple[int, int, int], ...]

    def weight(self, code_unit: int) -> int:
        """Scaled weight of one UTF-16 code unit (``getCharacterWeight``)."""
        for start, end, weight in self.ranges:
            if start <= code_unit <= end:
                return weight
        return self.default_weight


# twitter/twitter-text@30e2430 config/v1.json: 140 characters, every code point weighs 1.
V1 = XConfig(
    max_length=140, scale=1, default_weight=1, url_length=23, emoji_parsing=False, ranges=()
)
_CJK_DISCOUNT = ((0, 4351, 100), (8192, 8205, 100), (8208, 8223, 100), (8242, 8247, 100))
# config/v2.json: 280, weight 100 in U+0000-U+10FF, U+2000-U+200D, U+2010-U+201F,
# U+2032-U+2037, 200 elsewhere, scale 100.
V2 = XConfig(
    max_length=280,
    scale=100,
    default_weight=200,
    url_length=23,
    emoji_parsing=False,
    ranges=_CJK_DISCOUNT,
)
# config/v3.json: v2 plus emojiParsingEnabled, the rule X applies today.
V3 = XConfig(
    max_length=280,
    scale=100,
    default_weight=200,
    url_length=23,
    emoji_parsing=True,
    ranges=_CJK_DISCOUNT,
)


@dataclass(frozen=True, slots=True)
class XParse:
    """``parseTweet``'s answer; the range ends are inclusive UTF-16 indices, as in the JS."""

    weighted_length: int
    valid: bool
    permillage: int
    valid_range_end: int
    display_range_end: int


def parse_x(text: str, config: XConfig = V3) -> XParse:
    """Weigh ``text`` as X does and say whether it may be posted."""
    normalized = unicodedata.normalize("NFC", text)
    urls = {m.start: len(m.url) for m in find_urls(normalized)}
    emojis = (
        {start: end - start for start, end in find_emojis(normalized)}
        if config.emoji_parsing
        else {}
    )
    limit = config.max_length * config.scale
    total = 0
    valid = True
    valid_end = 0
    unit = 0
    i, n = 0, len(normalized)
    while i < n:
        if i in urls:
            total += config.url_length * config.scale
            step = urls[i]
        elif i in emojis:
            total += config.default_weight
            step = emojis[i]
        else:
            total += config.weight(_last_code_unit(ord(normalized[i])))
            step = 1
        unit += (
            step
            if step == 1 and normalized[i] < "\U00010000"
            else _utf16_len(normalized[i : i + step])
        )
        if valid:
            valid = normalized[i + step - 1] not in _INVALID
        if valid and total <= limit:
            valid_end = unit - 1
        i += step
    length = -(-total // config.scale)
    offset = _utf16_len(text) - _utf16_len(normalized)
    return XParse(
        weighted_length=length,
        valid=valid and 0 < length <= config.max_length,
        permillage=math.floor(length / config.max_length * 1000),
        valid_range_end=valid_end + offset,
        display_range_end=max(_utf16_len(text) - 1, 0),
    )


def weighted_length(text: str, config: XConfig = V3) -> int:
    """The length X shows for ``text`` (280 is the limit under v3)."""
    return parse_x(text, config).weighted_length


def fits_x(text: str, config: XConfig = V3) -> bool:
    """Whether X accepts ``text`` as a post: weighted length 1-280, no invalid characters."""
    return parse_x(text, config).valid


def _last_code_unit(code_point: int) -> int:
    """The code unit the JS weighs for a code point: itself, or its low surrogate."""
    if code_point < 0x10000:
        return code_point
    return 0xDC00 + ((code_point - 0x10000) & 0x3FF)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
