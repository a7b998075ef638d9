"""Campaign tags (``utm_*``) on the links we publish, so the site can tell where readers came from.

The link is edited as a string, not rebuilt by ``urllib``: the publisher's own query (order,
encoding, empty values, ``;``-free oddities) and the fragment survive byte for byte, because a
link that changes shape can stop working (signed URLs, AMP caches, single-page routers).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, unquote_plus, urlsplit

__all__ = ["add_utm"]

_SCHEMES = frozenset({"http", "https"})


def add_utm(url: str, params: Mapping[str, str]) -> str:
    """``url`` with ``params`` appended to its query as ``utm_*`` parameters.

    A key without the ``utm_`` prefix gets it (``source`` becomes ``utm_source``); an empty
    value is skipped. Parameters already in the query under one of our keys (compared
    case-insensitively) are removed, so ours win and none is duplicated; every other
    parameter keeps its place and spelling, and the fragment stays at the end. Links that
    are not http(s), and links ``urllib`` cannot parse, are returned unchanged.
    """
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return url
    ours = {_utm_key(key): value for key, value in params.items() if value}
    if scheme not in _SCHEMES or not ours:
        return url
    base, hash_sign, fragment = url.partition("#")
    path, _, query = base.partition("?")
    taken = {key.lower() for key in ours}
    kept = [
        pair
        for pair in query.split("&")
        if pair and unquote_plus(pair.partition("=")[0]).lower() not in taken
    ]
    added = [f"{quote(key, safe='')}={quote(value, safe='')}" for key, value in ours.items()]
    return f"{path}?{'&'.join(kept + added)}{hash_sign}{fragment}"


def _utm_key(key: str) -> str:
    key = key.strip()
    return key if key.lower().startswith("utm_") else f"utm_{key}"
