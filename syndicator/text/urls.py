"""Find links the way X does: twitter-text's ``extractUrlsWithIndices``, ported to Python.

X replaces every link with a 23-character t.co link, including bare domains such as
``example.com`` whose top-level domain is on its list, so counting a post means finding
exactly the links X finds. The expressions follow twitter/twitter-text (Apache-2.0) ``js/src``
at the revision that produced ``conformance/extract.yml`` (directional marks allowed before a
link, U+202A-U+202E no longer invalid). One difference is accepted: Python's case-insensitive
matching also folds four exotic characters (``ı İ ſ K``) that JavaScript leaves alone.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from syndicator.text._tlds import COUNTRY, GENERIC

__all__ = ["UrlMatch", "extract_urls", "find_urls"]

_INVALID = "\ufffe\ufeff\uffff"
_DIRECTIONAL = "\u202a-\u202e\u061c\u200e\u200f\u2066-\u2069"
_PUNCT = r"!'#%&'()*+,\\\-./:;<=>?@\[\]^_{|}~$"
_SPACES = "\t-\r \x85\xa0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_LATIN_ACCENTS = (
    "\xc0-\xd6\xd8-\xf6\xf8-\xff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259\u025b\u0263\u0268"
    "\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
)
_CYRILLIC = "\u0400-\u04ff"

_DOMAIN_CHAR = f"[^{_PUNCT}{_SPACES}{_INVALID}{_DIRECTIONAL}]"
_SUBDOMAIN = f"(?:(?:{_DOMAIN_CHAR}(?:[_-]|{_DOMAIN_CHAR})*)?{_DOMAIN_CHAR}\\.)"
_DOMAIN_NAME = f"(?:(?:{_DOMAIN_CHAR}(?:-|{_DOMAIN_CHAR})*)?{_DOMAIN_CHAR}\\.)"
_TLD_END = r"(?=[^0-9a-zA-Z@+-]|\Z)"
_GTLD = f"(?:(?:{'|'.join(GENERIC)}){_TLD_END})"
_CCTLD = f"(?:(?:{'|'.join(COUNTRY)}){_TLD_END})"
_PUNYCODE = r"(?:xn--[\-0-9a-z]+)"
_TLD = f"(?:{_GTLD}|{_CCTLD}|{_PUNYCODE})"
_DOMAIN = f"(?:{_SUBDOMAIN}*{_DOMAIN_NAME}{_TLD})"

_PATH_CHAR = f"[a-z{_CYRILLIC}0-9!*';:=+,.$/%#\\[\\]\\-\u2013_~@|&{_LATIN_ACCENTS}]"
_PARENS = f"\\((?:{_PATH_CHAR}+|(?:{_PATH_CHAR}*\\({_PATH_CHAR}+\\){_PATH_CHAR}*))\\)"
_PATH_END = f"(?:[+\\-a-z{_CYRILLIC}0-9=_#/{_LATIN_ACCENTS}]|(?:{_PARENS}))"
_PATH = f"(?:(?:{_PATH_CHAR}*(?:{_PARENS}{_PATH_CHAR}*)*{_PATH_END})|(?:@{_PATH_CHAR}+/))"
_QUERY_CHAR = r"[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]"
_QUERY_END = r"[a-z0-9\-_&=#/]"
_PRECEDING = f"(?:[^A-Za-z0-9@\uff20$#\uff03{_INVALID}]|[{_DIRECTIONAL}]|^)"

_EXTRACT = re.compile(
    f"(?P<before>{_PRECEDING})"
    "(?P<url>"
    r"(?P<protocol>https?://)?"
    f"(?P<domain>{_DOMAIN})"
    r"(?::[0-9]+)?"
    f"(?P<path>/{_PATH}*)?"
    f"(?:\\?{_QUERY_CHAR}*{_QUERY_END})?"
    ")",
    re.IGNORECASE,
)
_ASCII_DOMAIN = re.compile(f"(?:(?:[\\-a-z0-9{_LATIN_ACCENTS}]+)\\.)+{_TLD}", re.IGNORECASE)
_NO_PROTOCOL_AFTER = re.compile(r"[-_./]\Z")
_TCO = re.compile(f"https?://t\\.co/([a-z0-9]+)(?:\\?{_QUERY_CHAR}*{_QUERY_END})?", re.IGNORECASE)
_NON_ASCII = re.compile("[^\x00-\x7e]")
_IDEOGRAPHIC_STOPS = re.compile("[\u3002\uff0e\uff61]")

_MAX_URL_LENGTH = 4096
_MAX_TCO_SLUG = 40
_MAX_LABEL = 63


class UrlMatch(NamedTuple):
    """One link X would shorten: ``text[start:end]`` in code points, and the link's text.

    ``url`` equals ``text[start:end]`` except in one twitter-text quirk (a protocol-less
    link whose last ASCII domain is followed by non-ASCII labels), kept for exact counting.
    """

    start: int
    end: int
    url: str


def find_urls(text: str) -> list[UrlMatch]:
    """Every link twitter-text extracts from ``text``, protocol-less domains included."""
    if "." not in text:
        return []
    found: list[UrlMatch] = []
    for m in _EXTRACT.finditer(text):
        url, protocol, domain, path = m["url"], m["protocol"], m["domain"], m["path"]
        start, end = m.start("url"), m.end("url")
        if not _valid_length(url, protocol or "https://", domain):
            continue
        if not protocol:
            if _NO_PROTOCOL_AFTER.search(m["before"]):
                continue
            last: UrlMatch | None = None
            for ascii_domain in _ASCII_DOMAIN.finditer(domain):
                last = UrlMatch(
                    start + ascii_domain.start(), start + ascii_domain.end(), ascii_domain[0]
                )
                found.append(last)
            if last is not None and path:
                found[-1] = UrlMatch(last.start, end, url.replace(domain, last.url, 1))
            continue
        tco = _TCO.match(url)
        if tco:
            if len(tco[1]) > _MAX_TCO_SLUG:
                continue
            url = tco[0]
            end = start + len(url)
        found.append(UrlMatch(start, end, url))
    return found


def extract_urls(text: str) -> list[str]:
    """The links of ``text`` as strings, in order (twitter-text's ``extractUrls``)."""
    return [m.url for m in find_urls(text)]


def _valid_length(url: str, protocol: str, domain: str) -> bool:
    """twitter-text's ``isValidUrl``: DNS labels of 1-63 characters once punycoded."""
    if domain.startswith("xn--") and not _ASCII_DOMAIN.search(domain):
        return False
    for label in domain.split("."):
        # punycode.js's toASCII also splits at ideographic and fullwidth full stops.
        encoded = ".".join(_punycode(part) for part in _IDEOGRAPHIC_STOPS.split(label))
        if not 1 <= len(encoded) <= _MAX_LABEL:
            return False
    return len(protocol) + len(url) <= _MAX_URL_LENGTH


def _punycode(label: str) -> str:
    return "xn--" + label.encode("punycode").decode() if _NON_ASCII.search(label) else label
