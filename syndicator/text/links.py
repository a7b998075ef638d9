"""The form of a link used to recognise the same article twice."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

__all__ = ["normalize_link"]


def normalize_link(url: str) -> str:
    """The form of a link used to spot the same article twice.

    Drops the fragment and every ``utm_*`` query parameter (others stay, in order, exactly as
    written), lowercases scheme and host, drops the default port (80 for http, 443 for https)
    and leaves the path alone (paths are case-sensitive). Never raises.
    """
    text = re.sub(r"[\t\r\n]", "", str(url)).strip()
    text = text.split("#", 1)[0]
    try:
        parts = urlsplit(text)
    except ValueError:
        return text
    scheme = parts.scheme.lower()
    netloc = _normal_netloc(parts.netloc, scheme)
    kept = [p for p in parts.query.split("&") if p]
    query = "&".join(p for p in kept if not p.split("=", 1)[0].lower().startswith("utm_"))
    try:
        return urlunsplit((scheme, netloc, parts.path, query, ""))
    except ValueError:
        return text


def _normal_netloc(netloc: str, scheme: str) -> str:
    userinfo, at, hostport = netloc.rpartition("@")
    if hostport.startswith("["):
        host, _, rest = hostport.partition("]")
        host += "]"
        port = rest[1:] if rest.startswith(":") else ""
        has_port = rest.startswith(":")
    else:
        host, colon, port = hostport.rpartition(":")
        has_port = bool(colon)
        if not has_port:
            host, port = hostport, ""
    default = {"http": 80, "https": 443}.get(scheme)
    if has_port and (port == "" or (port.isdigit() and default is not None
                                    and int(port) == default)):
        port, has_port = "", False
    return f"{userinfo}{at}{host.lower()}" + (f":{port}" if has_port else "")
