"""Editors' and admins' commands on deliveries and channels; all go through the Desk."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from syndicator.cli.common import (
    FAILED,
    OK,
    CommandError,
    _actor,
    _channel_arg,
    _config,
    _desk,
    _now,
    _print_json,
    _public_delivery,
    _store,
)
from syndicator.durations import parse_when


def _delivery_action(args: argparse.Namespace, action: Callable[[Any], dict[str, Any]],
                     verb: str) -> int:
    from syndicator.desk import EditRefused

    try:
        result = action(_desk(args))
    except CommandError:
        raise
    except EditRefused as exc:
        print("syndicator: refused: the platform would not accept this text:",
              file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return FAILED
    except LookupError as exc:
        raise CommandError(str(exc).strip("'\""), FAILED) from None
    except ValueError as exc:
        raise CommandError(str(exc), FAILED) from None
    if getattr(args, "json", False):
        _print_json(_public_delivery(result))
    else:
        print(f"delivery {result['id']} ({result['channel']}): {verb}, now {result['state']}")
    return OK


def cmd_retry(args: argparse.Namespace) -> int:
    return _delivery_action(args, lambda d: d.retry(args.delivery, _actor()), "queued again")


def cmd_skip(args: argparse.Namespace) -> int:
    return _delivery_action(args, lambda d: d.skip(args.delivery, _actor()), "skipped")


def cmd_approve(args: argparse.Namespace) -> int:
    return _delivery_action(args, lambda d: d.approve(args.delivery, _actor()), "approved")


def cmd_hold(args: argparse.Namespace) -> int:
    return _delivery_action(args, lambda d: d.hold(args.delivery, _actor()),
                            "held for approval")


def cmd_reschedule(args: argparse.Namespace) -> int:
    def act(desk: Any) -> dict[str, Any]:
        delivery = desk.store.delivery(args.delivery)
        if delivery is None:
            raise LookupError(f"no delivery {args.delivery} (see `syndicator queue`)")
        zone = desk.channel(delivery["channel"]).schedule.timezone
        try:
            when = parse_when(args.at, zone, _now())
        except ValueError as exc:
            raise CommandError(f"--at {exc}") from None
        moved: dict[str, Any] = desk.reschedule(args.delivery, when, _actor())
        return moved

    return _delivery_action(args, act, f"moved to {args.at}")


def cmd_edit(args: argparse.Namespace) -> int:
    if args.revert:
        return _delivery_action(args, lambda d: d.revert(args.delivery, _actor()),
                                "back to the template text")
    text = _edit_text(args)
    return _delivery_action(args, lambda d: d.edit(args.delivery, text, _actor()), "edited")


def _edit_text(args: argparse.Namespace) -> str:
    if args.text is not None:
        return str(args.text)
    if args.file:
        return sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
    import shlex
    import subprocess
    import tempfile

    desk = _desk(args)
    current = desk.store.delivery(args.delivery)
    if current is None:
        raise CommandError(f"no delivery {args.delivery} (see `syndicator queue`)", FAILED)
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.NamedTemporaryFile("w+", suffix=".txt", encoding="utf-8",
                                     delete=False) as handle:
        handle.write(current["text"])
    try:
        subprocess.run([*shlex.split(editor), handle.name], check=True)
        return Path(handle.name).read_text(encoding="utf-8")
    finally:
        os.unlink(handle.name)


def cmd_pause(args: argparse.Namespace) -> int:
    config = _config(args, require_secrets=False)
    _channel_arg(config, args.channel)
    from syndicator.desk import Desk

    Desk(_store(config), config.settings).pause(args.channel, _actor(), args.reason)
    print(f"channel {args.channel}: paused (posts wait in the queue; "
          f"`syndicator resume {args.channel}` to continue)")
    return OK


def cmd_resume(args: argparse.Namespace) -> int:
    config = _config(args, require_secrets=False)
    _channel_arg(config, args.channel)
    from syndicator.desk import Desk

    requeued = Desk(_store(config), config.settings).resume(args.channel, _actor())
    print(f"channel {args.channel}: resumed" +
          (f"; {requeued} post(s) that failed for the pausing reason are queued again"
           if requeued else ""))
    return OK
