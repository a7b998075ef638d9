"""Commands that show what is happening: preview, queue, history, status."""

from __future__ import annotations

import argparse
import asyncio
import sys

from syndicator.cli.common import (
    FAILED,
    OK,
    CommandError,
    _channel_arg,
    _clip,
    _config,
    _now,
    _print_json,
    _public_delivery,
    _store,
    _table,
    _when,
)
from syndicator.config import LoadedConfig
from syndicator.model import DeliveryState
from syndicator.status import status_data
from syndicator.store.store import Store


def cmd_preview(args: argparse.Namespace) -> int:
    config = _config(args, require_secrets=False)
    feeds = [f for f in config.settings.feeds if not args.feed or f.id == args.feed]
    if not feeds:
        raise CommandError(f"no feed {args.feed!r} in {config.path}")
    channels = [c for c in config.settings.channels if not args.channel or c.id == args.channel]
    if args.channel and not channels:
        _channel_arg(config, args.channel)
    from syndicator.preview import preview  # fetching and composing: only this command

    results, problems = asyncio.run(preview(config, feeds, channels, args.post, args.limit))
    if args.json:
        _print_json(results)
    else:
        for item in results:
            print(f"== {item['feed']}: {item['title']}\n   {item['link'] or '(no link)'}")
            for msg in item["messages"]:
                head = f"-- {msg['channel']} ({msg['platform']})"
                if msg.get("skipped"):
                    print(f"{head}: not sent here: {msg['skipped']}")
                    continue
                print(f"{head}: {msg['length']}/{msg['limit']} {msg['counting']}"
                      + (f", dropped {', '.join(msg['dropped'])}" if msg["dropped"] else ""))
                print("   " + msg["text"].replace("\n", "\n   "))
            print()
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    if args.post and not results:
        raise CommandError(f"no entry with link {args.post} in the feed(s)", FAILED)
    return FAILED if problems else OK


def cmd_queue(args: argparse.Namespace) -> int:
    config = _config(args, require_secrets=False)
    store = _store(config)
    states = args.state or [s.value for s in DeliveryState if not s.terminal] + (
        ["failed"] if args.failed else [])
    rows = store.deliveries(states=states, channel=args.channel)
    if args.json:
        _print_json([_public_delivery(d) for d in rows])
        return OK
    now = _now()
    table = []
    for d in rows:
        due = _when(d["next_attempt_at"], now) if d["state"] == "scheduled" else "-"
        table.append([str(d["id"]), d["channel"], d["state"], due, str(d["attempts"]),
                      _clip(d["post"]["title"], 50), _clip(d["last_error"], 60)])
    print(_table(table, ["ID", "CHANNEL", "STATE", "DUE", "TRIES", "TITLE", "WHY"])
          if table else "queue is empty")
    _print_share_links(config, store, args.channel)
    return OK


def _print_share_links(config: LoadedConfig, store: Store, only: str | None) -> None:
    """WhatsApp has no posting API: its 'sent' posts are links an editor taps to share."""
    for channel in config.settings.channels:
        if channel.platform != "whatsapp" or (only and channel.id != only):
            continue
        links = store.deliveries(states=["sent"], channel=channel.id, limit=5,
                                 newest_first=True)
        if links:
            print(f"\nWhatsApp share links of {channel.id} (newest first; all in "
                  f"{getattr(channel, 'share_dir', '')}/index.html):")
            for d in links:
                print(f"  {d['id']}  {_clip(d['post']['title'], 60)}\n      {d['remote_url']}")


def cmd_history(args: argparse.Namespace) -> int:
    config = _config(args, require_secrets=False)
    store = _store(config)
    rows = store.attempts(channel=args.channel, limit=args.limit,
                          delivery_id=args.delivery)
    if args.json:
        _print_json(rows)
        return OK
    if not rows:
        print("no attempts yet")
        return OK
    table = [[a["started_at"].strftime("%Y-%m-%d %H:%M:%S"), str(a["delivery_id"]),
              a["channel"], a["outcome"], _clip(a["title"], 40),
              _clip(a["error"], 60)] for a in rows]
    print(_table(table, ["TIME (UTC)", "DELIVERY", "CHANNEL", "OUTCOME", "TITLE", "ERROR"]))
    return OK


def cmd_status(args: argparse.Namespace) -> int:
    config = _config(args, require_secrets=False)
    data = status_data(config, _store(config), _now())
    if args.json:
        _print_json(data)
        return OK
    now = _now()
    print(f"storage: {data['storage']}")
    rows = [[f["id"], _when(f["last_success_at"], now), str(f["errors"]),
             _when(f["next_poll_at"], now), _clip(f["last_error"], 60)] for f in data["feeds"]]
    print("\n" + _table(rows, ["FEED", "LAST SUCCESS", "ERRORS", "NEXT POLL", "LAST ERROR"]))
    rows = []
    for c in data["channels"]:
        counts = c["deliveries"]
        queued = sum(counts.get(s, 0) for s in ("scheduled", "held", "sending", "uncertain"))
        state = "paused" if c["paused"] else ("disabled" if not c["enabled"] else "active")
        if c["blocked_until"]:
            state += f" (waiting {_when(c['blocked_until'], now)})"
        if "budget" in c:
            budget = c["budget"]
            state += f" (${budget['spent_this_month']:.2f} of ${budget['per_month']:.2f})"
        rows.append([c["id"], c["platform"], state, _when(c["last_success_at"], now),
                     str(counts.get("sent", 0)), str(queued), str(counts.get("failed", 0)),
                     _when(c["next_due_at"], now),
                     _clip(c["paused_reason"] or c["last_error"], 50)])
    print("\n" + _table(rows, ["CHANNEL", "PLATFORM", "STATE", "LAST SUCCESS", "SENT",
                               "QUEUED", "FAILED", "NEXT POST", "LAST ERROR"]))
    return OK
