"""`syndicator demo`: the whole pipeline on one machine, with no network and no credentials.

It serves the bundled English and Persian sample feeds on loopback (a new article appears every
few seconds), runs a sandbox Telegram Bot API server, writes a config pointing at both, and runs
the real daemon against them, printing each message as the sandbox channel receives it.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from syndicator.config import load_config
from syndicator.lock import DaemonLock, LockedError, lock_path
from syndicator.sandbox.feeds import FeedServer
from syndicator.sandbox.telegram import FakeTelegramAPI, SentMessage

DEMO_FEEDS = Path(__file__).resolve().parent / "sandbox" / "demo"
TOKEN_ENV = "SYNDICATOR_DEMO_BOT_TOKEN"
DEMO_TOKEN = "100000:sandbox-demo-token"
CHATS = {"en": "@demo_news_en", "fa": "@demo_news_fa"}
INITIAL = 8

CONFIG = """\
# Written by `syndicator demo` (ports change every run). Everything here is on loopback.
storage: sqlite:///syndicator.db
feeds:
  - id: en
    name: English edition (demo)
    url: {feed_en}
    language: en
    poll_interval: 5s
    backfill: 3
  - id: fa
    name: Persian edition (demo)
    url: {feed_fa}
    language: fa
    poll_interval: 5s
    backfill: 3
channels:
  - id: tg-en
    platform: telegram
    feeds: [en]
    chat: "{chat_en}"
    api_url: {telegram}
    credentials:
      bot_token: ${{{token_env}}}
  - id: tg-fa
    platform: telegram
    feeds: [fa]
    chat: "{chat_fa}"
    api_url: {telegram}
    credentials:
      bot_token: ${{{token_env}}}
    schedule:
      min_spacing: 10s
      timezone: Asia/Tehran
"""


@dataclass
class Edition:
    """One sample feed whose articles are revealed one by one, as a newsroom would publish."""

    name: str
    head: str
    tail: str
    items: list[str]
    shown: list[tuple[str, datetime]] = field(default_factory=list)
    round: int = 0

    @classmethod
    def load(cls, name: str) -> Edition:
        xml = (DEMO_FEEDS / f"{name}.xml").read_text(encoding="utf-8")
        items = re.findall(r"<item>.*?</item>", xml, flags=re.S)
        head = xml[: xml.index(items[0])]
        tail = xml[xml.rindex(items[-1]) + len(items[-1]):]
        return cls(name, head, tail, list(reversed(items)))  # oldest first

    def reveal(self, when: datetime) -> None:
        index = len(self.shown) % len(self.items)
        if index == 0 and self.shown:
            self.round += 1
        item = self.items[index]
        if self.round:
            item = re.sub(r"(</(?:link|guid)>)", "", item)
            item = re.sub(r"(<(link|guid)[^>]*>)([^<]+)", rf"\g<1>\g<3>?r={self.round}", item)
        self.shown.append((item, when))

    def body(self) -> bytes:
        parts = []
        for item, when in reversed(self.shown):  # newest first, like a real feed
            parts.append(re.sub(r"\{\{PUBDATE_\d+\}\}", format_datetime(when), item))
        xml = self.head + "\n    ".join(parts) + self.tail
        xml = re.sub(r"\{\{PUBDATE_\d+\}\}", format_datetime(datetime.now(UTC)), xml)
        return xml.encode("utf-8")


def _arrived(message: SentMessage) -> None:
    first = message.plain_text.strip().splitlines()[0] if message.plain_text.strip() else ""
    print(f"  >> sandbox Telegram {message.chat} received message #{message.message_id}: "
          f"{first[:90]}", flush=True)


async def _demo(directory: Path, duration: float | None, interval: float) -> int:
    from syndicator.daemon import Daemon

    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("syndicator.db*"):
        if not stale.name.endswith(".lock"):
            stale.unlink()
    os.environ.setdefault(TOKEN_ENV, DEMO_TOKEN)
    editions = {name: Edition.load(name) for name in ("en", "fa")}
    start = datetime.now(UTC)
    for edition in editions.values():
        for n in range(INITIAL):
            edition.reveal(start - timedelta(minutes=20 * (INITIAL - n)))

    async with FeedServer() as feeds, FakeTelegramAPI(
            tokens=[os.environ[TOKEN_ENV]], chats=list(CHATS.values()),
            bot_username="syndicator_demo_bot", on_message=_arrived) as telegram:
        for name, edition in editions.items():
            feeds.set(f"/{name}/feed.xml", edition.body())
        config_path = directory / "config.yaml"
        config_path.write_text(CONFIG.format(
            feed_en=feeds.url("/en/feed.xml"), feed_fa=feeds.url("/fa/feed.xml"),
            telegram=telegram.url, chat_en=CHATS["en"], chat_fa=CHATS["fa"],
            token_env=TOKEN_ENV), encoding="utf-8")
        config = load_config(config_path)
        lock_file = lock_path(config.storage_url)
        lock = DaemonLock(lock_file) if lock_file else None
        try:
            if lock:
                lock.acquire()
        except LockedError as exc:
            print(f"syndicator demo: {exc}", file=sys.stderr)
            return 3
        print(
            "syndicator demo: the real daemon, on this machine only (no network, no "
            "credentials).\n"
            f"  feeds     {feeds.url('/en/feed.xml')}  and  {feeds.url('/fa/feed.xml')}"
            f"  (a new article every {interval:.0f}s)\n"
            f"  telegram  sandbox Bot API at {telegram.url}, channels {CHATS['en']} and "
            f"{CHATS['fa']}\n"
            f"  config    {config_path}\n"
            f"In another shell:  syndicator queue --config {config_path}   "
            f"(or status, history)\nCtrl-C stops the demo.\n", flush=True)

        async def publish_news() -> None:
            while True:
                await asyncio.sleep(interval)
                for name, edition in editions.items():
                    edition.reveal(datetime.now(UTC))
                    feeds.set(f"/{name}/feed.xml", edition.body())

        stop = asyncio.Event()
        from syndicator.cli import _install_stop

        _install_stop(asyncio.get_running_loop(), stop)
        newsroom = asyncio.create_task(publish_news())
        if duration is not None:
            asyncio.get_running_loop().call_later(duration, stop.set)
        daemon = Daemon(config)
        try:
            await daemon.run(stop)
        finally:
            newsroom.cancel()
            await daemon.close()
            if lock:
                lock.release()
        total = len(telegram.messages)
        print(f"\nsyndicator demo: {total} message(s) reached the sandbox channels. "
              f"Inspect them with:  syndicator history --config {config_path}")
    return 0


def run_demo(directory: str, *, duration: float | None = None, interval: float = 15.0) -> int:
    return asyncio.run(_demo(Path(directory), duration, interval))
