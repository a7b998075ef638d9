"""`syndicator demo`: the whole pipeline on one machine, with no network and no credentials.

It serves the bundled English and Persian sample feeds on loopback (a new article appears every
few seconds), runs a sandbox Telegram Bot API server, writes a config pointing at both, and runs
the real daemon against them, printing each message as the sandbox channel receives it.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import socket
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from syndicator.config import ChannelBase, LoadedConfig, load_config
from syndicator.lock import LockedError, daemon_lock
from syndicator.sandbox.feeds import FeedServer
from syndicator.sandbox.platforms import Sandbox
from syndicator.web.passwords import hash_password

DEMO_FEEDS = Path(__file__).resolve().parent / "sandbox" / "demo"
CHATS = {"en": "@demo_news_en", "fa": "@demo_news_fa"}
DEMO_USER, DEMO_PASSWORD = "editor", "syndicator-demo"  # loopback only, for the demo
INITIAL = 8

CONFIG = """\
# Written by `syndicator demo` (the feed port changes every run). The demo runs this config
# with `--sandbox` semantics: every channel talks to a local stand-in of its platform, so the
# credentials below are never read. `syndicator run --sandbox --config FILE` does the same
# with your own config.
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
    credentials:
      bot_token: ${{TELEGRAM_BOT_TOKEN}}
  - id: tg-fa
    platform: telegram
    feeds: [fa]
    chat: "{chat_fa}"
    credentials:
      bot_token: ${{TELEGRAM_BOT_TOKEN}}
    schedule:
      min_spacing: 10s
      timezone: Asia/Tehran
  - id: x-en
    platform: twitter
    feeds: [en]
    credentials:
      consumer_key: ${{X_CONSUMER_KEY}}
      consumer_secret: ${{X_CONSUMER_SECRET}}
      access_token: ${{X_ACCESS_TOKEN}}
      access_token_secret: ${{X_ACCESS_TOKEN_SECRET}}
    budget: {{per_month: 5, price_per_post: 0.015, price_per_post_with_link: 0.20}}
    approval: required               # held for an editor (dashboard or `syndicator approve`)
    auto_approve_after: 2m
  - id: fb-fa
    platform: facebook
    feeds: [fa]
    page_id: "104857600123456"
    credentials:
      page_token: ${{FACEBOOK_PAGE_TOKEN}}
  - id: wa
    platform: whatsapp
    feeds: [en, fa]
    share_dir: share
dashboard:
  listen: 127.0.0.1:{dashboard_port}
  secret_key: ${{SYNDICATOR_DEMO_WEB_KEY}}
users:
  - name: {user}
    role: admin
    password_hash: {password_hash}
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
            item = re.sub(r"(<(link|guid)\b[^>]*>)([^<]+)(</\2>)",
                          rf"\g<1>\g<3>?r={self.round}\g<4>", item)
        self.shown.append((item, when))

    def body(self) -> bytes:
        parts = []
        for item, when in reversed(self.shown):  # newest first, like a real feed
            parts.append(re.sub(r"\{\{PUBDATE_\d+\}\}", format_datetime(when), item))
        xml = self.head + "\n    ".join(parts) + self.tail
        xml = re.sub(r"\{\{PUBDATE_\d+\}\}", format_datetime(datetime.now(UTC)), xml)
        return xml.encode("utf-8")


def _arrived(channel: ChannelBase, first_line: str, where: str) -> None:
    print(f"  >> sandbox {where} ({channel.id}) received: {first_line[:90]}", flush=True)


def _free_port(preferred: int = 8080) -> int:
    """8080 when it is free, else any free loopback port."""
    for port in (preferred, 0):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise OSError("no free port on 127.0.0.1")


async def _demo(directory: Path, duration: float | None, interval: float) -> int:
    from syndicator.daemon import Daemon, install_stop_signals

    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("syndicator.db*"):
        if not stale.name.endswith(".lock"):
            stale.unlink()
    editions = {name: Edition.load(name) for name in ("en", "fa")}
    dashboard_port = _free_port()
    os.environ.setdefault("SYNDICATOR_DEMO_WEB_KEY", secrets.token_urlsafe(32))
    start = datetime.now(UTC)
    for edition in editions.values():
        for n in range(INITIAL):
            edition.reveal(start - timedelta(minutes=20 * (INITIAL - n)))

    async with FeedServer() as feeds:
        for name, edition in editions.items():
            feeds.set(f"/{name}/feed.xml", edition.body())
        config_path = directory / "config.yaml"
        config_path.write_text(CONFIG.format(
            feed_en=feeds.url("/en/feed.xml"), feed_fa=feeds.url("/fa/feed.xml"),
            chat_en=CHATS["en"], chat_fa=CHATS["fa"], dashboard_port=dashboard_port,
            user=DEMO_USER, password_hash=hash_password(DEMO_PASSWORD)), encoding="utf-8")
        loaded = load_config(config_path, require_secrets=False)
        lock = daemon_lock(loaded.storage_url)
        try:
            if lock:
                lock.acquire()
        except LockedError as exc:
            print(f"syndicator demo: {exc}", file=sys.stderr)
            return 3
        box = Sandbox(loaded.settings, announce=_arrived)
        await box.__aenter__()
        config = LoadedConfig(settings=box.settings, path=loaded.path)
        print(
            "syndicator demo: the real daemon, on this machine only (no network, no "
            "credentials).\n"
            f"  feeds     {feeds.url('/en/feed.xml')}  and  {feeds.url('/fa/feed.xml')}"
            f"  (a new article every {interval:.0f}s)\n"
            f"  channels  Telegram {CHATS['en']} and {CHATS['fa']}, X, a Facebook Page and "
            f"WhatsApp share links, each on a local stand-in of its platform\n"
            f"  share     {directory / 'share' / 'index.html'} (the WhatsApp share page)\n"
            f"  dashboard http://127.0.0.1:{dashboard_port}/  (user {DEMO_USER}, password "
            f"{DEMO_PASSWORD}); X posts wait there for approval\n"
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
        install_stop_signals(asyncio.get_running_loop(), stop)
        newsroom = asyncio.create_task(publish_news())
        if duration is not None:
            asyncio.get_running_loop().call_later(duration, stop.set)
        daemon = Daemon(config, exclusive=True)
        try:
            await daemon.run(stop)
        finally:
            newsroom.cancel()
            await daemon.close()
            await box.__aexit__(None, None, None)
            if lock:
                lock.release()
        sent = sum(daemon.publisher.stats[k] for k in ("sent",))
        print(f"\nsyndicator demo: {sent} message(s) reached the sandbox platforms. "
              f"Inspect them with:  syndicator history --config {config_path}")
    return 0


def run_demo(directory: str, *, duration: float | None = None, interval: float = 15.0) -> int:
    return asyncio.run(_demo(Path(directory), duration, interval))
