"""parse_feed over two external corpora (see /work/shared/corpora/README.md).

* feed-rs: 65 real-world and spec XML inputs and 3 JSON Feeds; for every input with a
  ``*.serde.json`` (feed-rs's own, independent parse) we must find the same entries with the
  same titles, and the same links and dates except where noted below with the reason.
* feedparser 6.0.14's test corpus (2,248 files, many deliberately broken): no file may make
  parse_feed raise anything but FeedParseError, and where feedparser itself finds entries we
  must return them (less repeats of an earlier entry's key, which we drop on purpose).

The corpora live beside the repository (``../shared/corpora``) or at $SYNDICATOR_CORPORA; a
missing corpus fails these tests rather than skipping them.
"""

from __future__ import annotations

import io
import json
import os
import re
import warnings
from datetime import datetime
from pathlib import Path
from urllib.parse import urljoin

import feedparser
import pytest

from syndicator.entries import FeedParseError, ParsedFeed, normalize_link, parse_feed
from tests.test_entries import check_invariants

CORPORA = Path(os.environ.get("SYNDICATOR_CORPORA")
               or Path(__file__).resolve().parents[2] / "shared" / "corpora")
FEED_RS = CORPORA / "feed-rs" / "fixture"
FEEDPARSER = CORPORA / "feedparser" / "tests"
FEED_URL = "https://corpus.example.org/feed.xml"

# Where we knowingly differ from feed-rs, and why.
LINK_EXCEPTIONS = {
    "atom/atom_xml_base.xml": "feed-rs drops a link relative to xml:base; we resolve it",
    "rss2/rss_2.0_spec_1.xml": "guids without isPermaLink=false are permalinks (RSS 2.0 "
                               "spec); feedparser and we take them as the link, feed-rs not",
}
DATE_EXCEPTIONS = {
    "rss2/rss_2.0_nbcny.xml": "'Sat, Dec 16 2023 02:02:33 PM' (no zone, 12-hour clock): "
                              "feed-rs refuses it, feedparser reads 02:02:33 UTC",
    "rss1/rss_1.0_example_1.xml": "item 2's dc:date '2017-06-13T03:18:00+00:0' has a cut "
                                  "offset: feed-rs refuses it, feedparser reads it as UTC",
}


def _require(path: Path) -> Path:
    assert path.is_dir(), (f"corpus not found at {path}: clone the shared corpora beside the "
                           "repository or set SYNDICATOR_CORPORA")
    return path


def _files(root: Path, pattern: str) -> list[Path]:
    return sorted(root.glob(pattern)) if root.is_dir() else []


FEED_RS_INPUTS = [p for p in _files(FEED_RS, "*/*") if not p.name.endswith(".serde.json")]
FEED_RS_EXPECTED = [p for p in FEED_RS_INPUTS
                    if p.suffix == ".xml" and p.with_suffix(".serde.json").exists()]
FEEDPARSER_GROUPS = sorted({str(p.parent.relative_to(FEEDPARSER))
                            for p in _files(FEEDPARSER, "**/*") if p.is_file()})


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _rel(path: Path) -> str:
    return path.relative_to(FEED_RS).as_posix()


def _parse(body: bytes, **headers: str) -> ParsedFeed | FeedParseError:
    try:
        feed = parse_feed(body, feed_id="corpus", url=FEED_URL, headers=headers or None)
    except FeedParseError as exc:
        assert str(exc).startswith(f"{FEED_URL}: ") and "\n" not in str(exc)
        return exc
    check_invariants(feed)
    return feed


def test_corpus_feed_rs_is_present() -> None:
    _require(FEED_RS)
    assert len([p for p in FEED_RS_INPUTS if p.suffix == ".xml"]) == 65
    assert len([p for p in FEED_RS_INPUTS if p.suffix == ".json"]) == 3
    assert len(FEED_RS_EXPECTED) == 61


@pytest.mark.parametrize("path", FEED_RS_INPUTS or [FEED_RS / "missing"], ids=_id)
def test_corpus_feed_rs_every_input_parses_or_is_refused_clearly(path: Path) -> None:
    _require(FEED_RS)
    outcome = _parse(path.read_bytes())
    if path.suffix == ".json":
        assert isinstance(outcome, FeedParseError) and outcome.kind == "json"
        assert "JSON Feed" in str(outcome)
    elif path.with_suffix(".serde.json").exists():
        assert isinstance(outcome, ParsedFeed), outcome
    elif path.parent.name == "xml" and isinstance(outcome, FeedParseError):
        assert outcome.kind == "xml"  # plain XML samples, not feeds


