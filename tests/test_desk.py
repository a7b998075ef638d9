"""Editors' actions through the CLI, against the real pipeline and the sandbox Bot API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from syndicator.sandbox.feeds import FeedServer
from syndicator.sandbox.telegram import FakeTelegramAPI
from tests.feeds import Item, rss

TOKEN = "880001:desk-SECRET-token"


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Path, FeedServer, FakeTelegramAPI]]:
    feeds = FeedServer().start_in_thread()
    telegram = FakeTelegramAPI(tokens=[TOKEN], chats=["@desk"]).start_in_thread()
    (tmp_path / "config.yaml").write_text(f"""
storage: sqlite:///state.db
feeds:
  - id: en
    url: {feeds.url('/en.xml')}
    backfill: 5
channels:
  - id: tg
    platform: telegram
    feeds: [en]
    chat: "@desk"
    api_url: {telegram.url}
    approval: required
    credentials:
      bot_token: ${{BOT_TOKEN}}
""", encoding="utf-8")
    feeds.set("/en.xml", rss([Item("b", "Second story", 1), Item("a", "First story", 2)]))
    try:
        yield tmp_path, feeds, telegram
    finally:
        telegram.stop()
        feeds.stop()


def cli(cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SYNDICATOR_CONFIG"}
    env.update(BOT_TOKEN=TOKEN, SYNDICATOR_USER="maryam")
    return subprocess.run([sys.executable, "-m", "syndicator", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=60, input=stdin)


def queue(cwd: Path) -> list[dict[str, object]]:
    return json.loads(cli(cwd, "queue", "--json", "--failed").stdout)


def test_held_posts_wait_for_approval_and_overrides_are_checked(
        setup: tuple[Path, FeedServer, FakeTelegramAPI]) -> None:
    cwd, _, telegram = setup
    assert cli(cwd, "poll", "--once").returncode == 0
    held = queue(cwd)
    assert [(d["post"]["title"], d["state"]) for d in held] == [  # type: ignore[index]
        ("First story", "held"), ("Second story", "held")]
    assert telegram.messages == []
    first, second = (int(d["id"]) for d in held)  # type: ignore[call-overload]

    too_long = cli(cwd, "edit", str(first), "--text", "x" * 5000)
    assert too_long.returncode == 1
    assert "too long: 5000 of 4096" in too_long.stderr
    bad_html = cli(cwd, "edit", str(first), "--text", "<p>Hello</p>")
    assert bad_html.returncode == 1 and 'Unsupported start tag "p"' in bad_html.stderr

    edited = cli(cwd, "edit", str(first), "--file", "-", stdin="<b>Fixed</b> headline\n")
    assert edited.returncode == 0, edited.stderr
    shown = json.loads(cli(cwd, "queue", "--json").stdout)[0]
    assert shown["text"] == "<b>Fixed</b> headline" and shown["override"] is True

    assert cli(cwd, "approve", str(first)).returncode == 0
    assert cli(cwd, "skip", str(second)).returncode == 0
    assert cli(cwd, "poll", "--once").returncode == 0
    assert [m.plain_text for m in telegram.messages] == ["Fixed headline"]

    sent_edit = cli(cwd, "edit", str(first), "--text", "late change")
    assert sent_edit.returncode == 1
    assert "is sent: it cannot be edited any more" in sent_edit.stderr
    again = cli(cwd, "approve", str(first))
    assert again.returncode == 1 and "only held posts wait for approval" in again.stderr


def test_revert_hold_and_reschedule(setup: tuple[Path, FeedServer, FakeTelegramAPI]) -> None:
    cwd, _, telegram = setup
    cli(cwd, "poll", "--once")
    first = int(queue(cwd)[0]["id"])  # type: ignore[call-overload]
    original = queue(cwd)[0]["text"]
    cli(cwd, "edit", str(first), "--text", "Changed")
    reverted = json.loads(cli(cwd, "edit", str(first), "--revert", "--json").stdout)
    assert reverted["text"] == original and reverted["override"] is False

    moved = cli(cwd, "reschedule", str(first), "--at", "+2h", "--json")
    assert moved.returncode == 0, moved.stderr
    assert cli(cwd, "approve", str(first)).returncode == 0
    cli(cwd, "poll", "--once")
    assert telegram.messages == []  # approved, but its time has not come
    assert json.loads(cli(cwd, "hold", str(first), "--json").stdout)["state"] == "held"
    bad = cli(cwd, "reschedule", str(first), "--at", "tomorrowish")
    assert bad.returncode == 2 and "write +30m, HH:MM" in bad.stderr


def test_auto_approve_after_deadline(setup: tuple[Path, FeedServer, FakeTelegramAPI]) -> None:
    cwd, _, telegram = setup
    config = cwd / "config.yaml"
    config.write_text(config.read_text().replace("approval: required",
                                                 "approval: required\n    auto_approve_after: 1s"))
    cli(cwd, "poll", "--once")
    import time

    time.sleep(1.2)
    assert cli(cwd, "poll", "--once").returncode == 0
    assert len(telegram.messages) == 2
