"""Telegram's ``parse_mode=HTML`` rules, re-implemented from tdlib's ``parse_html``.

The Bot API hands HTML to tdlib (``td/telegram/MessageEntity.cpp``), which answers either the
plain text plus entities or a 400 whose reason we reproduce byte for byte. The fake Bot API
server validates with this module, and the composer counts visible length with it, so both
agree with Telegram about what is accepted and how long it is.

The parser works on UTF-8 bytes as tdlib does: error offsets are byte offsets, and entity
offsets and lengths are UTF-16 code units (as in the Bot API). Only ``&lt; &gt; &amp; &quot;``
and numeric references are decoded; unknown tags are hard errors; a lone surrogate produced by
a numeric reference is an error. Entities use tdlib's type names (``Bold``, ``TextUrl``, ...);
``to_bot_api_entities`` converts them to Bot API ``MessageEntity`` dicts.
"""

from __future__ import annotations

import ipaddress
import string
from typing import Any

__all__ = [
    "TelegramHTMLError",
    "parse_html",
    "to_bot_api_entities",
    "utf16_len",
]

_SPACE = frozenset(b" \t\r\n\v\x00")  # tdlib's is_space() counts '\0' as a space
_TAGS = frozenset({
    "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler", "tg-emoji",
    "tg-time", "span", "pre", "code", "blockquote",
})
_NAMED = {b"lt": 0x3C, b"gt": 0x3E, b"amp": 0x26, b"quot": 0x22}

# MessageEntity::get_type_priority: the tie-break after offset and (descending) length.
_PRIORITY = {
    "Bold": 90, "Italic": 91, "Code": 20, "Pre": 11, "PreCode": 10, "TextUrl": 49,
    "MentionName": 49, "Underline": 92, "Strikethrough": 93, "BlockQuote": 0, "Spoiler": 94,
    "CustomEmoji": 99, "ExpandableBlockQuote": 0, "FormattedDate": 30,
}

# FormattedDate::DateFlags
_RELATIVE, _SHORT_TIME, _LONG_TIME, _SHORT_DATE, _LONG_DATE, _DAY_OF_WEEK = 1, 2, 4, 8, 16, 32
_MAX_USER_ID = (1 << 40) - 1
_CODE_LANGUAGE = "_language"  # held on a Code entity until its <pre> closes, then dropped
_SURROGATE_ERROR = (
    "Text contains invalid Unicode characters after decoding HTML entities, check for unmatched "
    "surrogate code units"
)


class TelegramHTMLError(ValueError):
    """Telegram would refuse the text; ``message`` is tdlib's exact reason.

    The Bot API reports it as ``400 Bad Request: can't parse entities: <message>``.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def utf16_len(s: str) -> int:
    """Length of ``s`` in UTF-16 code units: how Telegram measures text and entity offsets."""
    return len(s.encode("utf-16-le", "surrogatepass")) // 2


def _is_digit(c: int) -> bool:
    return 0x30 <= c <= 0x39


def _is_alpha(c: int) -> bool:
    return 0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A


def _is_hex(c: int) -> bool:
    return _is_digit(c) or 0x41 <= c <= 0x46 or 0x61 <= c <= 0x66


def _utf8(code: int) -> bytes:
    """tdlib's append_utf8_character_unsafe: encodes surrogates too (checked later)."""
    return chr(code).encode("utf-8", "surrogatepass")


def _text(raw: bytes | bytearray) -> str:
    return bytes(raw).decode("utf-8", "surrogatepass")


def _decode_entity(b: bytes, pos: int) -> tuple[int, int]:
    """tdlib decode_html_entity: (code point, position after it), or (0, pos) if none."""
    size = len(b)

    def at(i: int) -> int:
        return b[i] if i < size else 0

    end = pos + 1
    res = 0
    if at(pos + 1) == 0x23:  # '#'
        end += 1
        if at(pos + 2) == 0x78:  # only a lower-case 'x' starts a hexadecimal reference
            end += 1
            while _is_hex(at(end)):
                res = res * 16 + int(chr(b[end]), 16)
                end += 1
        else:
            while _is_digit(at(end)):
                res = res * 10 + b[end] - 0x30
                end += 1
        if res == 0 or res >= 0x10FFFF or end - pos >= 10:
            return 0, pos
    else:
        while _is_alpha(at(end)):
            end += 1
        res = _NAMED.get(b[pos + 1 : end], 0)
        if res == 0:
            return 0, pos
    if at(end) == 0x3B:  # ';' is optional
        end += 1
    return res, end


