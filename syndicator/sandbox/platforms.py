"""Local stand-ins for every platform a config names, for `run --sandbox` and the demo.

Each channel gets its own fake server (they hold one account each), its ``api_url`` points at
it and its credentials become sandbox values, so the real adapters and client libraries run
unchanged and nothing leaves the machine. WhatsApp needs no server: its share links are files.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from syndicator.config import ChannelBase, FacebookChannel, Secret, Settings, TelegramChannel
from syndicator.sandbox.facebook import FakeGraphAPI, FakePagePost
from syndicator.sandbox.telegram import FakeTelegramAPI, SentMessage
from syndicator.sandbox.twitter import FakeTweet, FakeXAPI

Announce = Callable[[ChannelBase, str, str], None]


def _secrets(channel: ChannelBase) -> dict[str, Secret]:
    return {name: Secret(ref.env, f"sandbox-{channel.id}-{name}")
            for name, ref in channel.credentials.items()}


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


class Sandbox:
    """``async with Sandbox(settings, announce) as box:`` then use ``box.settings``."""

    def __init__(self, settings: Settings, announce: Announce | None = None,
                 share_root: Path | None = None) -> None:
        self.original = settings
        self.settings = settings
        self.announce = announce
        self.share_root = share_root
        self.servers: dict[str, Any] = {}
        self._stack = contextlib.AsyncExitStack()

    def _say(self, channel: ChannelBase, text: str, where: str) -> None:
        if self.announce:
            self.announce(channel, _first_line(text), where)

    async def __aenter__(self) -> Sandbox:
        channels = []
        for channel in self.original.channels:
            secrets = _secrets(channel)
            update: dict[str, Any] = {"credentials": secrets}
            server = await self._start(channel, secrets)
            if server is not None:
                self.servers[channel.id] = server
                update["api_url"] = server.url
            if channel.platform == "whatsapp" and self.share_root is not None:
                update["share_dir"] = str(self.share_root / channel.id)
            channels.append(channel.model_copy(update=update))
        self.settings = self.original.model_copy(update={"channels": channels})
        return self

    async def _start(self, channel: ChannelBase, secrets: dict[str, Secret]) -> Any:
        values = {k: v.get() for k, v in secrets.items()}
        if isinstance(channel, TelegramChannel):
            def on_message(m: SentMessage, ch: ChannelBase = channel) -> None:
                self._say(ch, m.plain_text, f"Telegram {m.chat}")
            server: Any = FakeTelegramAPI(tokens=[values["bot_token"]],
                                          chats=[channel.chat],
                                          on_message=on_message)
        elif channel.platform == "twitter":
            def on_tweet(t: FakeTweet, ch: ChannelBase = channel) -> None:
                self._say(ch, t.submitted, "X")
            server = FakeXAPI(on_post=on_tweet, **values)
        elif isinstance(channel, FacebookChannel):
            def on_post(p: FakePagePost, ch: ChannelBase = channel) -> None:
                self._say(ch, p.message, "Facebook page")
            server = FakeGraphAPI(page_id=channel.page_id,
                                  page_token=values["page_token"], on_post=on_post)
        else:
            return None
        await self._stack.enter_async_context(server)
        return server

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()
