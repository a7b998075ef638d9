"""parse_feed and normalize_link: meaning extracted from real feed bytes, and robustness."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from syndicator.entries import (
    MAX_KEY,
    Entry,
    FeedParseError,
    ParsedFeed,
    normalize_link,
    parse_feed,
)

URL = "https://news.example.org/feed.xml"
DEMO = Path(__file__).resolve().parents[1] / "syndicator" / "sandbox" / "demo"
NS = ('xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/" '
      'xmlns:content="http://purl.org/rss/1.0/modules/content/"')


def rss(items: str, *, channel: str = "<title>Example</title><link>/</link>") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" {NS}><channel>'
            f"{channel}{items}</channel></rss>").encode()


def one(item: str, **kw: object) -> Entry:
    feed = parse_feed(rss(f"<item>{item}</item>"), feed_id="f", url=URL, **kw)  # type: ignore
    assert len(feed.entries) == 1, feed
    return feed.entries[0]


def check_invariants(feed: ParsedFeed) -> None:
    """What every consumer may rely on, whatever the input."""
    assert isinstance(feed.title, str) and "\n" not in feed.title
    assert feed.link is None or feed.link.startswith(("http://", "https://"))
    keys = [e.key for e in feed.entries]
    assert len(keys) == len(set(keys))
    for e in feed.entries:
        assert e.key and len(e.key) <= MAX_KEY
        for text in (e.title, e.summary, *e.categories, e.author or ""):
            assert text == text.strip() and not re.search(r"\s\s|[\n\t\x00\u202e]", text)
        for url in (e.link, e.image):
            assert url is None or re.match(r"https?://", url, re.IGNORECASE), url
        assert e.link_norm is None or len(e.link_norm) <= MAX_KEY
        assert e.title_norm is None or (e.title and len(e.title_norm) <= MAX_KEY)
        for moment in (e.published, e.updated):
            assert moment is None or moment.tzinfo is UTC
        assert "\x00" not in e.content
        (e.title + e.summary + e.content).encode("utf-8")  # storable: no lone surrogates


# --- normalize_link ---------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    ("https://Example.ORG/News/Story?id=7#comments", "https://example.org/News/Story?id=7"),
    ("HTTP://example.org:80/a", "http://example.org/a"),
    ("https://example.org:443/a", "https://example.org/a"),
    ("https://example.org:8443/a", "https://example.org:8443/a"),
    ("http://example.org:443/a", "http://example.org:443/a"),
    ("https://x.org/a?utm_source=rss&id=3&UTM_Medium=feed&b=&utm_campaign=x",
     "https://x.org/a?id=3&b="),
    ("https://x.org/a?utm_source=rss&utm_medium=feed", "https://x.org/a"),
    ("https://x.org/a?b=2&a=1", "https://x.org/a?b=2&a=1"),
    ("https://x.org/caf%C3%A9/?q=a%20b", "https://x.org/caf%C3%A9/?q=a%20b"),
    ("https://user:Pw@Example.org:443/p", "https://user:Pw@example.org/p"),
    ("http://[2001:DB8::1]:80/p", "http://[2001:db8::1]/p"),
    ("  https://x.org/a\n/b  ", "https://x.org/a/b"),
    ("https://x.org", "https://x.org"),
    ("http://[::1/broken", "http://[::1/broken"),
])
def test_normalize_link(raw: str, expected: str) -> None:
    assert normalize_link(raw) == expected


# --- text fields ------------------------------------------------------------------------------

def test_html_titles_become_plain_text() -> None:
    entry = one("<title>&lt;b&gt;Bold&lt;/b&gt;   move &amp;amp; more&lt;br/&gt;next</title>"
                "<guid>1</guid>")
    assert entry.title == "Bold move & more next"
    assert entry.title_norm == "bold move & more next"


def test_plain_text_titles_keep_their_angle_brackets() -> None:
    assert one("<title>AT&amp;T &lt;rocks&gt; 3 &lt; 4</title><guid>1</guid>").title == (
        "AT&T <rocks> 3 < 4")


def test_nbsp_and_bidi_override_entities() -> None:
    entry = one("<title>A&amp;nbsp;B &amp;#x202E;gnirts&amp;#x202C; C&#160;D</title>"
                "<description>x&amp;#x202E;y &amp;#8206;z</description><guid>1</guid>")
    assert entry.title == "A B gnirts C D"  # nbsp is whitespace; the override is gone
    assert entry.summary == "xy \u200ez"  # a plain direction mark is harmless and kept


def test_cdata_title_and_summary_paragraphs_script_and_style() -> None:
    entry = one("<title><![CDATA[<em>Breaking</em>:   news]]></title><guid>1</guid>"
                "<description><![CDATA[<p>First&nbsp;para.</p><script>alert('x')</script>"
                "<style>p{color:red}</style><p>Second<br>line &amp; more</p>]]></description>")
    assert entry.title == "Breaking: news"
    assert entry.summary == "First para. Second line & more"
    assert "script" not in entry.content and "alert" not in entry.content
    assert "<p>First" in entry.content


def test_control_characters_and_cp1252_leftovers_are_cleaned() -> None:
    entry = one("<title>It\u0092s \u0093quoted\u0094</title><guid>1</guid>".replace(
        "\u0092", "&#x92;").replace("\u0093", "&#x93;").replace("\u0094", "&#x94;"))
    assert entry.title == "It\u2019s \u201cquoted\u201d"


def test_content_prefers_content_encoded_and_resolves_relative_urls() -> None:
    entry = one("<title>t</title><guid>1</guid><description>short</description>"
                '<content:encoded><![CDATA[<p>Full <a href="/a/1">story</a>'
                '<img src="img/p.jpg" onerror="x()"></p>]]></content:encoded>')
    assert entry.summary == "short"
    assert 'href="https://news.example.org/a/1"' in entry.content
    assert 'src="https://news.example.org/img/p.jpg"' in entry.content
    assert "onerror" not in entry.content


def test_summary_falls_back_to_content_and_plain_content_is_escaped() -> None:
    atom = (b'<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
            b'<entry><id>urn:1</id><title>t</title><content type="text">a &lt; b</content>'
            b"</entry></feed>")
    entry = parse_feed(atom, feed_id="f", url=URL).entries[0]
    assert entry.summary == "a < b"
    assert entry.content == "a &lt; b"


def test_author_and_categories() -> None:
    entry = one("<title>t</title><guid>1</guid><dc:creator> Jane  Doe </dc:creator>"
                "<category> Politics </category><category>politics</category>"
                "<category>World</category><category> </category>")
    assert entry.author == "Jane Doe"
    assert entry.categories == ("Politics", "World")


def test_rss_author_email_form() -> None:
    assert one("<title>t</title><guid>1</guid>"
               "<author>jane@example.org (Jane Doe)</author>").author == "Jane Doe"


# --- identity ---------------------------------------------------------------------------------

def test_guid_is_the_key_stripped_and_opaque() -> None:
    entry = one('<title>t</title><guid isPermaLink="false">  Tag:Site,2024:/A  </guid>'
                "<link>https://news.example.org/a?utm_source=x</link>")
    assert entry.key == entry.guid == "Tag:Site,2024:/A"
    assert entry.link == "https://news.example.org/a?utm_source=x"
    assert entry.link_norm == "https://news.example.org/a"


def test_no_guid_gives_the_normalised_link_as_key() -> None:
    entry = one("<title>t</title><link>HTTPS://News.Example.org:443/a?utm_medium=rss#top</link>")
    assert entry.guid is None
    assert entry.key == entry.link_norm == "https://news.example.org/a"


def test_relative_and_unsafe_links() -> None:
    assert one("<title>t</title><link>/2024/story</link>").link == (
        "https://news.example.org/2024/story")
    guid = '<guid isPermaLink="false">1</guid>'
    assert one(f"<title>t</title>{guid}<link>javascript:alert(1)</link>").link is None
    assert one(f"<title>t</title>{guid}<link>mailto:a@b.c</link>").link is None
    assert one(f"<title>t</title>{guid}<link>data:text/html,x</link>").link is None


def test_a_permalink_guid_is_the_link_but_the_key_stays_as_written() -> None:
    for feed_url in (URL, "http://www.example.net/rss"):
        entry = parse_feed(rss("<item><title>t</title><guid>12345</guid></item>"),
                           feed_id="f", url=feed_url).entries[0]
        assert entry.key == entry.guid == "12345"  # not resolved against the feed's address
        assert entry.link == feed_url.rsplit("/", 1)[0] + "/12345"


def test_no_guid_no_link_hashes_title_and_date_stably() -> None:
    item = "<title>Only a title</title><pubDate>Tue, 02 Jan 2024 10:00:00 GMT</pubDate>"
    first, second = one(item), one(item)
    assert first.key == second.key and first.key.startswith("sha256:")
    other = one(item.replace("Only", "Just"))
    later = one(item.replace("10:00", "11:00"))
    assert len({first.key, other.key, later.key}) == 3


def test_untitled_entries_have_no_title_norm_and_distinct_keys() -> None:
    feed = parse_feed(rss("<item><description>one</description></item>"
                          "<item><description>two</description></item>"),
                      feed_id="f", url=URL)
    assert [e.title_norm for e in feed.entries] == [None, None]
    assert feed.entries[0].key != feed.entries[1].key


def test_repeated_keys_are_dropped_with_a_warning() -> None:
    feed = parse_feed(rss("<item><title>a</title><guid>same</guid></item>"
                          "<item><title>b</title><guid>same</guid></item>"
                          "<item><title>c</title><guid>other</guid></item>"),
                      feed_id="f", url=URL)
    assert [e.title for e in feed.entries] == ["a", "c"]
    assert feed.warning == "dropped 1 entry with the guid or link of an earlier one"


def test_overlong_guid_is_hashed_to_fit_the_store() -> None:
    entry = one(f"<title>t</title><guid>{'g' * 2000}</guid>")
    assert entry.key.startswith("sha256:") and len(entry.key) <= MAX_KEY
    assert entry.guid == "g" * 2000


def test_entries_keep_feed_order() -> None:
    items = "".join(f"<item><title>n{i}</title><guid>{i}</guid></item>" for i in (3, 1, 2))
    assert [e.key for e in parse_feed(rss(items), feed_id="f", url=URL).entries] == [
        "3", "1", "2"]


# --- images -----------------------------------------------------------------------------------

MEDIA = '<media:content url="https://cdn.example.org/m.jpg" medium="image"/>'
VIDEO = '<media:content url="https://cdn.example.org/v.mp4" medium="video" type="video/mp4"/>'
THUMB = '<media:thumbnail url="https://cdn.example.org/t.jpg"/>'
ENCL = '<enclosure url="https://cdn.example.org/e.png" type="image/png" length="1"/>'
AUDIO = '<enclosure url="https://cdn.example.org/a.mp3" type="audio/mpeg" length="1"/>'
IMG = '<description>&lt;p&gt;&lt;img src="/i/d.jpg"&gt;&lt;/p&gt;</description>'


@pytest.mark.parametrize(("parts", "expected"), [
    ((IMG, ENCL, THUMB, MEDIA), "https://cdn.example.org/m.jpg"),
    ((IMG, ENCL, THUMB, VIDEO), "https://cdn.example.org/t.jpg"),
    ((IMG, AUDIO, ENCL), "https://cdn.example.org/e.png"),
    ((IMG, AUDIO, VIDEO), "https://news.example.org/i/d.jpg"),
    ((AUDIO, VIDEO), None),
    (('<media:content url="https://cdn.example.org/noattrs.webp"/>', THUMB),
     "https://cdn.example.org/noattrs.webp"),
    (('<media:content url="/rel/m.jpg" type="image/jpeg"/>',),
     "https://news.example.org/rel/m.jpg"),
    (('<media:content url="data:image/png;base64,AAAA" medium="image"/>', THUMB),
     "https://cdn.example.org/t.jpg"),
])
def test_image_order(parts: tuple[str, ...], expected: str | None) -> None:
    assert one("<title>t</title><guid>1</guid>" + "".join(parts)).image == expected


def test_image_from_content_skips_tracking_pixels() -> None:
    entry = one("<title>t</title><guid>1</guid><content:encoded><![CDATA["
                '<img src="https://track.example.org/p.gif" width="1" height="1">'
                '<img alt="x" src="https://cdn.example.org/real.jpg?a=1&amp;b=2">'
                "]]></content:encoded>")
    assert entry.image == "https://cdn.example.org/real.jpg?a=1&b=2"


# --- dates ------------------------------------------------------------------------------------

def test_pubdate_becomes_aware_utc() -> None:
    entry = one("<title>t</title><guid>1</guid>"
                "<pubDate>Tue, 02 Jan 2024 10:00:00 +0200</pubDate>")
    assert entry.published == datetime(2024, 1, 2, 8, 0, tzinfo=UTC)


def test_dc_date_only_item_gets_published_from_updated() -> None:
    entry = one("<title>t</title><guid>1</guid><dc:date>2024-03-04T05:06:07-01:00</dc:date>")
    assert entry.published == entry.updated == datetime(2024, 3, 4, 6, 6, 7, tzinfo=UTC)


def test_no_or_bad_date_is_none() -> None:
    assert one("<title>t</title><guid>1</guid>").published is None
    assert one("<title>t</title><guid>1</guid><pubDate>someday</pubDate>").published is None


def test_atom_published_and_updated() -> None:
    atom = (b'<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
            b'<link href="https://news.example.org/"/><entry><id>urn:1</id><title>t</title>'
            b"<published>2024-01-01T00:00:00Z</published><updated>2024-01-02T00:00:00Z"
            b'</updated><link href="https://news.example.org/1"/></entry></feed>')
    feed = parse_feed(atom, feed_id="f", url=URL)
    entry = feed.entries[0]
    assert feed.version == "atom10" and feed.link == "https://news.example.org/"
    assert entry.published == datetime(2024, 1, 1, tzinfo=UTC)
    assert entry.updated == datetime(2024, 1, 2, tzinfo=UTC)


# --- languages --------------------------------------------------------------------------------

def test_language_entry_then_feed_then_argument() -> None:
    items = ("<item><title>a</title><guid>1</guid><dc:language>AR</dc:language></item>"
             "<item><title>b</title><guid>2</guid></item>")
    with_feed = parse_feed(rss(items, channel="<title>T</title><language>en-US</language>"),
                           feed_id="f", url=URL, language="de")
    assert [e.language for e in with_feed.entries] == ["ar", "en-us"]
    without = parse_feed(rss(items, channel="<title>T</title>"), feed_id="f", url=URL,
                         language="de", headers={"Content-Language": "fr"})
    assert [e.language for e in without.entries] == ["ar", "de"]


def test_persian_feed() -> None:
    zwnj = "\u200c"
    title = f"خط ۴ تراموا تا محلهٔ بندر راه{zwnj}اندازی شد"
    body = rss(f"<item><title>{title}</title><guid>fa-1</guid>"
               f"<description>&lt;p&gt;ساکنان &lt;b&gt;بندر&lt;/b&gt; می{zwnj}گویند"
               f"&lt;/p&gt;</description><category>حمل{zwnj}ونقل</category></item>"
               "<item><title>كتابخانه يك</title><guid>fa-2</guid></item>",
               channel="<title>روزنامهٔ نیلوار</title><language>fa</language>")
    feed = parse_feed(body, feed_id="fa", url="https://news.example.org/fa/feed.xml",
                      headers={"Content-Type": "text/xml"})  # us-ascii by RFC 3023, yet UTF-8
    assert feed.title == "روزنامهٔ نیلوار" and feed.warning is None
    first, second = feed.entries
    assert first.title == title and first.language == "fa"
    assert first.summary == f"ساکنان بندر می{zwnj}گویند"
    assert first.categories == (f"حمل{zwnj}ونقل",)
    # Arabic kaf/yeh and Persian keheh/yeh are the same letter for duplicate detection.
    assert second.title_norm == parse_feed(
        rss("<item><title>کتابخانه یک</title><guid>x</guid></item>"),
        feed_id="fa", url=URL).entries[0].title_norm


def test_arabic_windows_1256_feed() -> None:
    body = ('<?xml version="1.0" encoding="windows-1256"?><rss version="2.0"><channel>'
            "<title>أخبار</title><item><title>مرحبا بالعالم</title><guid>1</guid></item>"
            "</channel></rss>").encode("cp1256")
    feed = parse_feed(body, feed_id="ar", url=URL)
    assert feed.title == "أخبار" and feed.entries[0].title == "مرحبا بالعالم"


# --- demo feeds -------------------------------------------------------------------------------

@pytest.mark.parametrize("edition", ["en", "fa"])
def test_bundled_demo_feeds(edition: str) -> None:
    now = datetime(2026, 3, 3, 9, 30, tzinfo=UTC)
    text = (DEMO / f"{edition}.xml").read_text(encoding="utf-8")
    assert sorted(set(re.findall(r"\{\{PUBDATE_(\d+)\}\}", text)), key=int) == [
        str(n) for n in range(12)]
    text = re.sub(r"\{\{PUBDATE_(\d+)\}\}",
                  lambda m: format_datetime(now - timedelta(minutes=20 * int(m.group(1)))),
                  text)
    feed = parse_feed(text.encode(), feed_id=edition,
                      url=f"https://demo.syndicator.invalid/{edition}/feed.xml")
    check_invariants(feed)
    assert feed.warning is None and len(feed.entries) == 12
    for n, entry in enumerate(feed.entries):
        assert entry.language == edition
        assert entry.link and entry.link.startswith(f"https://demo.syndicator.invalid/{edition}/")
        assert entry.image and entry.image.startswith("https://demo.syndicator.invalid/img/")
        assert entry.title and entry.summary and entry.author and entry.categories
        assert entry.published == now - timedelta(minutes=20 * n)
        post = entry.to_post(edition)
        assert (post.feed_id, post.key, post.title) == (edition, entry.key, entry.title)


# --- not a feed -------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "kind", "says"), [
    (b"", "empty", "empty response"),
    (b" \r\n\t ", "empty", "empty response"),
    (b"<!DOCTYPE html><html><head><title>Home</title></head><body><p>Hi</p></body></html>",
     "html",
     "not an RSS or Atom feed (got an HTML page, served as text/html; check the feed URL)"),
    (b'<?xml version="1.0"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>',
     "html", "got an HTML page"),
    (b'{"error": "rate limited", "code": 429}', "json", "got JSON"),
    (b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', "json", "JSON Feed"),
    (bytes(range(256)) * 4, "binary", "got binary data"),
    (b"\x1f\x8b\x08\x00" + b"\x00" * 40, "binary", "got binary data"),
    (b"Service temporarily unavailable", "text", "got plain text"),
    (b'<?xml version="1.0"?><urlset><url><loc>https://x/</loc></url></urlset>', "xml",
     "got an XML document with root <urlset>"),
    (b'<?xml version="1.0"?><!-- nothing -->', "xml", "without elements"),
])
def test_not_a_feed(body: bytes, kind: str, says: str) -> None:
    with pytest.raises(FeedParseError) as caught:
        parse_feed(body, feed_id="f", url=URL, headers={"Content-Type": "text/html"})
    error = caught.value
    assert error.kind == kind and error.url == URL and error.feed_id == "f"
    assert str(error).startswith(f"{URL}: ") and says in str(error)
    assert "\n" not in str(error)


def test_broken_feed_without_anything_readable() -> None:
    with pytest.raises(FeedParseError) as caught:
        parse_feed(b'<rss version="2.0"><channel><', feed_id="f", url=URL)
    assert caught.value.kind == "malformed" and "broken feed" in str(caught.value)


def test_bozo_feed_with_entries_is_accepted_with_a_warning() -> None:
    body = rss("<item><title>ok &nbsp; then</title><guid>1</guid></item>"
               "<item><title>second</title><guid>2</guid>")[:-len("</channel></rss>")]
    feed = parse_feed(body, feed_id="f", url=URL)
    assert [e.title for e in feed.entries] == ["ok then", "second"]
    assert feed.warning and feed.warning.startswith("not well-formed XML (")


def test_truncated_feed_with_a_channel_is_an_empty_feed_with_a_warning() -> None:
    feed = parse_feed(b'<rss version="2.0"><channel><title>Cut</title><description>x',
                      feed_id="f", url=URL)
    assert feed.entries == [] and feed.title == "Cut"
    assert feed.warning and "no entries found" in feed.warning


def test_a_valid_empty_feed_is_fine() -> None:
    feed = parse_feed(rss(""), feed_id="f", url=URL)
    assert feed.entries == [] and feed.warning is None and feed.title == "Example"


# --- robustness -------------------------------------------------------------------------------

SEED_FEED = rss(
    "".join(f'<item><title>T{i} &amp; &lt;b&gt;x&lt;/b&gt;</title><link>/a/{i}?utm_x=1</link>'
            f'<guid isPermaLink="false">g{i}</guid><pubDate>Tue, 02 Jan 2024 1{i}:00:00 GMT'
            f'</pubDate><description>&lt;p&gt;p{i}&lt;img src="i{i}.jpg"&gt;&lt;/p&gt;'
            f'</description>{MEDIA}<category>c{i}</category></item>' for i in range(5)))


def test_random_bytes_never_raise_anything_but_feed_parse_error() -> None:
    rng = random.Random(20240601)
    for n in range(300):
        size = rng.choice([0, 1, 2, 10, 100, 1000, 5000])
        body = bytes(rng.getrandbits(8) for _ in range(size))
        if n % 3 == 0:
            body = b"<rss version='2.0'><channel><item><title>" + body
        try:
            check_invariants(parse_feed(body, feed_id="f", url=URL))
        except FeedParseError as exc:
            assert "\n" not in str(exc)


def test_mutated_feeds_never_raise_anything_but_feed_parse_error() -> None:
    rng = random.Random(7)
    tokens = [b"<", b">", b"&", b"&#0;", b"&#xD800;", b"&#x202E;", b"<![CDATA[", b"]]>",
              b"<item>", b"</item>", b"<img src=javascript:x>", b"\x00", b"\xff\xfe",
              b'<guid>', b"<link>", b"<!DOCTYPE x [<!ENTITY a 'b'>]>", b"&a;", b"\xd8\x00"]
    for _ in range(300):
        body = bytearray(SEED_FEED)
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(len(body))
            action = rng.random()
            if action < 0.4:
                body[at:at] = rng.choice(tokens)
            elif action < 0.7:
                del body[at:at + rng.randint(1, 40)]
            else:
                body[at] = rng.getrandbits(8)
        if rng.random() < 0.2:
            body = body[: rng.randrange(len(body))]
        try:
            check_invariants(parse_feed(bytes(body), feed_id="f", url=URL))
        except FeedParseError as exc:
            assert "\n" not in str(exc)


def test_the_seed_feed_itself() -> None:
    feed = parse_feed(SEED_FEED, feed_id="f", url=URL)
    check_invariants(feed)
    assert [e.key for e in feed.entries] == [f"g{i}" for i in range(5)]
    assert feed.entries[0].title == "T0 & x"
    assert feed.entries[0].link_norm == "https://news.example.org/a/0"
