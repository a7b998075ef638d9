"""Hashtags from feed categories that X and Telegram both link whole, in any script.

What each platform takes as a hashtag character (checked in their code):

- X (twitter-text ``validHashtag``): letters and marks of any script, decimal digits of any
  script, ``_``, ZWNJ, ZWJ and a few script punctuation marks; at least one letter or mark.
- Telegram (tdlib ``match_hashtags`` in ``MessageEntity.cpp``): letters, decimal digits,
  ``_``, ZWNJ (and ``·`` and the Sinhala block); at least one letter; 256 characters at most.
  Combining marks are not letters to tdlib, so Arabic harakat end a Telegram hashtag.

So a tag keeps letters and digits of every script and drops combining marks (after NFC, which
keeps Albanian ``ë`` and ``ç`` whole; harakat are optional in news text; scripts whose words
need marks, such as Devanagari, lose them, where Telegram would cut the tag) and the tatweel. ZWNJ,
which Persian spelling needs inside words (``می‌خواهم``), is accepted by both and kept by default.
Words are CamelCased where both sides have letter case; elsewhere (Arabic, Persian) they are
joined with ``_``, the convention in those languages (``#هوش_مصنوعی``). All-digit tags are
rejected: neither platform links them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from typing import Literal

import regex

from syndicator.text.urls import find_urls

__all__ = ["extract_hashtags", "extract_telegram_hashtags", "hashtag", "hashtags"]

ZwnjPolicy = Literal["keep", "underscore", "remove"]

_ZWNJ = "\u200c"
_MAX_TELEGRAM = 256
_WORD_CHAR = regex.compile(r"[\p{L}\p{Nd}_\u200c]")
_DROPPED = regex.compile(r"[\p{M}\u0640\u200d]")
_APOSTROPHES = frozenset("'\u2019\u02bc\u2018`")
_CASED = regex.compile(r"\p{Cased}")

_X_SPECIAL = (
    "_\u200c\u200d\ua67e\u05be\u05f3\u05f4\uff5e\u301c\u309b\u309c\u30a0\u30fb\u3003\u0f0b"
    "\u0f0c\xb7"
)
_X_ALNUM = rf"[\p{{L}}\p{{M}}\p{{Nd}}{_X_SPECIAL}]"
_X_HASHTAG = regex.compile(
    rf"(?:^|\ufe0e|\ufe0f|(?!{_X_ALNUM}|&).)"
    rf"(?P<hash>[#＃])(?!\ufe0f|\u20e3)"
    rf"(?P<tag>{_X_ALNUM}*[\p{{L}}\p{{M}}]{_X_ALNUM}*)",
    regex.DOTALL,
)
_X_END = regex.compile(r"[#＃]|://")
_TG_CHAR = regex.compile(r"[\p{L}\p{Nd}_\u200c\u00b7\u0d80-\u0dff]")
_TG_LETTER = regex.compile(r"\p{L}")


def hashtag(term: str, *, zwnj: ZwnjPolicy = "keep") -> str | None:
    """``#Tag`` for ``term``, or None when nothing linkable is left (no letter, or too long).

    ``zwnj`` says what happens to a ZWNJ between two letters: kept (both platforms accept
    it), turned into ``_``, or removed. ZWNJ elsewhere is always removed.
    """
    text = _DROPPED.sub("", unicodedata.normalize("NFC", term))
    words = _words(text, zwnj)
    if not words:
        return None
    tag = words[0] if len(words) == 1 else _capitalise(words[0])
    for word in words[1:]:
        if _camel_joins(tag[-1], word[0]):
            tag += _capitalise(word)
        else:
            tag += "_" + word
    if not regex.search(r"\p{L}", tag) or len(tag) > _MAX_TELEGRAM:
        return None
    return "#" + tag


def hashtags(
    categories: Iterable[str],
    *,
    mapping: Mapping[str, str] | None = None,
    stop: AbstractSet[str] | None = None,
    max_count: int,
) -> list[str]:
    """Up to ``max_count`` distinct ``#Tags`` for ``categories``, in their order.

    ``mapping`` renames a category before it becomes a tag (an empty value drops it);
    ``stop`` lists categories or tags (with or without ``#``) never to use. Both match
    case-insensitively after NFC normalisation, as do duplicates.
    """
    renames = {_key(k): v for k, v in (mapping or {}).items()}
    stopped = {_key(s).lstrip("#＃") for s in (stop or ())}
    seen: set[str] = set()
    tags: list[str] = []
    for category in categories:
        if len(tags) >= max_count:
            break
        key = _key(category)
        term = renames.get(key, category)
        if key in stopped or not term:
            continue
        tag = hashtag(term)
        if tag is None:
            continue
        folded = _key(tag[1:])
        if folded in stopped or folded in seen:
            continue
        seen.add(folded)
        tags.append(tag)
    return tags


def extract_hashtags(text: str) -> list[str]:
    """Hashtags X links in ``text`` (twitter-text ``extractHashtags``), without the ``#``."""
    found: list[tuple[int, int, str]] = []
    for m in _X_HASHTAG.finditer(text):
        if _X_END.match(text, m.end()):
            continue
        found.append((m.start("hash"), m.end(), m["tag"]))
    if not found:
        return []
    entities = sorted(
        [(start, end, tag) for start, end, tag in found]
        + [(u.start, u.end, None) for u in find_urls(text)],
        key=lambda e: e[0],
    )
    kept = [entities[0]]
    for entity in entities[1:]:
        if kept[-1][1] <= entity[0]:
            kept.append(entity)
    return [tag for _, _, tag in kept if tag is not None]


def extract_telegram_hashtags(text: str) -> list[str]:
    """Hashtags Telegram links in ``text`` (tdlib ``match_hashtags``), without the ``#``."""
    tags: list[str] = []
    pos = text.find("#")
    while pos != -1:
        start = pos + 1
        if pos > 0 and _TG_CHAR.match(text[pos - 1]):
            pos = text.find("#", start)
            continue
        end = start
        while end < len(text) and _TG_CHAR.match(text[end]):
            end += 1
        body = text[start : min(end, start + _MAX_TELEGRAM)]
        next_is_hash = end < len(text) and text[end] == "#"
        if body and not next_is_hash and _TG_LETTER.search(body):
            tags.append(body)
        pos = text.find("#", end if end > start else start)
    return tags


def _words(text: str, zwnj: ZwnjPolicy) -> list[str]:
    """Runs of letters, digits and ``_``; apostrophes vanish, ZWNJ survives only inside."""
    words: list[str] = []
    current = ""
    for char in text:
        if char in _APOSTROPHES:
            continue
        if _WORD_CHAR.match(char):
            current += char
        elif current:
            words.append(current)
            current = ""
    if current:
        words.append(current)
    return [w for w in (_fix_zwnj(w, zwnj) for w in words) if w.strip("_")]


def _fix_zwnj(word: str, policy: ZwnjPolicy) -> str:
    parts = [p for p in word.split(_ZWNJ) if p]
    joiner = {"keep": _ZWNJ, "underscore": "_", "remove": ""}[policy]
    return joiner.join(parts)


def _camel_joins(last: str, first: str) -> bool:
    """Whether two words can meet without ``_``: both sides cased or digits, not both digits."""

    def cased_or_digit(c: str) -> bool:
        return bool(_CASED.match(c)) or c.isdigit()

    both_digits = last.isdigit() and first.isdigit()
    return cased_or_digit(last) and cased_or_digit(first) and not both_digits


def _capitalise(word: str) -> str:
    """Upper-case the first letter of an all-lower-case word; leave ``iPhone`` and ``NATO``."""
    return word[0].upper() + word[1:] if word.islower() else word


def _key(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip().casefold()
