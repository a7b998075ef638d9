"""Make a message fit a platform's limit: drop optional parts, then shorten, never mid-token.

Lengths are measured by a caller-supplied function (X's weighted length, Telegram's visible
UTF-16 length after HTML parsing, plain code points), so one fitting routine serves every
platform and stays right whatever the platform counts. A template is fitted by re-rendering it
with fewer or shorter fields, so the same Jinja2 template that wrote the message decides where
separators and markup go once a part is gone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import regex

from syndicator.text.atoms import atomic_spans, is_opening_tag
from syndicator.text.graphemes import boundaries, graphemes

__all__ = ["FitError", "Fitted", "Measure", "Part", "Render", "fit", "fit_template", "shorten"]

Measure = Callable[[str], int]
Render = Callable[[Mapping[str, Any]], str]

_TRAILING = frozenset(
    ",;:-\u2010\u2011\u2012\u2013\u2014\u2015\u060c\u061b\u3001\uff0c\uff1a\uff1b"
)
_AFTER_BREAK = frozenset("\u3001\u3002\uff0c\uff01\uff1f")
_TAG = regex.compile(r"<(/?)([A-Za-z][A-Za-z0-9\-]*)(?:\s[^<>]*)?(/?)>")
_VOID = frozenset({"br", "hr", "img", "input", "meta", "link", "wbr"})


def shorten(
    text: str,
    budget: int,
    measure: Measure,
    ellipsis: str = "…",
    *,
    min_word_ratio: float = 0.6,
    long_word: int = 15,
) -> str:
    """Cut ``text`` so ``measure(result) <= budget``, ending with ``ellipsis``.

    The cut falls at a word boundary, or at a grapheme boundary when the last word boundary
    would give up more than ``long_word`` code points and keep less than ``min_word_ratio`` of
    what a grapheme cut keeps (languages written without spaces, one very long word). It
    never falls inside a grapheme cluster, a link, a hashtag, a mention, an HTML tag or an
    entity; trailing spaces, commas and dashes go before the ellipsis, and HTML elements left
    open are closed after it. Returns ``text`` when it already fits and ``""`` when nothing
    but the ellipsis would.

    Raises:
        ValueError: if ``budget`` is negative.
    """
    if budget < 0:
        raise ValueError(f"budget must be >= 0, not {budget}")
    if measure(text) <= budget:
        return text
    cuts = _cut_points(text)

    def candidate(k: int) -> str:
        return _finish(text, cuts, k, ellipsis)

    def fits(k: int) -> bool:
        return measure(candidate(k)) <= budget

    if not fits(0):
        return ""
    lo, hi = 0, len(cuts) - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    word = _word_cut(text, cuts, lo, fits)
    if word is not None and (
        cuts[lo] - cuts[word] <= long_word or cuts[word] >= min_word_ratio * cuts[lo]
    ):
        return candidate(word)
    return candidate(lo)


@dataclass(frozen=True, slots=True)
class Part:
    """One named piece of a plain message; a sequence value (hashtags) is joined by ``joiner``."""

    name: str
    value: str | Sequence[str]
    joiner: str = " "


@dataclass(frozen=True, slots=True)
class Fitted:
    """A message that fits, the fields that rendered it, and what was given up for it."""

    text: str
    fields: dict[str, Any]
    dropped: tuple[str, ...] = ()
    shortened: tuple[str, ...] = ()


class FitError(ValueError):
    """Even with every optional part dropped and every shortenable part emptied, too long.

    Carries the ``length`` it still measured, the ``limit``, and the ``text`` and ``fields``
    of that last attempt.
    """

    def __init__(self, length: int, limit: int, text: str, fields: dict[str, Any]) -> None:
        super().__init__(f"message measures {length} after fitting, over the limit of {limit}")
        self.length = length
        self.limit = limit
        self.text = text
        self.fields = fields


def fit_template(
    render: Render,
    fields: Mapping[str, Any],
    limit: int,
    measure: Measure,
    *,
    drop: Sequence[str] = (),
    shorten: Sequence[str] = (),
    ellipsis: str = "…",
    min_keep: Mapping[str, int] | None = None,
) -> Fitted:
    """Render ``fields`` so the message measures at most ``limit``.

    First the fields named in ``drop`` go, in that order (a list or tuple loses its last
    item at a time, so as many hashtags as fit stay); then the string fields named in
    ``shorten`` are shortened, in that order, each as little as needed. A field that would
    keep fewer graphemes than ``min_keep[name]`` is emptied instead. ``render`` must treat an
    empty field as absent (``{% if summary %}``). ``fields`` is not modified.

    Raises:
        FitError: when the message is still too long with all of that done.
    """
    current = dict(fields)
    dropped: list[str] = []
    shortened: list[str] = []
    text = render(current)
    if measure(text) <= limit:
        return Fitted(text, current)
    for name in drop:
        value = current.get(name)
        if isinstance(value, list | tuple):
            while value:
                value = value[:-1]
                current[name] = value
                text = render(current)
                if measure(text) <= limit:
                    (shortened if value else dropped).append(name)
                    return Fitted(text, current, tuple(dropped), tuple(shortened))
            dropped.append(name)
        elif value:
            current[name] = ""
            dropped.append(name)
            text = render(current)
            if measure(text) <= limit:
                return Fitted(text, current, tuple(dropped), tuple(shortened))
    keep = min_keep or {}
    for name in shorten:
        value = current.get(name)
        if not isinstance(value, str) or not value:
            continue
        others = dict(current)

        def measure_field(
            candidate: str, name: str = name, others: dict[str, Any] = others
        ) -> int:
            others[name] = candidate
            return measure(render(others))

        short = _shorten_field(value, limit, measure_field, ellipsis)
        if short and len(graphemes(short)) - len(graphemes(ellipsis)) >= keep.get(name, 1):
            current[name] = short
            shortened.append(name)
            text = render(current)
            if measure(text) <= limit:
                return Fitted(text, current, tuple(dropped), tuple(shortened))
        else:
            current[name] = ""
            dropped.append(name)
    text = render(current)
    length = measure(text)
    if length <= limit:
        return Fitted(text, current, tuple(dropped), tuple(shortened))
    raise FitError(length, limit, text, current)


def fit(
    parts: Sequence[Part],
    limit: int,
    measure: Measure,
    *,
    drop: Sequence[str] = (),
    shorten: Sequence[str] = (),
    separator: str = "\n\n",
    ellipsis: str = "…",
    min_keep: Mapping[str, int] | None = None,
) -> Fitted:
    """Join the non-empty ``parts`` with ``separator`` and fit them as ``fit_template`` does.

    Raises:
        FitError: when the message is still too long with every allowed step taken.
    """
    order = [p.name for p in parts]
    joiners = {p.name: p.joiner for p in parts}

    def render(fields: Mapping[str, Any]) -> str:
        pieces = []
        for name in order:
            value = fields[name]
            text = value if isinstance(value, str) else joiners[name].join(value)
            if text:
                pieces.append(text)
        return separator.join(pieces)

    values = {p.name: p.value if isinstance(p.value, str) else list(p.value) for p in parts}
    return fit_template(
        render,
        values,
        limit,
        measure,
        drop=drop,
        shorten=shorten,
        ellipsis=ellipsis,
        min_keep=min_keep,
    )


def _shorten_field(value: str, limit: int, measure: Measure, ellipsis: str) -> str:
    """The module's ``shorten``, which ``fit_template``'s ``shorten`` argument hides."""
    return shorten(value, limit, measure, ellipsis)


def _cut_points(text: str) -> list[int]:
    """Grapheme boundaries outside every atomic span, ascending, from 0 to ``len(text)``."""
    cuts = boundaries(text)
    spans = atomic_spans(text)
    if not spans:
        return cuts
    allowed: list[int] = []
    i = 0
    for cut in cuts:
        while i < len(spans) and spans[i][1] <= cut:
            i += 1
        if i < len(spans) and spans[i][0] < cut < spans[i][1]:
            continue
        allowed.append(cut)
    return allowed


def _finish(text: str, cuts: list[int], k: int, ellipsis: str) -> str:
    """The prefix up to ``cuts[k]`` without trailing separators or open tags, plus ellipsis."""
    while k > 0:
        unit = text[cuts[k - 1] : cuts[k]]
        if all(c.isspace() or c in _TRAILING for c in unit) or is_opening_tag(unit):
            k -= 1
        else:
            break
    prefix = text[: cuts[k]]
    if not prefix:
        return ""
    return prefix + ellipsis + _closing_tags(prefix)


def _word_cut(text: str, cuts: list[int], upto: int, fits: Callable[[int], bool]) -> int | None:
    """The last cut at or before ``cuts[upto]`` that falls between words and fits."""
    for k in range(upto, 0, -1):
        p = cuts[k]
        before, after = text[p - 1], text[p] if p < len(text) else " "
        if (before.isspace() or after.isspace() or before in _AFTER_BREAK) and fits(k):
            return k
    return None


def _closing_tags(prefix: str) -> str:
    """Closing tags for the elements still open at the end of ``prefix``, innermost first."""
    stack: list[str] = []
    for m in _TAG.finditer(prefix):
        closing, name, self_closing = m[1], m[2].lower(), m[3]
        if closing:
            if name in stack:
                del stack[len(stack) - 1 - stack[::-1].index(name) :]
        elif not self_closing and name not in _VOID:
            stack.append(name)
    return "".join(f"</{name}>" for name in reversed(stack))
