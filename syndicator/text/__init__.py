"""Pure text rules for composing posts: lengths, cuts, hashtags, links, direction.

Nothing here does I/O or knows an adapter; each platform's counting rule is passed in as a
``measure`` function, so the composer can fit one template to X's weighted length and to
Telegram's visible length alike.
"""

from __future__ import annotations

from syndicator.text.bidi import (
    FSI,
    LRI,
    LRM,
    PDI,
    RECOMMENDED_STYLE,
    RLI,
    RLM,
    BidiStyle,
    Direction,
    first_strong,
    is_rtl,
    isolate,
    strip_controls,
)
from syndicator.text.emojis import find_emojis
from syndicator.text.fit import (
    FitError,
    Fitted,
    Measure,
    Part,
    Render,
    fit,
    fit_template,
    shorten,
)
from syndicator.text.graphemes import boundaries, graphemes
from syndicator.text.hashtags import (
    extract_hashtags,
    extract_telegram_hashtags,
    hashtag,
    hashtags,
)
from syndicator.text.urls import UrlMatch, extract_urls, find_urls
from syndicator.text.utm import add_utm
from syndicator.text.xlength import V1, V2, V3, XConfig, XParse, fits_x, parse_x, weighted_length

__all__ = [
    "FSI",
    "LRI",
    "LRM",
    "PDI",
    "RECOMMENDED_STYLE",
    "RLI",
    "RLM",
    "V1",
    "V2",
    "V3",
    "BidiStyle",
    "Direction",
    "FitError",
    "Fitted",
    "Measure",
    "Part",
    "Render",
    "UrlMatch",
    "XConfig",
    "XParse",
    "add_utm",
    "boundaries",
    "extract_hashtags",
    "extract_telegram_hashtags",
    "extract_urls",
    "find_emojis",
    "find_urls",
    "first_strong",
    "fit",
    "fit_template",
    "fits_x",
    "graphemes",
    "hashtag",
    "hashtags",
    "is_rtl",
    "isolate",
    "parse_x",
    "shorten",
    "strip_controls",
    "weighted_length",
]