def _to_integer(raw: bytes | str, bits: int) -> int:
    """td::to_integer<intN>: optional '-', leading digits, two's-complement wrap-around."""
    s = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    negative = s.startswith("-")
    value = 0
    for ch in s[1 if negative else 0 :]:
        if not "0" <= ch <= "9":
            break
        value = (value * 10 + ord(ch) - 48) % (1 << bits)
    if negative:
        value = -value % (1 << bits)
    return value - (1 << bits) if value >= 1 << (bits - 1) else value


def _to_integer_safe(s: str, bits: int) -> int | None:
    """td::to_integer_safe: the value only if it prints back as exactly ``s``."""
    value = _to_integer(s, bits)
    return value if str(value) == s else None


def _date_flags(fmt: str) -> int:
    """FormattedDate::get_date_flags."""
    if fmt in ("r", "R"):
        return _RELATIVE
    flags = 0
    for ch in fmt:
        if ch == "t":
            flags |= _SHORT_TIME
        elif ch == "T":
            flags |= _LONG_TIME
        elif ch == "d":
            flags |= _SHORT_DATE
        elif ch == "D":
            flags |= _LONG_DATE
        elif ch in "wW":
            flags |= _DAY_OF_WEEK
        else:
            raise TelegramHTMLError("Invalid date format used")
    return flags


# --- links: LinkManager::get_link_user_id / check_link_impl and td::parse_url ---------------

def _link_user_id(url: str) -> int | None:
    """The user id of a ``tg://user?id=N`` link (a text mention), else None."""
    rest = url.lower()
    if not rest.startswith("tg:"):
        return None
    rest = rest[3:]
    rest = rest.removeprefix("//")
    if not rest.startswith("user"):
        return None
    rest = rest[4:].removeprefix("/")
    if not rest.startswith("?"):
        return None
    for parameter in rest[1:].split("#", 1)[0].split("&"):
        key, _, value = parameter.partition("=")
        if key == "id":
            user_id = _to_integer_safe(value, 64)
            if user_id is None or not 0 < user_id <= _MAX_USER_ID:
                return None
            return user_id
    return None


def _url_part_ok(part: str, allow_colon: bool) -> bool:
    allowed = "._-!$,~*'();&+=" + (":" if allow_colon else "")
    i = 0
    while i < len(part):
        ch = part[i]
        if (ch.isascii() and ch.isalnum()) or ch in allowed:
            i += 1
            continue
        if ch == "%":
            digits = part[i + 1 : i + 3]
            if len(digits) == 2 and all(d in string.hexdigits for d in digits):
                i += 3
                continue
            return False
        if ord(ch) >= 128:  # plain UTF-8 is allowed
            i += 1
            continue
        return False
    return True


def _parse_url(url: str) -> tuple[str, str, str, bool, int, str] | None:
    """td::parse_url: (protocol, userinfo, host, is_ipv6, specified_port, query) or None."""
    cut = len(url)
    for ch in ":/?#@[]":
        found = url.find(ch)
        if found != -1:
            cut = min(cut, found)
    protocol = "http"
    rest = url
    if url[cut:].startswith("://"):
        scheme = url[:cut].lower()
        if scheme not in ("http", "https"):
            return None
        protocol = scheme
        rest = url[cut + 3 :]
    end = len(rest)
    for ch in "/?#":
        found = rest.find(ch)
        if found != -1:
            end = min(end, found)
    userinfo_host_port, query = rest[:end], rest[end:]

    port = 0
    colon = len(userinfo_host_port) - 1
    while colon > 0 and userinfo_host_port[colon] not in ":]@":
        colon -= 1
    if colon > 0 and userinfo_host_port[colon] == ":":
        port_text = userinfo_host_port[colon + 1 :]
        while len(port_text) > 1 and port_text[0] == "0":
            port_text = port_text[1:]
        parsed = _to_integer_safe(port_text, 32)
        port = -1 if parsed is None or parsed == 0 else parsed
        userinfo_host = userinfo_host_port[:colon]
    else:
        userinfo_host = userinfo_host_port
    if port < 0 or port > 65535:
        return None

    at_pos = userinfo_host.rfind("@")
    userinfo = userinfo_host[:at_pos] if at_pos != -1 else ""
    host = userinfo_host[at_pos + 1 :]
    is_ipv6 = False
    if host.startswith("[") and host.endswith("]") and len(host) >= 2:
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return None
        is_ipv6 = True
    if not host or host == ".":
        return None

    while query and ord(query[-1]) in _SPACE:
        query = query[:-1]
    if not query:
        query = "/"
    encoded = "" if query[0] == "/" else "/"
    for ch in query:
        encoded += f"%{ord(ch):02X}" if ord(ch) <= 0x20 else ch

    host = "".join(ch.lower() if ch.isascii() else ch for ch in host)
    if is_ipv6:
        if any(ch not in ":0123456789abcdef." for ch in host[1:-1]):
            return None
    elif not _url_part_ok(host, False) or not _url_part_ok(userinfo, True):
        return None
    return protocol, userinfo, host, is_ipv6, port, encoded


