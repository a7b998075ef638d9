"""Keep right-to-left titles readable next to left-to-right links and hashtags.

Without help, the Unicode bidi algorithm gets a Persian or Arabic post wrong in three ways: a
title that starts with a Latin word or a digit makes the whole paragraph left-to-right; a link's
trailing ``/`` or a title's final ``!`` drifts to the wrong end; ``#Iran`` in an RTL line shows
its ``#`` on the right. Invisible direction characters fix all three: a strong mark (RLM, LRM)
on each side of a run, or an isolate (RLI/LRI/FSI ... PDI) around it.

What each platform counts and renders, and so the choice (``RECOMMENDED_STYLE``):

- X: LRM, RLM and the isolates each weigh 2 (U+200E/F and U+2066-U+2069 lie outside the
  weight-1 ranges of config v3; ALM U+061C would weigh 1). Browsers and the apps honour marks;
  X has been seen to judge a post's direction by its share of RTL letters rather than by the
  first one (W3C, "Bidi in social media").
- Telegram: 1 UTF-16 unit each. tdlib keeps marks and isolates but deletes U+2028-U+202E
  (``clean_input_string``); Telegram Desktop has mis-rendered isolates
  (telegramdesktop/tdesktop#27099).
- Facebook (the first strong letter sets the direction, in the same W3C tests) and WhatsApp:
  no limit worth counting.

Marks win on every platform: on X they cost the same per character as isolates and a run needs
no more of them, and every bidi implementation since Unicode 2.0 honours them, while isolates
need UBA 6.3 support. ALM would save one weighted character per mark on X but is an Arabic
letter to the algorithm, so it turns following European digits into Arabic ones
(``2024-10-05`` can be reordered); RLM is used instead. Isolates stay available for text that
must not leak direction into its surroundings (an arbitrary quote inside a sentence).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import regex

from syndicator.text.urls import find_urls

__all__ = [
    "FSI",
    "LRI",
    "LRM",
    "PDI",
    "RECOMMENDED_STYLE",
    "RLI",
    "RLM",
    "BidiStyle",
    "Direction",
    "first_strong",
    "is_rtl",
    "isolate",
    "strip_controls",
]

Direction = Literal["rtl", "ltr"]
BidiStyle = Literal["marks", "isolate", "none"]

LRM, RLM = "\u200e", "\u200f"
LRI, RLI, FSI, PDI = "\u2066", "\u2067", "\u2068", "\u2069"

RECOMMENDED_STYLE: Mapping[str, BidiStyle] = {
    "x": "marks",
    "telegram": "marks",
    "facebook": "marks",
    "whatsapp": "marks",
}

_STRONG = regex.compile(r"(?P<rtl>[\p{bc=R}\p{bc=AL}])|(?P<ltr>\p{bc=L})")
_CONTROLS = regex.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def first_strong(text: str) -> Direction | None:
    """Direction of the first strong letter, as rule P2 of the bidi algorithm finds it."""
    m = _STRONG.search(text)
    if m is None:
        return None
    return "rtl" if m["rtl"] else "ltr"


def is_rtl(text: str) -> bool:
    """Whether ``text`` reads right to left: more RTL than LTR letters outside links.

    Counting beats the first strong letter for news titles such as ``BBC: ...`` or ``COVID-19
    ...`` in Persian; a tie goes to the first strong letter, and text without letters is LTR.
    """
    for start, end, _ in reversed(find_urls(text)):
        text = text[:start] + text[end:]
    rtl = ltr = 0
    for m in _STRONG.finditer(text):
        if m["rtl"]:
            rtl += 1
        else:
            ltr += 1
    if rtl != ltr:
        return rtl > ltr
    return first_strong(text) == "rtl"


def isolate(text: str, *, style: BidiStyle = "marks", direction: Direction | None = None) -> str:
    """``text`` wrapped so it keeps its own direction wherever it is placed.

    ``marks`` puts RLM (or LRM) on both sides: the leading one sets a paragraph's direction,
    the trailing one holds trailing punctuation in place. ``isolate`` uses RLI/LRI ... PDI, or
    FSI ... PDI when ``direction`` is None. Without ``direction``, ``marks`` asks ``is_rtl``.
    ``none`` and empty text return ``text`` unchanged.
    """
    if style == "none" or not text:
        return text
    if style == "isolate":
        opener = {None: FSI, "rtl": RLI, "ltr": LRI}[direction]
        return f"{opener}{text}{PDI}"
    if direction is None:
        direction = "rtl" if is_rtl(text) else "ltr"
    mark = RLM if direction == "rtl" else LRM
    return f"{mark}{text}{mark}"


def strip_controls(text: str) -> str:
    """``text`` without bidi marks, embeddings, overrides or isolates.

    Feeds carry stray marks (often several per Persian title) and overrides, which can spoof
    what a reader sees and which tdlib deletes anyway. Strip them, then add our own.
    """
    return _CONTROLS.sub("", text)
