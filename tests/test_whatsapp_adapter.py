"""The WhatsApp adapter: share links, and the share page and links.json it keeps on disk."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from syndicator.adapters.whatsapp import (
    KEEP_ENTRIES,
    MAX_TEXT_LENGTH,
    MAX_URL_LENGTH,
    WhatsAppAdapter,
    share_url,
)
from syndicator.clock import ManualClock
from syndicator.config import parse_settings
from syndicator.errors import PermanentError
from syndicator.model import Message

PERSIAN = "خبر فوری: بارش برف در تهران مدارس را تعطیل کرد"


def make_adapter(share_dir: Path | str, clock: ManualClock | None = None,
                 **extra: Any) -> WhatsAppAdapter:
    settings = parse_settings(
        {"feeds": [{"id": "news", "url": "https://example.com/feed.xml"}],
         "channels": [{"id": "wa", "platform": "whatsapp", "feeds": ["news"],
                       "share_dir": str(share_dir), **extra}]}, environ={})
    return WhatsAppAdapter(settings.channels[0], clock=clock)


def entries(share: Path) -> list[dict[str, Any]]:
    return json.loads((share / "links.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_persian_text_is_percent_encoded_utf8() -> None:
    url = share_url(PERSIAN + "\nhttps://example.com/a?b=1&c=2#d")
    assert url.startswith("https://wa.me/?text=%D8%AE%D8%A8%D8%B1%20")
    assert " " not in url and "+" not in url and "&c" not in url and "#" not in url
    assert "%0Ahttps%3A%2F%2Fexample.com%2Fa%3Fb%3D1%26c%3D2%23d" in url
    assert parse_qs(urlsplit(url).query)["text"] == [PERSIAN + "\nhttps://example.com/a?b=1&c=2#d"]


async def test_phone_form(tmp_path: Path) -> None:
    adapter = make_adapter(tmp_path / "share", phone="989121234567")
    receipt = await adapter.publish(Message(1, "Hello", link="https://example.com/1"))
    assert receipt.url == "https://wa.me/989121234567?text=" + quote(
        "Hello\nhttps://example.com/1", safe="")


async def test_publish_records_the_link_as_the_receipt(tmp_path: Path) -> None:
    share = tmp_path / "share"
    adapter = make_adapter(share, ManualClock(datetime(2026, 11, 1, 8, 0, tzinfo=UTC)))
    message = Message(5, PERSIAN, link="https://example.com/fa/1", title="برف")
    receipt = await adapter.publish(message)
    (entry,) = entries(share)
    assert entry == {"delivery_id": 5, "title": "برف", "text": PERSIAN + "\nhttps://example.com/fa/1",
                     "link": "https://example.com/fa/1", "url": receipt.url,
                     "created": "2026-11-01T08:00:00+00:00"}
    assert receipt.url == share_url(entry["text"])
    again = await adapter.publish(message)
    assert again.remote_id == receipt.remote_id  # stable for the same delivery and text
    assert len(entries(share)) == 1  # a repeated delivery replaces its entry
    other = await adapter.publish(Message(6, PERSIAN, link="https://example.com/fa/1"))
    assert other.remote_id != receipt.remote_id


async def test_the_link_is_not_repeated_when_the_text_has_it(tmp_path: Path) -> None:
    adapter = make_adapter(tmp_path)
    receipt = await adapter.publish(Message(1, "Read https://example.com/x now",
                                            link="https://example.com/x"))
    assert parse_qs(urlsplit(receipt.url or "").query)["text"] == [
        "Read https://example.com/x now"]


async def test_newest_first_in_json_and_page(tmp_path: Path) -> None:
    clock = ManualClock()
    adapter = make_adapter(tmp_path / "share", clock)
    for n in range(1, 4):
        await adapter.publish(Message(n, f"text {n}", title=f"Title {n}"))
        clock.advance(timedelta(minutes=1))
    assert [e["delivery_id"] for e in entries(tmp_path / "share")] == [3, 2, 1]
    page = (tmp_path / "share" / "index.html").read_text(encoding="utf-8")
    assert page.index("Title 3") < page.index("Title 2") < page.index("Title 1")
    assert page.count("Share on WhatsApp</a>") == 3


async def test_only_the_newest_entries_are_kept(tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    old = [{"delivery_id": n, "title": "", "text": f"old {n}", "link": None,
            "url": share_url(f"old {n}"), "created": "2026-01-01T00:00:00+00:00"}
           for n in range(KEEP_ENTRIES, 0, -1)]
    (share / "links.json").write_text(json.dumps(old), encoding="utf-8")
    await make_adapter(share).publish(Message(9999, "newest"))
    kept = entries(share)
    assert len(kept) == KEEP_ENTRIES
    assert kept[0]["delivery_id"] == 9999 and kept[-1]["delivery_id"] == 2


async def test_hostile_titles_and_text_are_escaped(tmp_path: Path) -> None:
    share = tmp_path / "share"
    await make_adapter(share).publish(Message(
        1, 'Click <img src=x onerror=alert(1)> & "quote"', title="<script>alert(1)</script>"))
    page = (share / "index.html").read_text(encoding="utf-8")
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quote&quot;" in page


async def test_page_is_static_mobile_friendly_and_rtl_aware(tmp_path: Path) -> None:
    share = tmp_path / "share"
    await make_adapter(share).publish(Message(1, PERSIAN, title="عنوان"))
    page = (share / "index.html").read_text(encoding="utf-8")
    assert '<meta name="viewport"' in page and 'dir="auto"' in page
    assert "<script" not in page and "<link" not in page and "src=" not in page
    assert "@import" not in page and "url(" not in page
    assert PERSIAN in page and "عنوان" in page


async def test_a_tampered_links_file_cannot_inject_a_button(tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    (share / "links.json").write_text(json.dumps([{
        "delivery_id": 1, "title": "t", "text": "x", "link": None,
        "url": "javascript:alert(1)", "created": ""}]), encoding="utf-8")
    await make_adapter(share).publish(Message(2, "fine"))
    page = (share / "index.html").read_text(encoding="utf-8")
    assert "javascript:" not in page and page.count("Share on WhatsApp</a>") == 1


async def test_files_are_replaced_atomically(tmp_path: Path) -> None:
    """A reader polling during many writes only ever sees whole files; no temp files remain."""
    share = tmp_path / "share"
    adapter = make_adapter(share)
    await adapter.publish(Message(0, "first"))
    stop, seen, broken = threading.Event(), [0], []

    def read() -> None:
        while not stop.is_set():
            try:
                json.loads((share / "links.json").read_text(encoding="utf-8"))
                page = (share / "index.html").read_text(encoding="utf-8")
                if not page.rstrip().endswith("</html>"):
                    broken.append("html")
                seen[0] += 1
            except ValueError:
                broken.append("json")

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for n in range(1, 40):
            await adapter.publish(Message(n, f"post {n} " + "x" * 200))
    finally:
        stop.set()
        reader.join()
    assert broken == [] and seen[0] > 0
    assert sorted(p.name for p in share.iterdir()) == ["index.html", "links.json"]


async def test_too_long_a_link_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    share = tmp_path / "share"
    adapter = make_adapter(share)
    text = "📰" * MAX_TEXT_LENGTH  # within the text bound, but 12 URL characters each
    with pytest.raises(PermanentError) as caught:
        await adapter.publish(Message(1, text))
    assert str(MAX_URL_LENGTH) in str(caught.value)
    assert not share.exists()


def test_the_text_bound_keeps_persian_within_the_url_bound() -> None:
    longest = share_url("ش" * MAX_TEXT_LENGTH, phone="9" * 15)
    assert len(longest) <= MAX_URL_LENGTH
    assert make_adapter("share").limits.max_length == MAX_TEXT_LENGTH


async def test_relative_share_dir_is_created_where_given(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    adapter = make_adapter("public/share")
    account = await adapter.verify()
    assert (account.id, account.name) == ("share-links", "public/share")
    await adapter.publish(Message(1, "relative"))
    assert (tmp_path / "public" / "share" / "links.json").exists()


async def test_verify_fails_when_share_dir_cannot_be_a_folder(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file, not a folder")
    adapter = make_adapter(tmp_path / "taken")
    with pytest.raises(PermanentError):
        await adapter.verify()
    with pytest.raises(PermanentError):
        await adapter.publish(Message(1, "nowhere to go"))
