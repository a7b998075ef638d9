r"""Extended grapheme clusters (UAX #29): the units a reader sees and a cut must not split.

We rely on the ``regex`` package's ``\X``, which follows the current Unicode release: emoji ZWJ
sequences, flags, skin tones and keycaps stay whole, combining marks stay on their base, and a
ZWNJ or ZWJ between Persian or Arabic letters stays attached to the letter before it, so cutting
at a cluster boundary never leaves a dangling joiner at the start of the next cluster. The
standard library's ``unicodedata`` (Unicode 14 on Python 3.11) has no grapheme data at all.
"""

from __future__ import annotations

import regex

__all__ = ["boundaries", "graphemes"]

_CLUSTER = regex.compile(r"\X")


def graphemes(text: str) -> list[str]:
    """``text`` split into extended grapheme clusters; ``"".join`` gives ``text`` back."""
    return _CLUSTER.findall(text)


def boundaries(text: str) -> list[int]:
    """Code point offsets where a cluster starts, plus ``len(text)``: the safe places to cut."""
    offsets = [m.start() for m in _CLUSTER.finditer(text)]
    offsets.append(len(text))
    return offsets