def _checked_link(link: str) -> str:
    """LinkManager::get_checked_link: the normalised URL, or '' when Telegram drops the link."""
    lower = link.lower()
    scheme = ""
    for prefix in ("tg:", "ton:", "tonsite:"):
        if lower.startswith(prefix):
            scheme, link = prefix[:-1], link[len(prefix) :]
            break
    if scheme and link.startswith("//"):
        link = link[2:]
    parsed = _parse_url(link)
    if parsed is None:
        return ""
    protocol, userinfo, host, is_ipv6, port, query = parsed
    if scheme:
        if (link.lower().startswith("http://") or protocol == "https" or userinfo or port
                or is_ipv6):
            return ""
        if len(query) > 1 and query[1] == "?":
            query = query[1:]
        for ch in host:
            if not ((ch.isascii() and ch.isalnum()) or ch in "-_" or (scheme == "tonsite"
                                                                    and ch == ".")):
                return ""
        return f"{scheme}://{host}{query}"
    if "." not in host and not is_ipv6:
        return ""
    auth = f"{userinfo}@" if userinfo else ""
    port_text = f":{port}" if port > 0 else ""
    return f"{protocol}://{auth}{host}{port_text}{query}"


# --- the parser ---------------------------------------------------------------------------

def _sort_key(entity: dict[str, Any]) -> tuple[int, int, int]:
    return entity["offset"], -entity["length"], _PRIORITY[entity["type"]]


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram HTML into (plain text, entities), exactly as tdlib does.

    Entities are dicts with ``type`` (tdlib's name), ``offset`` and ``length`` in UTF-16 code
    units, plus ``url`` (TextUrl), ``language`` (PreCode), ``custom_emoji_id`` (CustomEmoji,
    a decimal string), ``unix_time``/``format_flags`` (FormattedDate) or ``user_id``
    (MentionName). They are sorted as tdlib sorts them.

    Raises:
        TelegramHTMLError: Telegram would refuse the text; the message is tdlib's.
    """
    try:
        b = text.encode("utf-8")
    except UnicodeEncodeError:
        raise TelegramHTMLError("Strings must be encoded in UTF-8") from None
    if b"\x00" in b:
        raise TelegramHTMLError("Text must not contain null bytes")
    size = len(b)

    def at(i: int) -> int:  # a C string: the byte after the end reads as '\0'
        return b[i] if i < size else 0

    result = bytearray()
    entities: list[dict[str, Any]] = []
    # open tags: (tag name, argument, date, utf16 offset, byte offset in result)
    nested: list[tuple[str, str, int, int, int]] = []
    utf16 = 0
    need_recheck = False
    i = 0
    while i < size:
        c = b[i]
        if c == 0x26:  # '&'
            code, end = _decode_entity(b, i)
            if code:
                utf16 += 1 + (code > 0xFFFF)
                need_recheck = need_recheck or 0xD800 <= code <= 0xDFFF
                result += _utf8(code)
                i = end
                continue
        if c != 0x3C:  # '<'
            if c & 0xC0 != 0x80:  # first byte of a character; 4-byte ones are 2 UTF-16 units
                utf16 += 1 + (c >= 0xF0)
            result.append(c)
            i += 1
            continue

        begin = i
        i += 1
        if at(i) != 0x2F:  # a start tag
            while at(i) not in _SPACE and at(i) != 0x3E:
                i += 1
            if at(i) == 0:
                raise TelegramHTMLError(f"Unclosed start tag at byte offset {begin}")
            tag = _text(b[begin + 1 : i].lower())
            if tag not in _TAGS:
                raise TelegramHTMLError(f'Unsupported start tag "{tag}" at byte offset {begin}')
            argument = ""
            date = 0
            while at(i) != 0x3E:
                while at(i) != 0 and at(i) in _SPACE:
                    i += 1
                if at(i) == 0x3E:
                    break
                name_begin = i
                while at(i) not in _SPACE and at(i) not in b"=>/\"'":
                    i += 1
                name = b[name_begin:i]
                if not name:
                    raise TelegramHTMLError(
                        f'Empty attribute name in the tag "{tag}" at byte offset {begin}')
                while at(i) != 0 and at(i) in _SPACE:
                    i += 1
                if at(i) != 0x3D:  # an attribute without a value
                    if at(i) == 0:
                        raise TelegramHTMLError(
                            f'Unclosed start tag "{tag}" at byte offset {begin}')
                    if tag == "blockquote" and name == b"expandable":
                        argument = "1"
                    continue
                i += 1
                while at(i) != 0 and at(i) in _SPACE:
                    i += 1
                if at(i) == 0:
                    raise TelegramHTMLError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                value = bytearray()
                if at(i) not in (0x27, 0x22):
                    # a name token: letters, digits, periods, hyphens; not case sensitive
                    token_begin = i
                    while _is_alpha(at(i)) or _is_digit(at(i)) or at(i) in (0x2E, 0x2D):
                        i += 1
                    value += b[token_begin:i].lower()
                    if at(i) not in _SPACE and at(i) != 0x3E:
                        raise TelegramHTMLError(
                            f"Unexpected end of name token at byte offset {token_begin}")
                else:  # a string literal, with entities decoded
                    quote = b[i]
                    i += 1
                    while at(i) != quote and at(i) != 0:
                        if b[i] == 0x26:
                            code, end = _decode_entity(b, i)
                            if code:
                                value += _utf8(code)
                                i = end
                                continue
                        value.append(b[i])
                        i += 1
                    if at(i) == quote:
                        i += 1
                if at(i) == 0:
                    raise TelegramHTMLError(f"Unclosed start tag at byte offset {begin}")
                val = _text(value)
                if tag == "a" and name == b"href":
                    argument = val
                elif tag == "code" and name == b"class" and val.startswith("language-"):
                    argument = val[9:]
                elif tag == "span" and name == b"class" and val.startswith("tg-"):
                    argument = val[3:]
                elif (tag == "tg-emoji" and name == b"emoji-id") or (
                        tag == "tg-time" and name == b"format"):
                    argument = val
                elif tag == "blockquote" and name == b"expandable":
                    argument = "1"
                elif tag == "tg-time" and name == b"unix":
                    date = _to_integer(val, 32)
            if tag == "span" and argument != "spoiler":
                raise TelegramHTMLError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
            nested.append((tag, argument, date, utf16, len(result)))
            i += 1  # past '>'
            continue

        # an end tag
        if not nested:
            raise TelegramHTMLError(f"Unexpected end tag at byte offset {begin}")
        while at(i) not in _SPACE and at(i) != 0x3E:
            i += 1
        end_tag = _text(b[begin + 2 : i].lower())
        while at(i) in _SPACE and at(i) != 0:
            i += 1
        if at(i) != 0x3E:
            raise TelegramHTMLError(f"Unclosed end tag at byte offset {begin}")
        tag, argument, date, offset, result_pos = nested[-1]
        if end_tag and end_tag != tag:
            raise TelegramHTMLError(
                f'Unmatched end tag at byte offset {begin}, expected "</{tag}>", '
                f'found "</{end_tag}>"')
        if utf16 > offset:
            _close(tag, argument, date, offset, utf16 - offset, result[result_pos:], entities)
        nested.pop()
        i += 1  # past '>'

    if nested:
        raise TelegramHTMLError(
            f'Can\'t find end tag corresponding to start tag "{nested[-1][0]}"')
    for entity in entities:
        entity.pop(_CODE_LANGUAGE, None)  # a <code> language only matters inside <pre>
    entities.sort(key=_sort_key)
    if need_recheck:
        try:
            plain = bytes(result).decode("utf-8")
        except UnicodeDecodeError:
            raise TelegramHTMLError(_SURROGATE_ERROR) from None
    else:
        plain = _text(result)
    return plain, entities


def _close(
    tag: str,
    argument: str,
    date: int,
    offset: int,
    length: int,
    inner: bytes | bytearray,
    entities: list[dict[str, Any]],
) -> None:
    """Append the entity a closing tag makes (tdlib drops empty ones before calling this)."""
    kind = {
        "i": "Italic", "em": "Italic", "b": "Bold", "strong": "Bold", "s": "Strikethrough",
        "strike": "Strikethrough", "del": "Strikethrough", "u": "Underline", "ins": "Underline",
        "tg-spoiler": "Spoiler", "span": "Spoiler",
    }.get(tag)
    if kind:
        entities.append({"type": kind, "offset": offset, "length": length})
        return
    last = entities[-1] if entities else None
    same_span = last is not None and last["offset"] == offset and last["length"] == length
    if tag == "tg-emoji":
        emoji_id = _to_integer_safe(argument, 64)
        if not emoji_id:
            raise TelegramHTMLError("Invalid custom emoji identifier specified")
        entities.append({"type": "CustomEmoji", "offset": offset, "length": length,
                         "custom_emoji_id": str(emoji_id)})
    elif tag == "tg-time":
        flags = _date_flags(argument)
        if date > 0:
            entities.append({"type": "FormattedDate", "offset": offset, "length": length,
                             "unix_time": date, "format_flags": flags})
    elif tag == "a":
        url = argument or _text(inner)
        user_id = _link_user_id(url)
        if user_id is not None:
            entities.append({"type": "MentionName", "offset": offset, "length": length,
                             "user_id": user_id})
        else:
            checked = _checked_link(url)
            if checked:
                entities.append({"type": "TextUrl", "offset": offset, "length": length,
                                 "url": checked})
    elif tag == "pre":
        # <code class="language-x"> closed just inside a <pre> of the same span: a PreCode
        if last is not None and same_span and last["type"] == "Code" \
                and last.get(_CODE_LANGUAGE):
            last["type"] = "PreCode"
            last["language"] = last.pop(_CODE_LANGUAGE)
        else:
            entities.append({"type": "Pre", "offset": offset, "length": length})
    elif tag == "code":
        if last is not None and same_span and last["type"] == "Pre" and argument:
            last["type"] = "PreCode"
            last["language"] = argument
        else:
            entities.append({"type": "Code", "offset": offset, "length": length,
                             _CODE_LANGUAGE: argument})
    elif tag == "blockquote":
        kind = "ExpandableBlockQuote" if argument else "BlockQuote"
        entities.append({"type": kind, "offset": offset, "length": length})


# --- Bot API shape ------------------------------------------------------------------------

_BOT_API_TYPES = {
    "Bold": "bold", "Italic": "italic", "Underline": "underline",
    "Strikethrough": "strikethrough", "Spoiler": "spoiler", "Code": "code", "Pre": "pre",
    "PreCode": "pre", "TextUrl": "text_link", "MentionName": "text_mention",
    "BlockQuote": "blockquote", "ExpandableBlockQuote": "expandable_blockquote",
    "CustomEmoji": "custom_emoji", "FormattedDate": "date_time",
}


def _date_time_format(flags: int) -> str:
    if flags & _RELATIVE:
        return "r"
    out = "w" if flags & _DAY_OF_WEEK else ""
    if flags & _SHORT_DATE:
        out += "d"
    elif flags & _LONG_DATE:
        out += "D"
    if flags & _SHORT_TIME:
        out += "t"
    elif flags & _LONG_TIME:
        out += "T"
    return out


def to_bot_api_entities(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Bot API ``MessageEntity`` objects Telegram would return for ``parse_html`` output."""
    out: list[dict[str, Any]] = []
    for entity in entities:
        item: dict[str, Any] = {"type": _BOT_API_TYPES[entity["type"]],
                                "offset": entity["offset"], "length": entity["length"]}
        if "url" in entity:
            item["url"] = entity["url"]
        if "language" in entity:
            item["language"] = entity["language"]
        if "custom_emoji_id" in entity:
            item["custom_emoji_id"] = entity["custom_emoji_id"]
        if "user_id" in entity:
            item["user"] = {"id": entity["user_id"], "is_bot": False, "first_name": ""}
        if "unix_time" in entity:
            item["unix_time"] = entity["unix_time"]
            item["date_time_format"] = _date_time_format(entity["format_flags"])
        out.append(item)
    return out
