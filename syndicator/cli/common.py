"""What every command shares: exit codes, loading the config, printing tables and JSON."""

from __future__ import annotations

import argparse
import json
import logging
import os
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from syndicator import logs
from syndicator.config import LoadedConfig, load_config
from syndicator.durations import format_duration
from syndicator.store.store import Store

OK, FAILED, USAGE, LOCKED = 0, 1, 2, 3
log = logging.getLogger("syndicator")

log = logging.getLogger("syndicator")


class CommandError(Exception):
    def __init__(self, message: str, code: int = USAGE) -> None:
        super().__init__(message)
        self.code = code


def _config(args: argparse.Namespace, *, require_secrets: bool = True) -> LoadedConfig:
    return load_config(args.config, require_secrets=require_secrets)


def _store(config: LoadedConfig) -> Store:
    return Store.open(config.storage_url)


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _print_json(data: object) -> None:
    print(json.dumps(data, default=_json_default, ensure_ascii=False, indent=2))


def _when(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "-"
    delta = moment - now
    if abs(delta.total_seconds()) < 1:
        return "now"
    return f"in {format_duration(delta)}" if delta.total_seconds() > 0 else \
        f"{format_duration(-delta)} ago"


def _clip(text: str | None, size: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= size else text[: size - 1] + "…"


def _table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
              for r in rows]
    return "\n".join(lines)


def _public_delivery(d: dict[str, Any]) -> dict[str, Any]:
    post = d["post"]
    return {
        "id": d["id"], "channel": d["channel"], "state": d["state"], "text": d["text"],
        "override": d["override"], "attempts": d["attempts"],
        "next_attempt_at": d["next_attempt_at"], "last_error": d["last_error"],
        "error_kind": d["error_kind"], "remote_id": d["remote_id"],
        "remote_url": d["remote_url"], "note": d["note"], "created_at": d["created_at"],
        "sent_at": d["sent_at"],
        "post": {k: post[k] for k in ("id", "feed_id", "title", "link", "published_at",
                                      "language")},
    }


def _now() -> datetime:
    from syndicator.clock import SystemClock

    return SystemClock().now()


def _setup_logs(args: argparse.Namespace, config: LoadedConfig) -> None:
    logs.setup(args.log_level or config.settings.log.level,
               args.log_format or config.settings.log.format)


def _channel_arg(config: LoadedConfig, channel_id: str) -> None:
    known = [c.id for c in config.settings.channels]
    if channel_id not in known:
        raise CommandError(f"no channel {channel_id!r} in {config.path} "
                           f"(known: {', '.join(known) or 'none'})")


def _actor() -> str:
    import getpass

    return os.environ.get("SYNDICATOR_USER") or getpass.getuser()


def _desk(args: argparse.Namespace) -> Any:
    from syndicator.desk import Desk

    config = _config(args, require_secrets=False)
    return Desk(_store(config), config.settings)
