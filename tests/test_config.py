"""The YAML: every problem named with its key path; the example config is accepted."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from syndicator.config import ConfigError, load_config, parse_settings

REPO = Path(__file__).resolve().parents[1]
ENV = {"TELEGRAM_BOT_TOKEN": "123456:SECRET-token-value", "X_CONSUMER_KEY": "ck",
       "X_CONSUMER_SECRET": "cs", "X_ACCESS_TOKEN": "at", "X_ACCESS_TOKEN_SECRET": "ats",
       "FACEBOOK_PAGE_TOKEN": "fb-page-token"}


def problems(data: object, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_settings(data, environ=ENV if environ is None else environ)
    return info.value.problems


def minimal(**channel: object) -> dict[str, object]:
    ch = {"id": "tg", "platform": "telegram", "feeds": ["en"], "chat": "@news_en",
          "credentials": {"bot_token": "${TELEGRAM_BOT_TOKEN}"}}
    ch.update(channel)
    return {"feeds": [{"id": "en", "url": "https://n.example/feed"}], "channels": [ch]}


def test_repository_example_is_accepted() -> None:
    loaded = load_config(REPO / "config.yaml", environ=ENV)
    s = loaded.settings
    assert [f.id for f in s.feeds] == ["en", "fa"]
    assert s.feeds[0].poll_interval == timedelta(minutes=5)
    assert s.channels[1].schedule.timezone == "Asia/Tehran"
    assert loaded.storage_url == f"sqlite:///{REPO / 'syndicator.db'}"
    assert [c.platform for c in s.channels] == [
        "telegram", "telegram", "twitter", "facebook", "whatsapp"]


def test_defaults() -> None:
    s = parse_settings(minimal(), environ=ENV)
    assert s.storage == "sqlite:///syndicator.db"
    feed = s.feeds[0]
    assert (feed.poll_interval, feed.backfill, feed.max_age) == (
        timedelta(minutes=5), 0, timedelta(days=7))
    assert s.channels[0].credentials["bot_token"].get() == ENV["TELEGRAM_BOT_TOKEN"]
    assert "SECRET" not in repr(s)


def test_each_problem_has_its_key_path_and_all_are_reported() -> None:
    data = {
        "feeds": [{"id": "en", "url": "https://n.example/feed"}, {"id": "fa", "url": "nope"}],
        "channels": [{"id": "tg", "platform": "telegram", "feeds": ["en"],
                      "credentials": {"bot_token": "${TELEGRAM_BOT_TOKEN}"}, "colour": "red"}],
        "typo": 1,
    }
    found = problems(data)
    assert "channels[0].chat: required" in found
    assert "feeds[1].url: not a URL (expected http:// or https://...)" in found
    allowed = "channels[0].colour: unknown key (allowed: id, platform"
    assert any(p.startswith(allowed) for p in found)
    assert any(p.startswith("typo: unknown key") for p in found)


def test_missing_env_var_is_named() -> None:
    assert problems(minimal(), environ={}) == [
        "channels[0].credentials.bot_token: env var TELEGRAM_BOT_TOKEN is not set "
        "(export it before starting syndicator)"]


def test_literal_secret_is_refused_and_never_echoed() -> None:
    found = problems(minimal(credentials={"bot_token": "123456:LITERAL-SECRET"}))
    assert found and "secrets may only be given as an env var reference" in found[0]
    assert not any("LITERAL-SECRET" in p for p in found)


def test_routing_to_unknown_feed_and_duplicate_ids() -> None:
    data = minimal(feeds=["en", "sq"])
    data["feeds"].append({"id": "en", "url": "https://n.example/2"})  # type: ignore[attr-defined]
    found = problems(data)
    assert "feeds[1].id: duplicate id 'en'" in found
    assert "channels[0].feeds[1]: no feed with id 'sq' (known: en)" in found


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("schedule", {"quiet_hours": "23-7"},
     'channels[0].schedule.quiet_hours: expected "HH:MM-HH:MM"'),
    ("schedule", {"timezone": "Mars/Olympus"}, "channels[0].schedule.timezone: unknown time zone"),
    ("schedule", {"delay": "soon"}, "channels[0].schedule.delay: not a duration"),
    ("chat", "news", "channels[0].chat: expected a channel username"),
    ("platform", "myspace", "channels[0].platform: unknown platform"),
])
def test_field_hints(field: str, value: object, expected: str) -> None:
    assert any(p.startswith(expected) for p in problems(minimal(**{field: value}))), \
        problems(minimal(**{field: value}))


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None
            ) -> subprocess.CompletedProcess[str]:
    import os

    full_env = {k: v for k, v in os.environ.items() if k != "SYNDICATOR_CONFIG"}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "syndicator", *args], capture_output=True,
                          text=True, env=full_env, cwd=cwd or REPO, timeout=60)


def test_check_offline_accepts_the_example(tmp_path: Path) -> None:
    result = run_cli("check", "--offline", "--config", str(REPO / "config.yaml"), env=ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"ok   config {REPO / 'config.yaml'}: 2 feed(s), 5 channel(s)")


def test_check_reports_problems_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("feeds:\n  - id: en\n    url: nope\nchannels: []\n", encoding="utf-8")
    result = run_cli("check", "--offline", "--config", str(bad))
    assert result.returncode == 2
    assert "feeds[0].url: not a URL" in result.stderr


def test_malformed_yaml_names_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("feeds:\n  - id: en\n   url: [unclosed\n", encoding="utf-8")
    result = run_cli("check", "--config", str(bad))
    assert result.returncode == 2
    assert "line 3, column" in result.stderr and "malformed YAML" in result.stderr


def test_config_falls_back_to_env_then_cwd(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(
        "feeds:\n  - id: cwd\n    url: https://n.example/f\n", encoding="utf-8")
    other = tmp_path / "other.yaml"
    other.write_text("feeds:\n  - id: env\n    url: https://n.example/f\n", encoding="utf-8")
    from_cwd = run_cli("check", "--offline", cwd=tmp_path)
    assert from_cwd.returncode == 0 and str(tmp_path / "config.yaml") in from_cwd.stdout
    from_env = run_cli("check", "--offline", cwd=tmp_path, env={"SYNDICATOR_CONFIG": str(other)})
    assert from_env.returncode == 0 and "other.yaml" in from_env.stdout
    missing = run_cli("check", "--offline", cwd=tmp_path / "..", env={})
    assert missing.returncode == 2 and "file not found" in missing.stderr