def _differences(path: Path) -> dict[str, list[str]]:
    """Entry count and titles must agree; link and date differences are returned by kind."""
    expected = json.loads(path.with_suffix(".serde.json").read_text(encoding="utf-8"))
    feed = _parse(path.read_bytes())
    assert isinstance(feed, ParsedFeed), feed
    want = expected["entries"]
    assert len(feed.entries) == len(want)
    titles = [" ".join(((e.get("title") or {}).get("content") or "").split()) for e in want]
    assert [e.title for e in feed.entries] == titles

    found: dict[str, list[str]] = {}
    for theirs, ours in zip(want, feed.entries, strict=True):
        links = [link["href"] for link in theirs["links"]
                 if link.get("rel") in (None, "alternate")]
        their_link = normalize_link(urljoin(FEED_URL, links[0])) if links else None
        our_link = normalize_link(ours.link) if ours.link else None
        if our_link != their_link:
            found.setdefault("link", []).append(f"{our_link} != {their_link}")
        when = theirs.get("published") or theirs.get("updated")
        their_time = (datetime.fromisoformat(when.replace("Z", "+00:00")).replace(microsecond=0)
                      if when else None)  # feedparser keeps whole seconds
        if ours.published != their_time:
            found.setdefault("date", []).append(f"{ours.published} != {their_time}")
    return found


@pytest.mark.parametrize("path", FEED_RS_EXPECTED or [FEED_RS / "missing"], ids=_id)
def test_corpus_feed_rs_matches_the_independent_parse(path: Path) -> None:
    _require(FEED_RS)
    allowed = {kind for kind, listed in (("link", LINK_EXCEPTIONS), ("date", DATE_EXCEPTIONS))
               if _rel(path) in listed}
    differences = _differences(path)
    assert set(differences) <= allowed, differences


def test_corpus_feed_rs_exceptions_are_still_needed() -> None:
    """An exception that no longer differs must leave the list, so the lists stay honest."""
    root = _require(FEED_RS)
    for kind, listed in (("link", LINK_EXCEPTIONS), ("date", DATE_EXCEPTIONS)):
        for name in listed:
            assert kind in _differences(root / name), f"{name}: {kind} now agrees"


def _headers(body: bytes) -> dict[str, str]:
    """The ``Header:`` lines of a feedparser case, which upstream served as HTTP headers."""
    head = body[:3000].decode("latin-1")
    found = re.findall(r"^Header:\s*([^:\s]+):\s*(.*?)\s*$", head, flags=re.MULTILINE)
    return {name.lower(): value for name, value in found}


def test_corpus_feedparser_is_present() -> None:
    root = _require(FEEDPARSER)
    assert sum(1 for p in root.glob("**/*") if p.is_file()) == 2248


@pytest.mark.parametrize("group", FEEDPARSER_GROUPS or ["missing"])
def test_corpus_feedparser_sweep(group: str) -> None:
    root = _require(FEEDPARSER) / group
    failures: list[str] = []
    files = sorted(p for p in root.iterdir() if p.is_file())
    assert files
    for path in files:
        body = path.read_bytes()
        headers = _headers(body)
        try:
            outcome = _parse(body, **headers)
        except Exception as exc:  # noqa: BLE001 - collected so one run lists every offender
            failures.append(f"{path.name}: {type(exc).__name__}: {exc}")
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            reference = feedparser.parse(io.BytesIO(body), response_headers=headers)
        found = len(reference.entries)
        if isinstance(outcome, FeedParseError):
            if found and reference.get("version"):
                failures.append(f"{path.name}: refused ({outcome}) but feedparser read "
                                f"{found} entries")
        elif len(outcome.entries) != found and not (
                len(outcome.entries) < found and outcome.warning
                and "with the guid or link of an earlier one" in outcome.warning):
            failures.append(f"{path.name}: {len(outcome.entries)} entries, feedparser {found}")
    assert not failures, "\n".join(failures)
