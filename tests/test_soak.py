"""Soak: the daemon under faults and kill -9 restarts never posts twice and loses nothing.

Long (about a minute), so it carries the ``soak`` marker; `.ci/run` runs it like every test.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from syndicator.sandbox.feeds import FeedServer
from syndicator.sandbox.telegram import FakeTelegramAPI
from syndicator.sandbox.twitter import FakeXAPI
from tests.feeds import Item, rss

TOKEN = "909090:soak-SECRET"
X_CREDS = {"consumer_key": "ck-soak", "consumer_secret": "cs-soak", "access_token": "at-soak",
           "access_token_secret": "as-soak"}
POSTS = 24


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "syndicator", *args], cwd=cwd, env=ENV,
                          capture_output=True, text=True, timeout=120)


ENV = {**{k: v for k, v in os.environ.items() if k != "SYNDICATOR_CONFIG"},
       "BOT_TOKEN": TOKEN, **{f"X_{k.upper()}": v for k, v in X_CREDS.items()}}


@pytest.mark.soak
def test_faults_and_kills_never_duplicate_or_lose_a_post(tmp_path: Path) -> None:
    rng = random.Random(20261129)
    feeds = FeedServer().start_in_thread()
    telegram = FakeTelegramAPI(tokens=[TOKEN], chats=["@soak"]).start_in_thread()
    x = FakeXAPI(**X_CREDS).start_in_thread()
    (tmp_path / "config.yaml").write_text(f"""
storage: sqlite:///state.db
retry: {{max_attempts: 50, base_delay: 1s, max_delay: 2s}}
feeds:
  - {{id: en, url: "{feeds.url('/en.xml')}", poll_interval: 1s, backfill: 100}}
channels:
  - id: tg
    platform: telegram
    feeds: [en]
    chat: "@soak"
    api_url: {telegram.url}
    timeout: 1s
    on_uncertain: hold
    credentials: {{bot_token: "${{BOT_TOKEN}}"}}
  - id: x
    platform: twitter
    feeds: [en]
    api_url: {x.url}
    timeout: 1s
    credentials: {{consumer_key: "${{X_CONSUMER_KEY}}", consumer_secret: "${{X_CONSUMER_SECRET}}",
                   access_token: "${{X_ACCESS_TOKEN}}",
                   access_token_secret: "${{X_ACCESS_TOKEN_SECRET}}"}}
""", encoding="utf-8")
    items: list[Item] = []
    daemon: subprocess.Popen[str] | None = None
    try:
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline:
            if len(items) < POSTS:
                items.insert(0, Item(f"p{len(items)}", f"Soak story {len(items)}", 0))
                feeds.set("/en.xml", rss(items))
            fault = rng.random()
            if fault < 0.15:
                telegram.fail_next(429, retry_after=1, method="sendMessage")
            elif fault < 0.3:
                telegram.fail_next(502, "Bad Gateway", method="sendMessage")
            elif fault < 0.4:
                telegram.delay_next(1.5, method="sendMessage")  # posted; answer too late
            elif fault < 0.5:
                x.fail_next(503, times=1, path="/2/tweets")
            elif fault < 0.6:
                x.delay_next(1.5, path="/2/tweets")  # posted; answer too late: found later
            elif fault < 0.7:
                x.drop_connection_next(path="/2/tweets")  # not posted: sent once more
            if daemon is None or daemon.poll() is not None:
                daemon = subprocess.Popen([sys.executable, "-m", "syndicator", "run"],
                                          cwd=tmp_path, env=ENV, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, text=True)
            time.sleep(rng.uniform(0.5, 2.0))
            if rng.random() < 0.35:
                daemon.send_signal(signal.SIGKILL)  # at any instant, mid-post included
                daemon.wait(10)
        if daemon is not None and daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(15)
        telegram.clear_faults()
        x.clear_faults()
        for _ in range(5):  # drain what is still waiting for a retry
            cli(tmp_path, "poll", "--once")
    finally:
        if daemon is not None and daemon.poll() is None:
            daemon.kill()
        telegram.stop()
        x.stop()
        feeds.stop()

    import json

    open_items = json.loads(cli(tmp_path, "queue", "--json").stdout)
    held = {(d["channel"], d["post"]["title"]) for d in open_items if d["state"] == "uncertain"}
    assert not [d for d in open_items if d["state"] != "uncertain"], open_items
    tg_titles = Counter(m.plain_text.splitlines()[0] for m in telegram.messages)
    x_titles = Counter(t.submitted.splitlines()[0] for t in x.tweets)
    titles = [f"Soak story {n}" for n in range(POSTS)]
    assert max(tg_titles.values()) == 1 and max(x_titles.values()) == 1  # never twice
    for title in titles:  # never lost: posted, or held for an editor to check
        assert tg_titles[title] == 1 or ("tg", title) in held, title
        assert x_titles[title] == 1 or ("x", title) in held, title
    history = json.loads(cli(tmp_path, "history", "--json", "--channel", "x",
                             "--limit", "1000").stdout)
    assert not [a for a in history if a["outcome"] == "started"]  # every attempt is settled
    for channel, title in held:  # X is searched first and sent once more before it is held
        unknown = [a for a in history if a["title"] == title and a["outcome"] == "uncertain"]
        assert channel == "tg" or len(unknown) >= 2, (title, unknown)
