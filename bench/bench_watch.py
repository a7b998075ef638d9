"""Benchmark: one full watch cycle of N unchanged feeds through the Watcher (fetch + store).

bench_poll.py measures the fetcher alone; this adds what the daemon really does per feed:
read its validators from the store, conditional GET, record the outcome. Baseline in the same
process: the fetcher alone over the same feeds (the 304 cycle of bench_poll.py). Prints
medians and the ratio; asserts nothing.

    python bench/bench_watch.py [--feeds 1000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_poll import path_of, serve  # noqa: E402

from syndicator.clock import SystemClock  # noqa: E402
from syndicator.composer import Composer  # noqa: E402
from syndicator.config import parse_settings  # noqa: E402
from syndicator.fetch import FeedFetcher  # noqa: E402
from syndicator.store import Store  # noqa: E402
from syndicator.watcher import Watcher  # noqa: E402


async def cycle(watcher: Watcher, feeds: list, concurrency: int) -> float:  # type: ignore[type-arg]
    gate = asyncio.Semaphore(concurrency)

    async def one(feed: object) -> None:
        async with gate:
            await watcher.poll(feed)  # type: ignore[arg-type]

    started = time.perf_counter()
    await asyncio.gather(*(one(f) for f in feeds))
    return time.perf_counter() - started


async def fetch_only(fetcher: FeedFetcher, urls: list[str], validators: dict[str, tuple],
                     concurrency: int) -> float:  # type: ignore[type-arg]
    gate = asyncio.Semaphore(concurrency)

    async def one(url: str) -> None:
        async with gate:
            etag, modified = validators.get(url, (None, None))
            result = await fetcher.fetch(url, etag=etag, last_modified=modified, timeout=30,
                                         max_bytes=10_000_000)
            validators[url] = (result.etag, result.last_modified)

    started = time.perf_counter()
    await asyncio.gather(*(one(u) for u in urls))
    return time.perf_counter() - started


async def main_async(n: int, runs: int, base: str, concurrency: int) -> None:
    urls = [base + path_of(i) for i in range(n)]
    settings = parse_settings({"feeds": [{"id": f"f{i}", "url": u} for i, u in enumerate(urls)]})
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/bench.db")
        async with FeedFetcher() as fetcher:
            watcher = Watcher(store, settings, fetcher, Composer(), SystemClock())
            await cycle(watcher, settings.feeds, concurrency)  # first poll: store everything
            validators: dict[str, tuple] = {}  # type: ignore[type-arg]
            await fetch_only(fetcher, urls, validators, concurrency)
            ours, base_t = [], []
            for run in range(runs):
                ours.append(await cycle(watcher, settings.feeds, concurrency))
                base_t.append(await fetch_only(fetcher, urls, validators, concurrency))
                print(f"  run {run + 1}: watch cycle {ours[-1]:.2f} s, fetch only "
                      f"{base_t[-1]:.2f} s", flush=True)
        store.close()
    o, b = statistics.median(ours), statistics.median(base_t)
    print(f"\nfeeds {n}: watch cycle median {o:.2f} s ({n / o:,.0f} feeds/s); fetch only "
          f"{b:.2f} s; ratio {o / b:.1f}x  (budget for 10,000 feeds: 3 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=200)
    args = parser.parse_args()
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=serve, args=(args.feeds, child), daemon=True)
    server.start()
    base = parent.recv()
    try:
        asyncio.run(main_async(args.feeds, args.runs, base, args.concurrency))
    finally:
        parent.send("stop")
        server.join(5)


if __name__ == "__main__":
    main()
