"""The commands as an admin runs them: real processes, real sockets, real signals."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from syndicator.sandbox.feeds import FeedServer
from syndicator.sandbox.telegram import FakeTelegramAPI
from tests.feeds import Item, rss

TOKEN = "777001:cli-SECRET-token-value"


@pytest.fixture
def servers() -> Iterator[tuple[FeedServer, FakeTelegramAPI]]:
    feeds = FeedServer().start_in_thread()
    telegram = FakeTelegramAPI(tokens=[TOKEN], chats=["@news_en"]).start_in_thread()
    try:
        yield feeds, telegram
    finally:
        telegram.stop()
        feeds.stop()


def write_config(tmp_path: Path, feeds: FeedServer, telegram: FakeTelegramAPI,
                 extra_channel: str = "") -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(f"""
storage: sqlite:///state.db
feeds:
  - id: en
    url: {feeds.url('/en.xml')}
    poll_interval: 1s
    backfill: 5
    timeout: 2s
channels:
  - id: tg
    platform: telegram
    feeds: [en]
    chat: "@news_en"
    api_url: {telegram.url}
    timeout: 2s
    credentials:
      bot_token: ${{BOT_TOKEN}}
{extra_channel}""", encoding="utf-8")
    return config


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k != "SYNDICATOR_CONFIG"}
    base.update({"BOT_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}, **extra)
    return base


def cli(*args: str, cwd: Path, environ: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    """Run the real command in a new process, as an admin would."""
    return subprocess.run([sys.executable, "-m", "syndicator", *args], capture_output=True,
                          text=True, cwd=cwd, env=environ or env(), timeout=90)


def wait_for(predicate: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_daemon_runs_refuses_a_second_and_stops_cleanly_on_sigterm(
        tmp_path: Path, servers: tuple[FeedServer, FakeTelegramAPI]) -> None:
    feeds, telegram = servers
    feeds.set("/en.xml", rss([Item("b", "Second", 1), Item("a", "First", 2)]))
    write_config(tmp_path, feeds, telegram)
    daemon = subprocess.Popen([sys.executable, "-m", "syndicator", "run"], cwd=tmp_path,
                              env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        wait_for(lambda: len(telegram.messages) == 2)
        feeds.set("/en.xml", rss([Item("c", "Third", 0), Item("b", "Second", 1),
                                  Item("a", "First", 2)]))
        wait_for(lambda: len(telegram.messages) == 3)
        second = cli("run", cwd=tmp_path)
        assert second.returncode == 3
        assert "another syndicator daemon" in second.stderr and "already running" in second.stderr
        started = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=10)
        assert time.monotonic() - started < 10
    finally:
        if daemon.poll() is None:
            daemon.kill()
    assert daemon.returncode == 0, err
    assert [m.plain_text.splitlines()[0] for m in telegram.messages] == [
        "First", "Second", "Third"]
    assert "SIGTERM received" in err and "stopped" in err
    assert TOKEN not in out + err


def test_poll_once_queue_status_history_retry_and_secrets(
        tmp_path: Path, servers: tuple[FeedServer, FakeTelegramAPI]) -> None:
    feeds, telegram = servers
    feeds.set("/en.xml", rss([Item("a", "Only post", 1)]))
    telegram.fail_next(500, "Internal Server Error", times=2, method="sendMessage")
    write_config(tmp_path, feeds, telegram)
    (tmp_path / "config.yaml").write_text((tmp_path / "config.yaml").read_text().replace(
        "    timeout: 2s\n    credentials",
        "    timeout: 2s\n    retry: {max_attempts: 2, base_delay: 1s}\n    credentials"))
    first = cli("poll", "--once", "--log-level", "debug", cwd=tmp_path)
    assert first.returncode == 1, first.stderr  # the post failed: exit code says so
    assert "0 sent, 1 failed" in first.stdout

    queue = json.loads(cli("queue", "--json", "--failed", cwd=tmp_path).stdout)
    assert [(d["channel"], d["state"]) for d in queue] == [("tg", "failed")]
    assert {"id", "channel", "state", "text"} <= set(queue[0])
    delivery = queue[0]["id"]

    retried = cli("retry", str(delivery), cwd=tmp_path)
    assert retried.returncode == 0 and "queued again" in retried.stdout
    second = cli("poll", "--once", cwd=tmp_path)
    assert second.returncode == 0 and "1 sent" in second.stdout

    status = json.loads(cli("status", "--json", cwd=tmp_path).stdout)
    assert status["feeds"][0]["id"] == "en" and status["feeds"][0]["errors"] == 0
    channel = status["channels"][0]
    assert channel["deliveries"] == {"sent": 1} and channel["last_success_at"]
    history = json.loads(cli("history", "--json", cwd=tmp_path).stdout)
    assert [a["outcome"] for a in history] == ["sent", "failed", "transient"]
    assert cli("retry", str(delivery), cwd=tmp_path).returncode == 1  # already sent

    outputs = [first.stdout, first.stderr, second.stdout, second.stderr,
               cli("queue", cwd=tmp_path).stdout, cli("status", cwd=tmp_path).stdout,
               cli("history", cwd=tmp_path).stdout]
    assert not any(TOKEN in text for text in outputs)
    db = sqlite3.connect(tmp_path / "state.db")
    dump = "\n".join(db.iterdump())
    db.close()
    assert TOKEN not in dump and TOKEN.split(":")[1] not in dump


def test_wrong_token_never_leaks_and_pauses(
        tmp_path: Path, servers: tuple[FeedServer, FakeTelegramAPI]) -> None:
    feeds, telegram = servers
    feeds.set("/en.xml", rss([Item("a", "Post", 1)]))
    write_config(tmp_path, feeds, telegram)
    wrong = "555:WRONG-secret-never-print"
    result = cli("poll", "--once", "--log-level", "debug", cwd=tmp_path,
                 environ=env(BOT_TOKEN=wrong))
    assert result.returncode == 1
    assert "Channel tg is paused" in result.stderr
    assert wrong not in result.stdout + result.stderr
    status = cli("status", cwd=tmp_path, environ=env(BOT_TOKEN=wrong)).stdout
    assert "paused" in status and wrong not in status
    resumed = cli("resume", "tg", cwd=tmp_path)
    assert "1 post(s) that failed for the pausing reason are queued again" in resumed.stdout
    assert cli("poll", "--once", cwd=tmp_path).returncode == 0
    assert len(telegram.messages) == 1


def test_unknown_channel_and_missing_delivery_are_clear(
        tmp_path: Path, servers: tuple[FeedServer, FakeTelegramAPI]) -> None:
    write_config(tmp_path, *servers)
    paused = cli("pause", "nope", cwd=tmp_path)
    assert paused.returncode == 2 and "no channel 'nope'" in paused.stderr
    missing = cli("retry", "4242", cwd=tmp_path)
    assert missing.returncode == 1 and "no delivery 4242" in missing.stderr
    assert cli("poll", cwd=tmp_path).returncode == 2


def test_db_upgrade_and_help(tmp_path: Path, servers: tuple[FeedServer, FakeTelegramAPI]) -> None:
    write_config(tmp_path, *servers)
    first = cli("db", "upgrade", cwd=tmp_path)
    assert first.returncode == 0 and "upgraded empty -> " in first.stdout
    assert "already at" in cli("db", "upgrade", cwd=tmp_path).stdout
    helptext = cli("--help", cwd=tmp_path).stdout
    for command in ("run", "poll", "queue", "history", "retry", "status", "demo", "check"):
        assert command in helptext
    assert "Exit codes" in helptext


def test_demo_runs_offline_and_shows_posts_arriving(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM", "SYNDICATOR"))}
    environ["PYTHONUNBUFFERED"] = "1"
    config = tmp_path / "demo" / "config.yaml"
    demo = subprocess.Popen(
        [sys.executable, "-m", "syndicator", "demo", "--duration", "20", "--interval", "3",
         "--dir", str(tmp_path / "demo")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=environ)
    try:
        def held() -> list[dict[str, object]]:
            if not config.exists():
                return []
            result = cli("queue", "--json", "--state", "held", "--config", str(config),
                         cwd=tmp_path, environ=environ)
            return json.loads(result.stdout) if result.returncode == 0 else []

        wait_for(lambda: held())  # X posts wait for an editor in the demo
        first = held()[0]
        approved = cli("approve", str(first["id"]), "--config", str(config), cwd=tmp_path,
                       environ=environ)
        assert approved.returncode == 0, approved.stderr
        out, err = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
    assert demo.returncode == 0, err
    assert "dashboard http://127.0.0.1:" in out and "password syndicator-demo" in out
    arrivals = [line for line in out.splitlines() if "received:" in line]
    for where in ("Telegram @demo_news_en", "Telegram @demo_news_fa", "X (x-en)",
                  "Facebook page (fb-fa)"):
        assert any(where in line for line in arrivals), where
    assert any("خبر" in line or "ی" in line for line in arrivals)  # Persian arrives intact
    share = (tmp_path / "demo" / "share" / "index.html").read_text(encoding="utf-8")
    assert "wa.me/?text=" in share
    history = cli("history", "--json", "--config", str(config), cwd=tmp_path, environ=environ)
    assert history.returncode == 0 and len(json.loads(history.stdout)) >= 12


def test_sigterm_lets_the_post_in_flight_finish(
        tmp_path: Path, servers: tuple[FeedServer, FakeTelegramAPI]) -> None:
    feeds, telegram = servers
    feeds.set("/en.xml", rss([Item("a", "Slow answer", 1)]))
    config = write_config(tmp_path, feeds, telegram)
    config.write_text(config.read_text().replace("timeout: 2s\n    credentials",
                                                 "timeout: 6s\n    credentials"))
    telegram.delay_next(2.5, method="sendMessage")
    daemon = subprocess.Popen([sys.executable, "-m", "syndicator", "run"], cwd=tmp_path,
                              env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    wait_for(lambda: any(m == "sendMessage" for m, _ in telegram.requests) or
             len(telegram.messages) == 1)
    daemon.send_signal(signal.SIGTERM)
    _, err = daemon.communicate(timeout=10)
    assert daemon.returncode == 0, err
    sent = json.loads(cli("history", "--json", cwd=tmp_path).stdout)
    assert [a["outcome"] for a in sent] == ["sent"]
    assert "finishing in-flight posts" in err


def test_a_killed_daemon_leaves_no_duplicate_and_no_loss(
        tmp_path: Path, servers: tuple[FeedServer, FakeTelegramAPI]) -> None:
    feeds, telegram = servers
    feeds.set("/en.xml", rss([Item("b", "After", 1), Item("a", "In flight", 2)]))
    config = write_config(tmp_path, feeds, telegram)
    config.write_text(config.read_text().replace("timeout: 2s\n    credentials",
                                                 "timeout: 30s\n    credentials"))
    telegram.delay_next(20, method="sendMessage")
    daemon = subprocess.Popen([sys.executable, "-m", "syndicator", "run"], cwd=tmp_path,
                              env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(lambda: len(telegram.messages) == 1)  # Telegram has it; the answer is late
    daemon.kill()
    daemon.communicate(timeout=10)
    after = cli("poll", "--once", cwd=tmp_path)
    assert after.returncode == 1 and "1 uncertain" in after.stdout
    queue = json.loads(cli("queue", "--json", cwd=tmp_path).stdout)
    assert [(d["post"]["title"], d["state"]) for d in queue] == [("In flight", "uncertain")]
    assert [m.plain_text.splitlines()[0] for m in telegram.messages] == ["In flight", "After"]
    skipped = cli("skip", str(queue[0]["id"]), cwd=tmp_path)  # an editor saw it arrived
    assert skipped.returncode == 0
    assert cli("poll", "--once", cwd=tmp_path).returncode == 0
    assert len(telegram.messages) == 2


def test_run_sandbox_tries_a_real_config_without_credentials(
        tmp_path: Path, servers: tuple[FeedServer, FakeTelegramAPI]) -> None:
    feeds, telegram = servers
    feeds.set("/en.xml", rss([Item("a", "Sandboxed headline", 1)]))
    config = write_config(tmp_path, feeds, telegram, extra_channel="""
  - id: fb
    platform: facebook
    feeds: [en]
    page_id: "1234567890"
    credentials:
      page_token: ${FB_PAGE_TOKEN}
