"""Our own overhead per delivery: store (post + delivery in one transaction) + render + claim +
finish, on SQLite in a temporary folder. Budget: well under 5 ms per delivery.

The baseline, run in the same process, is the floor for the same durable work: raw sqlite3
with one committed INSERT for the post and delivery, one UPDATE to claim and one to finish.
Prints the median of several rounds and the ratio ours / baseline.

    python bench/bench_delivery.py [--deliveries 500] [--rounds 5]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from syndicator.clock import SystemClock
from syndicator.composer import Composer
from syndicator.config import parse_settings
from syndicator.model import DeliveryState, Post
from syndicator.store import NewDelivery, NewPost, Store

SETTINGS = parse_settings({
    "feeds": [{"id": "en", "url": "https://news.example.org/feed"}],
    "channels": [{"id": "tg", "platform": "telegram", "feeds": ["en"], "chat": "@bench",
                  "credentials": {"bot_token": "${T}"}}]}, environ={"T": "1:bench"})


def ours(folder: Path, n: int) -> float:
    store = Store.open(f"sqlite:///{folder / 'ours.db'}")
    composer = Composer()
    channel = SETTINGS.channels[0]
    clock = SystemClock()
    started = time.perf_counter()
    for i in range(n):
        post = Post("en", f"k{i}", f"https://news.example.org/{i}", f"Title number {i} & co",
                    summary="A summary of the article. " * 8)
        text = composer.render(channel, post).text
        store.add_post(NewPost(post, post.link, post.title.casefold()),
                       [NewDelivery("tg", text, clock.now())])
        due = store.next_due("tg", clock.now())
        assert due is not None
        claimed = store.claim(due[0], "bench", timedelta(minutes=5), attempt=True)
        assert claimed is not None
        store.finish(claimed.id, claimed.attempt_id, state=DeliveryState.SENT, outcome="sent",
                     remote_id=str(i), channel={"last_success_at": clock.now()})
    elapsed = time.perf_counter() - started
    store.close()
    return elapsed / n


def baseline(folder: Path, n: int) -> float:
    db = sqlite3.connect(folder / "base.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE p (id INTEGER PRIMARY KEY, k TEXT UNIQUE, title TEXT, s TEXT)")
    db.execute("CREATE TABLE d (id INTEGER PRIMARY KEY, p INTEGER, state TEXT, text TEXT)")
    started = time.perf_counter()
    for i in range(n):
        db.execute("BEGIN")
        cur = db.execute("INSERT INTO p (k, title, s) VALUES (?, ?, ?)",
                         (f"k{i}", f"Title {i}", "A summary. " * 8))
        cur = db.execute("INSERT INTO d (p, state, text) VALUES (?, 'scheduled', ?)",
                         (cur.lastrowid, f"<b>Title {i}</b>"))
        db.execute("COMMIT")
        db.execute("UPDATE d SET state='sending' WHERE id=? AND state='scheduled'",
                   (cur.lastrowid,))
        db.execute("UPDATE d SET state='sent' WHERE id=?", (cur.lastrowid,))
    elapsed = time.perf_counter() - started
    db.close()
    return elapsed / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    ours_t, base_t = [], []
    for r in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            base_t.append(baseline(Path(tmp), args.deliveries))
            ours_t.append(ours(Path(tmp), args.deliveries))
        print(f"round {r + 1}/{args.rounds}: ours {ours_t[-1] * 1e3:.2f} ms, "
              f"baseline {base_t[-1] * 1e3:.3f} ms per delivery", flush=True)
    o, b = statistics.median(ours_t), statistics.median(base_t)
    print(f"\nmedian per delivery: ours {o * 1e3:.2f} ms (budget 5 ms), raw sqlite3 "
          f"{b * 1e3:.3f} ms, ratio {o / b:.1f}x")


if __name__ == "__main__":
    main()
