"""Platform adapters, found by name so the core never imports a concrete platform module."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from syndicator.adapters.base import Adapter
    from syndicator.config import ChannelBase

_MODULES = {
    "telegram": "syndicator.adapters.telegram:TelegramAdapter",
    "twitter": "syndicator.adapters.twitter:TwitterAdapter",
    "facebook": "syndicator.adapters.facebook:FacebookAdapter",
    "whatsapp": "syndicator.adapters.whatsapp:WhatsAppAdapter",
}


def load(platform: str) -> type[Adapter]:
    """The adapter class for ``platform``; KeyError names the known platforms."""
    try:
        target = _MODULES[platform]
    except KeyError:
        known = ", ".join(_MODULES)
        raise KeyError(f"no adapter for platform {platform!r} (known: {known})") from None
    module, _, name = target.partition(":")
    cls: type[Adapter] = getattr(importlib.import_module(module), name)
    return cls


def create(channel: ChannelBase) -> Adapter:
    """A ready adapter for one configured channel."""
    return load(channel.platform)(channel)