""")
    config.write_text(config.read_text().replace(f"    api_url: {telegram.url}\n", ""))
    environ = {k: v for k, v in env().items() if k != "BOT_TOKEN"}
    daemon = subprocess.Popen([sys.executable, "-m", "syndicator", "run", "--sandbox"],
                              cwd=tmp_path, env=environ, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            time.sleep(0.3)
            db = tmp_path / "syndicator-sandbox.db"
            if db.exists():
                with contextlib.suppress(sqlite3.OperationalError), sqlite3.connect(db) as conn:
                    if conn.execute("select count(*) from deliveries where state='sent'"
                                    ).fetchone()[0] == 2:
                        break
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=10)
    finally:
        if daemon.poll() is None:
            daemon.kill()
    assert daemon.returncode == 0, err
    assert "[sandbox] Telegram @news_en (tg) received: Sandboxed headline" in err
    assert "[sandbox] Facebook page (fb) received: Sandboxed headline" in err
    assert telegram.messages == []  # the real endpoint was never called
    assert not (tmp_path / "state.db").exists()  # the real state is untouched


def test_check_online_verifies_feeds_and_credentials(
        tmp_path: Path, servers: tuple[FeedServer, FakeTelegramAPI]) -> None:
    feeds, telegram = servers
    feeds.set("/en.xml", rss([Item("a", "Post", 1)]))
    write_config(tmp_path, feeds, telegram)
    good = cli("check", cwd=tmp_path)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "ok   feed en: 1 entries" in good.stdout
    assert "ok   channel tg (telegram): posting as @syndicator_test_bot" in good.stdout
    feeds.status("/en.xml", 404)
    bad = cli("check", cwd=tmp_path, environ=env(BOT_TOKEN="1:WRONG-check-token"))
    assert bad.returncode == 1
    lines = bad.stdout.splitlines()
    assert any(line.startswith("FAIL feed en:") and "404" in line for line in lines)
    assert any(line.startswith("FAIL channel tg (telegram):") for line in lines)
    found = json.loads(cli("check", "--json", cwd=tmp_path,
                           environ=env(BOT_TOKEN="1:WRONG-check-token")).stdout)
    assert [(f["status"], f["subject"]) for f in found] == [
        ("ok", f"config {tmp_path / 'config.yaml'}"), ("FAIL", "feed en"),
        ("FAIL", "channel tg (telegram)")]
    assert "WRONG-check-token" not in bad.stdout + bad.stderr


def test_preview_shows_every_channel_without_publishing(
        tmp_path: Path, servers: tuple[FeedServer, FakeTelegramAPI]) -> None:
    feeds, telegram = servers
    feeds.set("/en.xml", rss([Item("b", "Newest <story>", 1), Item("a", "Older", 2)]))
    write_config(tmp_path, feeds, telegram, extra_channel="""
  - id: wa
    platform: whatsapp
    feeds: [en]
