"""WhatsApp: share links and a static share page, because WhatsApp Channels have no posting API.

A person opens the page and presses the button; WhatsApp opens with the text filled in and
nothing is sent until they tap Send (platforms.md 4.1, 4.2).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import html
import json
import os
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from syndicator.adapters.base import Adapter
from syndicator.clock import Clock, SystemClock
from syndicator.config import ChannelBase, WhatsAppChannel
from syndicator.errors import AuthError, PermanentError, PublishError, TransientError
from syndicator.model import Account, Limits, Message, Receipt

PLATFORM = "whatsapp"
#: Longest link we hand out. WhatsApp documents no limit for ``text=``; 2,000 characters is
#: the common safe URL size (old browsers stop near 2,083, sitemaps at 2,048) and still fits a
#: QR code a phone camera reads off a screen (platforms.md 4.1).
MAX_URL_LENGTH = 2000
#: The text bound the composer fits to: 300 Persian or Arabic letters encode to 6 characters
#: each (two UTF-8 bytes, %XX%XX), 1,800 in all, which leaves room for the wa.me prefix with a
#: 15-digit number. Emoji-heavy text can still overflow; publish() refuses it then.
MAX_TEXT_LENGTH = 300
KEEP_ENTRIES = 200
LINKS_FILE = "links.json"
PAGE_FILE = "index.html"

_folder_locks: dict[str, threading.Lock] = {}
_folder_locks_guard = threading.Lock()


def share_url(text: str, phone: str | None = None) -> str:
    """The click-to-chat link: ``https://wa.me/?text=...`` or ``https://wa.me/<phone>?text=...``.

    ``quote(safe="")`` percent-encodes UTF-8, so spaces are %20 and ``&``/``#`` cannot end the
    parameter early; ``+`` for spaces is not reliable in WhatsApp (platforms.md 4.1).
    """
    return f"https://wa.me/{phone or ''}?text={quote(text, safe='')}"


class WhatsAppAdapter(Adapter):
    """Publishes by adding a share link to ``share_dir``'s ``links.json`` and ``index.html``."""

    platform = PLATFORM
    default_api_url = "https://wa.me"
    limits = Limits(max_length=MAX_TEXT_LENGTH, counting="chars")

    def __init__(self, channel: ChannelBase, *, clock: Clock | None = None) -> None:
        super().__init__(channel)
        assert isinstance(channel, WhatsAppChannel)
        self.phone = channel.phone
        self.share_dir = Path(channel.share_dir)
        self._clock = clock or SystemClock()

    async def publish(self, message: Message) -> Receipt:
        """Add the message's share link to the page (replacing an earlier entry of the same
        delivery); raise PermanentError when the link would be too long."""
        text = self.share_text(message)
        url = share_url(text, self.phone)
        if len(url) > MAX_URL_LENGTH:
            raise PermanentError(
                f"the WhatsApp share link would be {len(url)} characters (limit "
                f"{MAX_URL_LENGTH}, so browsers and QR codes can open it): shorten the text",
                platform=PLATFORM)
        digest = hashlib.sha256(f"{message.delivery_id}\n{text}".encode()).hexdigest()[:20]
        entry = {"delivery_id": message.delivery_id, "title": message.title, "text": text,
                 "link": message.link, "url": url, "created": self._clock.now().isoformat()}
        await asyncio.to_thread(self._add, entry)
        return Receipt(remote_id=digest, url=url, note=f"share link in {self.share_dir}")

    async def verify(self) -> Account:
        """Check that ``share_dir`` can be created and written."""
        await asyncio.to_thread(self._check_writable)
        return Account(id="share-links", name=str(self.share_dir))

    def describe(self) -> Mapping[str, str]:
        return {"platform": self.platform, "share_dir": str(self.share_dir)}

    @staticmethod
    def share_text(message: Message) -> str:
        """The text the link carries; the article link is added when the text lacks it,
        since the link is all a reader gets."""
        text = message.text.strip()
        if message.link and message.link not in text:
            text = f"{text}\n{message.link}" if text else message.link
        return text

    # -- files ------------------------------------------------------------------------------

    def entries(self) -> list[dict[str, Any]]:
        """The kept entries, newest first ([] when there is no readable links.json yet)."""
        try:
            data = json.loads((self.share_dir / LINKS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        return [e for e in data if isinstance(e, dict)] if isinstance(data, list) else []

    def _add(self, entry: dict[str, Any]) -> None:
        with _lock_for(self.share_dir):
            try:
                self.share_dir.mkdir(parents=True, exist_ok=True)
                kept = [e for e in self.entries() if e.get("delivery_id") != entry["delivery_id"]]
                entries = [entry, *kept][:KEEP_ENTRIES]
                _write_atomic(self.share_dir / LINKS_FILE,
                              json.dumps(entries, ensure_ascii=False, indent=1) + "\n")
                _write_atomic(self.share_dir / PAGE_FILE, render_page(entries))
            except OSError as exc:
                raise _file_error(exc, self.share_dir) from None

    def _check_writable(self) -> None:
        try:
            self.share_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.share_dir, prefix=".check-"):
                pass
        except OSError as exc:
            raise _file_error(exc, self.share_dir) from None


def _lock_for(folder: Path) -> threading.Lock:
    """One lock per folder, shared by every channel in the process that writes there."""
    key = os.path.realpath(folder)
    with _folder_locks_guard:
        return _folder_locks.setdefault(key, threading.Lock())


def _write_atomic(path: Path, content: str) -> None:
    """Readers (a web server) see the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _file_error(exc: OSError, folder: Path) -> PublishError:
    where = f"cannot write the share page in {folder}: {exc.strerror or exc}"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return AuthError(where, platform=PLATFORM)  # every post would fail: pause the channel
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return TransientError(where, platform=PLATFORM)
    return PermanentError(where, platform=PLATFORM)


def render_page(entries: list[dict[str, Any]]) -> str:
    """A self-contained, mobile-friendly page: one share button per entry, newest first."""
    items = "\n".join(_render_entry(e) for e in entries) or (
        '<p class="empty">No posts yet.</p>')
    return f"""<!doctype html>
<html lang="und">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Share on WhatsApp</title>
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #f0f2f5; color: #111; }}
main {{ max-width: 40rem; margin: 0 auto; padding: 1rem; }}
article {{ background: #fff; border-radius: 12px; padding: 1rem; margin: 0 0 1rem;
  box-shadow: 0 1px 2px rgba(0,0,0,.1); }}
h2 {{ font-size: 1.1rem; margin: 0 0 .5rem; }}
p {{ white-space: pre-wrap; overflow-wrap: anywhere; margin: 0 0 .75rem; }}
a.share {{ display: block; text-align: center; background: #25d366; color: #fff;
  font-weight: 600; font-size: 1.1rem; padding: .9rem; border-radius: 8px;
  text-decoration: none; }}
time {{ display: block; color: #667; font-size: .85rem; margin-top: .5rem; }}
</style>
</head>
<body>
<main>
<h1>Share on WhatsApp</h1>
{items}
</main>
</body>
</html>
"""


def _render_entry(entry: dict[str, Any]) -> str:
    def esc(value: Any) -> str:
        return html.escape(str(value or ""), quote=True)

    url = str(entry.get("url") or "")
    title = f'<h2 dir="auto">{esc(entry.get("title"))}</h2>\n' if entry.get("title") else ""
    # links.json is read back from disk: only our own wa.me links become buttons.
    button = (f'<a class="share" href="{esc(url)}" rel="noopener">Share on WhatsApp</a>\n'
              if url.startswith("https://wa.me/") else "")
    return (f'<article dir="auto">\n{title}<p dir="auto">{esc(entry.get("text"))}</p>\n'
            f'{button}'
            f'<time datetime="{esc(entry.get("created"))}">{esc(entry.get("created"))}</time>\n'
            f"</article>")
