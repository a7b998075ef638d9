"""The one interface every platform adapter implements.

An adapter makes exactly one attempt per call: it never sleeps, retries or swallows an error.
It returns a Receipt or raises one of the classified errors in ``syndicator.errors``; the
publisher owns retries, waits and state.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import ClassVar

from syndicator.config import ChannelBase
from syndicator.model import Account, Limits, Message, Receipt

_COUNTING = {
    "utf16": "UTF-16 units after entity parsing",
    "x-weighted": "X weighted characters, URLs count 23",
    "chars": "characters",
}


class Adapter(abc.ABC):
    """Publishes messages to one channel of one platform."""

    platform: ClassVar[str]
    limits: ClassVar[Limits]
    default_api_url: ClassVar[str]

    def __init__(self, channel: ChannelBase) -> None:
        self.channel = channel

    @property
    def api_url(self) -> str:
        return (self.channel.api_url or self.default_api_url).rstrip("/")

    @classmethod
    def measure(cls, text: str) -> int:
        """The length of ``text`` as the platform counts it against ``limits.max_length``."""
        return len(text)

    @classmethod
    def problems(cls, text: str) -> list[str]:
        """Why the platform would refuse ``text`` as a post (empty if it would accept it)."""
        if not text.strip():
            return ["the message is empty"]
        length = cls.measure(text)
        if length > cls.limits.max_length:
            return [f"too long: {length} of {cls.limits.max_length} "
                    f"({_COUNTING.get(cls.limits.counting, cls.limits.counting)})"]
        return []

    def secret(self, name: str) -> str:
        """The value of one credential, read from the env var the YAML names."""
        return self.channel.credentials[name].get()

    @abc.abstractmethod
    async def publish(self, message: Message) -> Receipt:
        """Post ``message`` once; raise a ``PublishError`` subclass on failure."""

    @abc.abstractmethod
    async def verify(self) -> Account:
        """Check the credentials against the platform (getMe, users/me, /me)."""

    async def find_existing(self, message: Message) -> Receipt | None:
        """Look for ``message`` among the account's recent posts; None if it cannot be found."""
        return None

    @property
    def can_look_up(self) -> bool:
        """Whether ``find_existing`` can really search the platform (it is overridden)."""
        return type(self).find_existing is not Adapter.find_existing

    async def close(self) -> None:  # noqa: B027 (optional hook, most adapters hold nothing)
        """Release connections; the adapter is not used afterwards."""

    def describe(self) -> Mapping[str, str]:
        """Non-secret facts for logs and status (target, endpoint)."""
        return {"platform": self.platform, "api_url": self.api_url}