""")
    shown = cli("preview", "--json", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert [item["title"] for item in data] == ["Newest <story>"]
    by_channel = {m["channel"]: m for m in data[0]["messages"]}
    assert by_channel["tg"]["text"].startswith("<b>Newest &lt;story&gt;</b>")
    assert by_channel["tg"]["limit"] == 4096 and by_channel["wa"]["limit"] == 300
    one = json.loads(cli("preview", "--json", "--post", "https://news.example.org/a/",
                         "--channel", "wa", cwd=tmp_path).stdout)
    assert [m["channel"] for m in one[0]["messages"]] == ["wa"] and one[0]["title"] == "Older"
    text = cli("preview", cwd=tmp_path).stdout
    assert "-- tg (telegram): " in text and "/4096 utf16" in text
    assert telegram.messages == [] and not (tmp_path / "share").exists()


def test_queue_shows_whatsapp_share_links(
        tmp_path: Path, servers: tuple[FeedServer, FakeTelegramAPI]) -> None:
    feeds, telegram = servers
    feeds.set("/en.xml", rss([Item("a", "Tap to share", 1)]))
    write_config(tmp_path, feeds, telegram, extra_channel="""
  - id: wa
    platform: whatsapp
    feeds: [en]
""")
    assert cli("poll", "--once", cwd=tmp_path).returncode == 0
    shown = cli("queue", "--channel", "wa", cwd=tmp_path).stdout
    assert "queue is empty" in shown and "WhatsApp share links of wa" in shown
    assert "https://wa.me/?text=%2ATap%20to%20share%2A" in shown


def test_db_prune_keeps_what_prevents_resending(
        tmp_path: Path, servers: tuple[FeedServer, FakeTelegramAPI]) -> None:
    feeds, telegram = servers
    feeds.set("/en.xml", rss([Item("a", "Old news", 1)]))
    write_config(tmp_path, feeds, telegram)
    assert cli("poll", "--once", cwd=tmp_path).returncode == 0
    kept = json.loads(cli("db", "prune", "--json", cwd=tmp_path).stdout)
    assert kept == {"attempts": 0, "events": 0}  # nothing is 180 days old
    pruned = json.loads(cli("db", "prune", "--older-than", "0s", "--json", cwd=tmp_path).stdout)
    assert pruned == {"attempts": 1, "events": 0}
    assert cli("poll", "--once", cwd=tmp_path).returncode == 0
    assert len(telegram.messages) == 1  # the post is still known: not sent again
    bad = cli("db", "prune", "--older-than", "ages", cwd=tmp_path)
    assert bad.returncode == 2 and "--older-than" in bad.stderr


def test_sighup_reloads_the_config_and_keeps_a_broken_one_out(
        tmp_path: Path, servers: tuple[FeedServer, FakeTelegramAPI]) -> None:
    feeds, telegram = servers
    feeds.set("/en.xml", rss([Item("a", "Before reload", 1)]))
    config = write_config(tmp_path, feeds, telegram)
    daemon = subprocess.Popen([sys.executable, "-m", "syndicator", "run"], cwd=tmp_path,
                              env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        wait_for(lambda: len(telegram.messages) == 1)
        good = config.read_text()
        config.write_text(good + "  - {id: broken, platform: telegram}\n")
        daemon.send_signal(signal.SIGHUP)
        time.sleep(2)
        assert daemon.poll() is None  # a broken config does not stop the daemon
        config.write_text(good.replace('chat: "@news_en"', 'chat: "@news_en"\n    filters: '
                                       '{exclude_keywords: [skip]}'))
        daemon.send_signal(signal.SIGHUP)
        time.sleep(2)
        feeds.set("/en.xml", rss([Item("c", "Please skip this one", 0),
                                  Item("b", "After reload", 0), Item("a", "Before reload", 1)]))
        wait_for(lambda: len(telegram.messages) == 2)
        time.sleep(2)
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=15)
    finally:
        if daemon.poll() is None:
            daemon.kill()
    assert daemon.returncode == 0, err
    assert "not reloaded, the running one is kept: channels[1].feeds: required" in err
    assert "reloaded: 1 feed(s), 1 channel(s)" in err
    assert [m.plain_text.splitlines()[0] for m in telegram.messages] == [
        "Before reload", "After reload"]
