"""Benchmark: one polling cycle of N unchanged feeds (conditional GETs answered 304).

The budget in ARCHITECTURE.md is 10,000 unchanged feeds in under 3 s on a 2-core machine. This
script measures it and puts it next to a baseline taken in the same process: the same N plain
GETs through a bare ``aiohttp.ClientSession`` (no conditional headers, no size cap, no
per-host gate), so the figure says what FeedFetcher's own logic costs. It prints numbers and
never asserts them: timings belong to the machine, not to the test suite.

    python bench/bench_poll.py                # 2,000 feeds
    python bench/bench_poll.py --feeds 10000  # the budget's size

The FeedServer runs in a child process by default (one core each for server and client);
``--thread`` keeps it in a thread of this process instead.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402

from syndicator.fetch import FeedFetcher  # noqa: E402
from syndicator.sandbox.feeds import FeedServer  # noqa: E402

Validators = dict[str, tuple[str | None, str | None]]


def feed_body(n: int) -> bytes:
    items = "".join(
        f"<item><title>Story {n}.{i}</title><link>https://site{n % 97}.example.org/{n}/{i}</link>"
        f"<guid>feed-{n}-item-{i}</guid><pubDate>Tue, 02 Jan 2024 1{i}:00:00 GMT</pubDate>"
        f"<description>Summary of story {i} in feed {n}.</description></item>"
        for i in range(3))
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>Feed {n}</title><link>https://site{n % 97}.example.org/</link>{items}"
            f"</channel></rss>").encode()


def path_of(n: int) -> str:
    return f"/feeds/{n}.xml"


def serve(feeds: int, conn: Connection) -> None:
    """Child process: serve ``feeds`` feeds until the parent says stop."""
    server = FeedServer()
    for n in range(feeds):
        server.set(path_of(n), feed_body(n))
    server.start_in_thread()
    conn.send(server.base_url)
    conn.recv()
    server.stop()


async def timed(action: Callable[[], Awaitable[int]]) -> tuple[float, int]:
    start = time.perf_counter()
    count = await action()
    return time.perf_counter() - start, count


async def run(base: str, args: argparse.Namespace) -> None:
    urls = [base + path_of(n) for n in range(args.feeds)]
    gate = asyncio.Semaphore(args.concurrency)

    async with FeedFetcher(limit=args.concurrency, limit_per_host=args.per_host) as fetcher:
        validators: Validators = {}

        async def first(url: str) -> int:
            async with gate:
                result = await fetcher.fetch(url, timeout=30, max_bytes=10 * 1024 * 1024)
            validators[url] = (result.etag, result.last_modified)
            return int(result.status == 200)

        async def conditional(url: str) -> int:
            etag, modified = validators[url]
            async with gate:
                result = await fetcher.fetch(url, etag=etag, last_modified=modified, timeout=30,
                                             max_bytes=10 * 1024 * 1024)
            return int(result.not_modified)

        async def cycle() -> int:
            return sum(await asyncio.gather(*(conditional(u) for u in urls)))

        async def plain(session: aiohttp.ClientSession, url: str) -> int:
            async with gate, session.get(url) as resp:
                await resp.read()
                return int(resp.status == 200)

        seconds, ok = await timed(lambda: _gather(first, urls))
        print(f"first cycle (200s, storing validators): {seconds:.2f} s, {ok}/{len(urls)} ok")

        ours: list[float] = []
        baseline: list[float] = []
        async with aiohttp.ClientSession() as bare:
            await _gather(lambda u: plain(bare, u), urls[: min(len(urls), 200)])  # warm pool
            for round_ in range(args.runs):
                seconds, hits = await timed(cycle)
                ours.append(seconds)
                base_seconds, oks = await timed(lambda: _gather(lambda u: plain(bare, u), urls))
                baseline.append(base_seconds)
                print(f"  run {round_ + 1}: 304 cycle {seconds:.3f} s ({hits} x 304), "
                      f"baseline {base_seconds:.3f} s ({oks} x 200)")

    ours_median = statistics.median(ours)
    base_median = statistics.median(baseline)
    print(f"\nfeeds {args.feeds}, concurrency {args.concurrency}, "
          f"FeedFetcher limit_per_host {args.per_host or 'unbounded'}, "
          f"server in a {'thread' if args.thread else 'child process'}")
    print(f"304 cycle median of {args.runs}: {ours_median:.3f} s "
          f"({args.feeds / ours_median:,.0f} feeds/s)")
    print(f"baseline (bare aiohttp GET) median: {base_median:.3f} s "
          f"({args.feeds / base_median:,.0f} feeds/s)")
    print(f"ratio 304 cycle / baseline: {ours_median / base_median:.2f}")


async def _gather(action: Callable[[str], Awaitable[int]], urls: list[str]) -> int:
    return sum(await asyncio.gather(*(action(u) for u in urls)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--per-host", type=int, default=8,
                        help="FeedFetcher limit_per_host (0: unbounded); every feed here is on "
                             "one host, unlike in production")
    parser.add_argument("--thread", action="store_true",
                        help="run the FeedServer in a thread instead of a child process")
    args = parser.parse_args()

    if args.thread:
        server = FeedServer()
        for n in range(args.feeds):
            server.set(path_of(n), feed_body(n))
        server.start_in_thread()
        try:
            asyncio.run(run(server.base_url, args))
        finally:
            server.stop()
        return

    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=serve, args=(args.feeds, child), daemon=True)
    process.start()
    try:
        base = parent.recv()
        asyncio.run(run(base, args))
    finally:
        parent.send("stop")
        process.join(10)
        if process.is_alive():
            process.terminate()


if __name__ == "__main__":
    main()
