"""Feed bytes to normalised entries: feedparser does the reading, this module decides meaning.

Everything that reaches the store and the composer goes through here, so this is where
untrusted feed text becomes plain, bounded, storable values: tags stripped, entities decoded,
control and bidi-override characters dropped, URLs absolute and http(s) only, dates aware UTC.

``parse_feed`` raises :class:`FeedParseError` and nothing else, whatever the bytes.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
from feedparser.urls import resolve_relative_uris

from syndicator.model import Post
from syndicator.text.links import normalize_link
from syndicator.text.plain import html_to_text

__all__ = ["Entry", "FeedParseError", "ParsedFeed", "normalize_link", "parse_feed"]

MAX_KEY = 512
"""Width of ``posts.key``, ``posts.link_norm`` and ``posts.title_norm`` in the store."""

_LANGUAGE = re.compile(r"[a-z]{1,8}(?:-[a-z0-9]{1,8})*")
_WS = re.compile(r"\s+")
# C0 controls (bar tab/newline/CR, which whitespace-collapsing handles), DEL, lone surrogates,
# BOM and noncharacters: none is text, and NUL or a surrogate makes the row unstorable.
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufeff\ufffe\uffff]")
# Bidi embeddings, overrides and isolates: an unclosed U+202E in a title would reverse the rest
# of every message composed around it. Marks (U+200E/U+200F) and ZWNJ (needed by Persian) stay.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
_C1 = re.compile("[\x80-\x9f]")
# Numeric references that may name UTF-16 surrogates (U+D800-U+DFFF): some CMSs write emoji as
# a JavaScript-style pair (&#55357;&#56832;); expat refuses them and feedparser's lenient parser
# then crashes on the whole feed. The pattern is loose; values are checked in _surrogate_pair.
_SURROGATE_REF = rb"&#(?:[xX]0*[dD][89a-fA-F][0-9a-fA-F]{2}|0*5[5-7][0-9]{3});"
_SURROGATE_REFS = re.compile(b"(" + _SURROGATE_REF + b")(" + _SURROGATE_REF + b")?")
_WEEKDAY = re.compile(r"^\s*[^\W\d_]{2,}\.?,\s*")
# Folded away for duplicate-title detection only: tatweel, zero-width characters, bidi marks.
_TITLE_IGNORABLE = re.compile("[\u0640\u200b-\u200f\u2060\u202a-\u202e\u2066-\u2069]")
_TITLE_FOLD = str.maketrans({"\u064a": "\u06cc", "\u0643": "\u06a9", "\u0649": "\u06cc"})
_IMAGE_EXT = re.compile(r"\.(?:jpe?g|png|gif|webp|avif)$", re.IGNORECASE)
_IMG_TAG = re.compile(r"<img\b([^>]*)>", re.IGNORECASE)
_ATTR = re.compile(r"""([a-zA-Z_:][-\w:.]*)\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+)""")
_TAG = re.compile(r"<[^>]*>")
_PLAIN_TYPES = ("text/plain", "text")
# feedparser's own name for the bozo reasons that are not breakage (charset, content type).
_NOT_BROKEN = feedparser.exceptions.ThingsNobodyCaresAboutButMe


class FeedParseError(Exception):
    """The body is not an RSS or Atom feed we can read; ``str()`` is one line naming the URL.

    ``kind`` says what arrived instead: ``empty``, ``html``, ``json``, ``binary``, ``text``,
    ``xml`` (some other XML document), ``malformed`` (a broken feed with no readable entry) or
    ``internal`` (feedparser itself failed on this input).
    """

    def __init__(self, message: str, *, kind: str, url: str = "", feed_id: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.url = url
        self.feed_id = feed_id

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class Entry:
    """One feed item, normalised.

    ``key`` is the entry's identity within its feed, chosen as:

    1. the guid/id as written, stripped (opaque: a relative permalink guid such as ``12345`` is
       not resolved against the feed's address, so moving the feed keeps its keys);
    2. else ``link_norm``;
    3. else ``"sha256:" +`` the hex digest of the title and the published time (and of the
       summary when there is no title), so an item without guid or link still gets a key that
       is stable across polls.

    A guid or link longer than :data:`MAX_KEY` characters is replaced by ``"sha256:<hex>"`` of
    itself so that the key always fits the store's column.

    ``link`` and ``image`` are absolute http(s) URLs or None. ``title``, ``summary``,
    ``author`` and ``categories`` are plain one-line text; ``content`` is feedparser's
    sanitised HTML. ``title_norm`` is None for an untitled entry. ``language`` is a lowercased
    BCP 47 tag. ``published`` falls back to ``updated`` (RSS ``dc:date`` is an update date to
    feedparser); both are aware UTC datetimes.
    """

    key: str
    guid: str | None
    link: str | None
    link_norm: str | None
    title: str
    title_norm: str | None
    summary: str
    content: str
    image: str | None
    author: str | None
    categories: tuple[str, ...]
    language: str | None
    published: datetime | None
    updated: datetime | None

    def to_post(self, feed_id: str) -> Post:
        """The value the router and composer work with."""
        return Post(
            feed_id=feed_id,
            key=self.key,
            link=self.link,
            title=self.title,
            summary=self.summary,
            content=self.content,
            image=self.image,
            author=self.author,
            categories=self.categories,
            language=self.language,
            published=self.published,
        )


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A readable feed: its entries in feed order, and a warning when it was not clean.

    ``warning`` is set when the XML was broken but entries could still be read (feedparser's
    "bozo" fallback), when entries repeated an earlier entry's key (the later ones are dropped,
    so one parse never yields the same key twice), or when an entry could not be read at all.
    """

    title: str
    link: str | None
    entries: list[Entry]
    warning: str | None = None
    version: str = ""


def parse_feed(
    body: bytes,
    *,
    feed_id: str,
    url: str,
    headers: Mapping[str, str] | None = None,
    language: str | None = None,
) -> ParsedFeed:
    """Read ``body`` (already fetched and decompressed) as an RSS or Atom feed.

    ``url`` is the feed's final URL: it names the feed in messages and is the base for
    relative links. ``headers`` are the HTTP response headers (only ``Content-Type`` is used:
    it may declare the charset). ``language`` is the configured language, used when neither
    the entry nor the feed declares one.

    Raises:
        FeedParseError: the body is empty, not a feed, or a broken feed without entries.
    """
    try:
        return _parse(body, feed_id=feed_id, url=url, headers=headers, language=language)
    except FeedParseError:
        raise
    except Exception as exc:  # noqa: BLE001 - the promise is "FeedParseError or a feed"
        raise FeedParseError(
            f"{url}: the feed reader failed on this body ({type(exc).__name__}: "
            f"{_one_line(exc)}; the feed is probably broken, check it with a feed validator)",
            kind="internal", url=url, feed_id=feed_id,
        ) from exc


def _parse(
    body: bytes,
    *,
    feed_id: str,
    url: str,
    headers: Mapping[str, str] | None,
    language: str | None,
) -> ParsedFeed:
    def fail(reason: str, kind: str) -> FeedParseError:
        return FeedParseError(f"{url}: {reason}", kind=kind, url=url, feed_id=feed_id)

    body = bytes(body)
    if not body.strip():
        raise fail("empty response (the server sent no feed; check the feed URL)", "empty")
    wanted = {k.lower(): v for k, v in (headers or {}).items()}
    # No Content-Location on purpose: feedparser would resolve a relative permalink guid
    # ("12345") against it, so the key would change whenever the feed's address does. Links
    # and content are resolved against ``url`` here instead. Content-Language is left out too:
    # sites send their UI language there and feedparser would let it beat <language>.
    response_headers = {}
    if wanted.get("content-type"):
        response_headers["content-type"] = str(wanted["content-type"])
    # Never hand feedparser a str or URL: it would fetch or open it. Sanitising stays on
    # (content is shown to editors); its URI resolution still applies any xml:base.
    if b"&#" in body:
        body = _SURROGATE_REFS.sub(_surrogate_pair, body)
    data = feedparser.parse(
        io.BytesIO(body),
        response_headers=response_headers,
        sanitize_html=True,
        resolve_relative_uris=True,
    )
    version = str(data.get("version") or "")
    raw_entries = list(data.get("entries") or [])
    bozo = data.get("bozo_exception") if data.get("bozo") else None
    if not version and (not raw_entries or _sniff(body) == "html"):
        kind, what = _describe(body, wanted.get("content-type"))
        raise fail(f"not an RSS or Atom feed ({what})", kind)
    feed = data.get("feed") or {}
    broken = bozo is not None and not isinstance(bozo, _NOT_BROKEN)
    if broken and not raw_entries and not (feed.get("title") or feed.get("link")):
        raise fail(
            f"broken feed, nothing could be read ({_bozo_text(bozo)}; "
            "the server may have cut the body short)",
            "malformed",
        )

    notes: list[str] = []
    if not version:
        notes.append("not a known RSS or Atom version, read leniently")
    if bozo is not None and not _benign(bozo):
        notes.append(f"not well-formed XML ({_bozo_text(bozo)}), read leniently"
                     + ("" if raw_entries else "; no entries found"))
    feed_language = _language(feed.get("language"))
    fallback_language = _detail_language(feed, "title") or _language(language)

    entries: list[Entry] = []
    seen: set[str] = set()
    repeated = unreadable = 0
    for raw in raw_entries:
        try:
            entry = _entry(raw, base=url, feed_language=feed_language,
                           fallback_language=fallback_language)
        except Exception:  # noqa: BLE001 - one odd item must not cost the feed's other items
            unreadable += 1
            continue
        if entry.key in seen:
            repeated += 1
            continue
        seen.add(entry.key)
        entries.append(entry)
    if repeated:
        notes.append(f"dropped {_entries(repeated)} with the guid or link of an earlier one")
    if unreadable:
        notes.append(f"skipped {_entries(unreadable)} that could not be read")
    return ParsedFeed(
        title=_text(feed.get("title"), _detail_type(feed, "title")),
        link=_http_url(feed.get("link"), url),
        entries=entries,
        warning="; ".join(notes) or None,
        version=version,
    )


def _entries(n: int) -> str:
    return f"{n} entry" if n == 1 else f"{n} entries"


def _entry(
    raw: Mapping[str, Any],
    *,
    base: str,
    feed_language: str | None,
    fallback_language: str | None,
) -> Entry:
    link = _entry_link(raw, base)
    link_norm = _bounded_key(normalize_link(link)) if link else None
    title = _text(raw.get("title"), _detail_type(raw, "title"))
    summary_html, summary_type = _summary_source(raw)
    summary = _text(summary_html, summary_type)
    content = _content(raw, base)
    # dict.get: feedparser's own get() maps a missing "updated" to "published", with a warning
    updated = _utc(dict.get(raw, "updated_parsed")) if isinstance(raw, dict) else None
    published = (_utc(raw.get("published_parsed")) or _localized_date(raw.get("published"))
                 or updated)
    guid = _clean(str(raw.get("id") or "")).strip() or None
    if guid:
        key = _bounded_key(guid)
    elif link_norm:
        key = link_norm
    else:
        basis = f"{title}\n{published.isoformat() if published else ''}"
        if not title:
            basis += "\n" + summary
        key = "sha256:" + hashlib.sha256(basis.encode("utf-8")).hexdigest()
    return Entry(
        key=key,
        guid=guid,
        link=link,
        link_norm=link_norm,
        title=title,
        title_norm=_title_norm(title),
        summary=summary,
        content=content,
        image=_image(raw, content, base),
        author=_author(raw),
        categories=_categories(raw.get("tags")),
        # The entry's dc:language, its xml:lang, the feed's <language>, the feed's xml:lang,
        # then the configured one.
        language=_language(raw.get("language"))
        or _detail_language(raw, "title", "summary")
        or feed_language
        or fallback_language,
        published=published,
        updated=updated,
    )


def _http_url(value: object, base: str) -> str | None:
    """``value`` resolved against ``base``, or None when it is not an http(s) URL."""
    if not isinstance(value, str) or not value.strip():
        return None
    # What browsers do (WHATWG URL): tabs and newlines inside a URL are removed.
    text = re.sub(r"[\t\r\n]", "", value).strip().replace(" ", "%20")
    if _UNSTORABLE.search(text):
        return None
    try:
        absolute = urljoin(base, text)
        parts = urlsplit(absolute)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return None
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        return None
    return absolute


def _entry_link(raw: Mapping[str, Any], base: str) -> str | None:
    candidates: list[object] = [raw.get("link")]
    for item in raw.get("links") or ():
        if isinstance(item, Mapping) and item.get("rel", "alternate") == "alternate":
            candidates.append(item.get("href"))
    if raw.get("guidislink"):
        candidates.append(raw.get("id"))
    for candidate in candidates:
        found = _http_url(candidate, base)
        if found:
            return found
    return None


def _bounded_key(value: str) -> str:
    if len(value) <= MAX_KEY:
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def _summary_source(raw: Mapping[str, Any]) -> tuple[object, str]:
    if raw.get("summary"):
        return raw.get("summary"), _detail_type(raw, "summary")
    for item in raw.get("content") or ():
        if isinstance(item, Mapping) and item.get("value"):
            return item.get("value"), str(item.get("type") or "text/html")
    return "", "text/plain"


def _content(raw: Mapping[str, Any], base: str) -> str:
    """The first content block as sanitised HTML with absolute URLs; plain text is escaped."""
    value: object = None
    kind, where = "text/html", ""
    for item in raw.get("content") or ():
        if isinstance(item, Mapping) and item.get("value"):
            value, kind = item.get("value"), str(item.get("type") or "text/html")
            where = str(item.get("base") or "")
            break
    else:
        value, kind = raw.get("summary"), _detail_type(raw, "summary")
        detail = raw.get("summary_detail")
        where = str(detail.get("base") or "") if isinstance(detail, Mapping) else ""
    if not isinstance(value, str):
        return ""
    value = _UNSTORABLE.sub("", value)
    if kind.lower() in _PLAIN_TYPES:
        return html.escape(value, quote=False)
    if "<" in value:
        value = resolve_relative_uris(value, urljoin(base, where), "utf-8", kind)
    return str(value).strip()


def _image(raw: Mapping[str, Any], content: str, base: str) -> str | None:
    """First usable image, in this order: media:content that is an image, media:thumbnail,
    an image enclosure, the first ``<img>`` in the content, then in the summary."""
    for media in raw.get("media_content") or ():
        if not isinstance(media, Mapping):
            continue
        medium = str(media.get("medium") or "").lower()
        mime = str(media.get("type") or "").lower()
        address = str(media.get("url") or "")
        is_image = medium == "image" or mime.startswith("image/") or (
            not medium and not mime and _IMAGE_EXT.search(_path_of(address)) is not None)
        if is_image and (found := _http_url(address, base)):
            return found
    for thumb in raw.get("media_thumbnail") or ():
        if isinstance(thumb, Mapping) and (found := _http_url(thumb.get("url"), base)):
            return found
    for enclosure in raw.get("enclosures") or ():
        if (isinstance(enclosure, Mapping)
                and str(enclosure.get("type") or "").lower().startswith("image/")
                and (found := _http_url(enclosure.get("href"), base))):
            return found
    summary = raw.get("summary")
    for markup in (content, summary if isinstance(summary, str) else ""):
        if found := _first_img(markup, base):
            return found
    return None


def _path_of(address: str) -> str:
    """The path of ``address``, or "" when it cannot be split (for extension checks)."""
    try:
        return urlsplit(address).path
    except ValueError:
        return ""


def _first_img(markup: str, base: str) -> str | None:
    for tag in _IMG_TAG.finditer(markup):
        attrs = {m.group(1).lower(): html.unescape(m.group(2).strip("\"'"))
                 for m in _ATTR.finditer(tag.group(1))}
        if attrs.get("width", "").strip() in ("0", "1") or attrs.get("height", "").strip() in (
                "0", "1"):
            continue  # a tracking pixel, not a picture
        if found := _http_url(attrs.get("src"), base):
            return found
    return None


def _author(raw: Mapping[str, Any]) -> str | None:
    detail = raw.get("author_detail")
    name = detail.get("name") if isinstance(detail, Mapping) else None
    text = _text(name or raw.get("author"), "text/plain")
    return text or None


def _categories(tags: object) -> tuple[str, ...]:
    out: list[str] = []
    seen: set[str] = set()
    if not isinstance(tags, Iterable) or isinstance(tags, str | bytes):
        return ()
    for tag in tags:
        if not isinstance(tag, Mapping):
            continue
        term = _text(tag.get("term") or tag.get("label"), "text/plain")
        if term and term.casefold() not in seen:
            seen.add(term.casefold())
            out.append(term)
    return tuple(out)


def _detail_type(raw: Mapping[str, Any], name: str) -> str:
    detail = raw.get(f"{name}_detail")
    if isinstance(detail, Mapping) and detail.get("type"):
        return str(detail["type"])
    return "text/html"


def _detail_language(raw: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        detail = raw.get(f"{name}_detail")
        if isinstance(detail, Mapping) and (found := _language(detail.get("language"))):
            return found
    return None


def _language(value: object) -> str | None:
    """A BCP 47-shaped tag, lowercased (``en-us``, ``fa``), or None for anything else."""
    if not isinstance(value, str):
        return None
    tag = value.strip().replace("_", "-").lower()
    return tag if len(tag) <= 32 and _LANGUAGE.fullmatch(tag) else None


def _utc(value: object) -> datetime | None:
    """feedparser's ``*_parsed`` (a UTC struct_time) as an aware datetime; None if invalid."""
    try:
        fields = tuple(value[:6])  # type: ignore[index]
        year, month, day, hour, minute, second = (int(f) for f in fields)
        return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _surrogate_pair(match: re.Match[bytes]) -> bytes:
    """A high+low pair becomes the one reference it encodes; a lone surrogate becomes U+FFFD."""
    def value(ref: bytes) -> int:
        digits = ref[2:-1]
        return int(digits[1:], 16) if digits[:1] in (b"x", b"X") else int(digits)

    def alone(ref: bytes) -> bytes:
        return b"&#65533;" if 0xD800 <= value(ref) <= 0xDFFF else ref

    first, second = match.group(1), match.group(2)
    if second is None:
        return alone(first)
    high, low = value(first), value(second)
    if 0xD800 <= high <= 0xDBFF and 0xDC00 <= low <= 0xDFFF:
        return b"&#%d;" % (0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
    return alone(first) + alone(second)


def _localized_date(value: object) -> datetime | None:
    """An RFC 822 date whose weekday is not English ("mer, 16 nov 2022 ..."), which
    feedparser gives up on; the weekday carries nothing, so drop it and try again."""
    if not isinstance(value, str) or not _WEEKDAY.match(value):
        return None
    try:
        parsed = parsedate_to_datetime(_WEEKDAY.sub("", value, count=1))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        return None  # a local time in an unknown zone is no time at all
    return parsed.astimezone(UTC)


def _text(value: object, kind: str = "text/html") -> str:
    """Plain text on one line: for HTML, tags stripped (script/style dropped) and entities
    decoded; always controls dropped and whitespace collapsed."""
    if not isinstance(value, str) or not value:
        return ""
    text = value if kind.lower() in _PLAIN_TYPES else html_to_text(value)
    return _WS.sub(" ", _clean(text)).strip()


def _clean(text: str) -> str:
    """Drop what is not text; C1 controls are usually cp1252 read as latin-1, so map them."""
    text = _UNSTORABLE.sub("", text)
    text = _BIDI_CONTROLS.sub("", text)
    if _C1.search(text):
        text = _C1.sub(lambda m: bytes([ord(m.group())]).decode("cp1252", "ignore"), text)
    return text


def _title_norm(title: str) -> str | None:
    """Casefolded, NFKC, Arabic/Persian letter variants folded: None when there is no title,
    so two untitled entries are never taken for the same story."""
    if not title:
        return None
    folded = unicodedata.normalize("NFKC", title).casefold().translate(_TITLE_FOLD)
    folded = _WS.sub(" ", _TITLE_IGNORABLE.sub("", folded)).strip()
    return folded[:MAX_KEY] or None


def _benign(exc: object) -> bool:
    if isinstance(exc, feedparser.NonXMLContentType):
        return True
    # RFC 3023 makes text/xml without charset us-ascii; nearly every UTF-8 feed served as
    # text/xml trips this, and feedparser then reads it correctly as UTF-8.
    return isinstance(exc, feedparser.CharacterEncodingOverride) and "us-ascii" in str(exc)


def _bozo_text(exc: object) -> str:
    message, line = getattr(exc, "getMessage", None), getattr(exc, "getLineNumber", None)
    if callable(message) and callable(line):
        try:
            return f"{message()} at line {line()}"
        except Exception:  # noqa: BLE001 - a SAX error without a locator
            pass
    return _one_line(exc) or type(exc).__name__


def _one_line(exc: object) -> str:
    return _WS.sub(" ", str(exc)).strip()[:200]


def _sniff(body: bytes) -> str:
    head = body[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"\x1f\x8b", b"pk\x03\x04", b"%pdf")) or b"\x00" in head[:1024]:
        return "binary"
    if head.startswith((b"<!doctype html", b"<html")) or re.search(rb"<html[\s>]", head):
        return "html"
    if head.startswith((b"{", b"[")):
        return "json"
    if head.startswith(b"<"):
        return "xml"
    sample = head[:1024]
    controls = sum(1 for b in sample if b < 9 or 13 < b < 32)
    if sample and controls / len(sample) > 0.05:
        return "binary"
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:  # a sequence cut by the 1 KB window is not a sign
            return "binary"
    return "text"


def _describe(body: bytes, content_type: str | None) -> tuple[str, str]:
    kind = _sniff(body)
    served = f", served as {content_type.split(';')[0].strip()}" if content_type else ""
    if kind == "html":
        return kind, f"got an HTML page{served}; check the feed URL"
    if kind == "json":
        if b"jsonfeed.org" in body[:4096]:
            return kind, "got a JSON Feed, which syndicator does not read; use the site's " \
                         "RSS or Atom feed"
        return kind, f"got JSON{served}, perhaps an error message; check the feed URL"
    if kind == "binary":
        return kind, f"got binary data{served}; check the feed URL"
    if kind == "xml":
        match = re.search(rb"<([A-Za-z_][-\w.:]*)", re.sub(rb"<[?!][^>]*>", b"", body[:4096]))
        if not match:
            return kind, "got an XML document without elements; check the feed URL"
        root = match.group(1).decode("ascii", "replace")
        return kind, f"got an XML document with root <{root}>; check the feed URL"
    return kind, f"got plain text{served}; check the feed URL"
