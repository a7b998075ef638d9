"""The dashboard over real sockets: a started app on 127.0.0.1:0, a real SQLite store.

Posts go in through Store.add_post exactly as the watcher writes them; every request goes
through aiohttp's client, cookies and all.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from yarl import URL

from syndicator.clock import ManualClock
from syndicator.config import LoadedConfig, parse_settings
from syndicator.model import DeliveryState, Post
from syndicator.store.records import NewDelivery, NewPost
from syndicator.store.store import Store
from syndicator.web import Dashboard, User, WebOptions, hash_password, verify_password
from syndicator.web.charts import stacked_bars
from syndicator.web.commands import cmd_user_add
from syndicator.web.options import options_from_settings, parse_listen
from syndicator.web.passwords import parse_hash
from syndicator.web.ratelimit import LoginLimiter

X_TOKEN = "x-bearer-SECRET-value-123"
ED_PASSWORD = "editor-password"
AD_PASSWORD = "admin-password"
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _config(tmp_path: Path) -> LoadedConfig:
    data = {
        "storage": f"sqlite:///{tmp_path / 'web.db'}",
        "feeds": [{"id": "en", "url": "http://127.0.0.1:9/en.xml"},
                  {"id": "fa", "url": "http://127.0.0.1:9/fa.xml", "language": "fa"}],
        "channels": [
            {"id": "x", "platform": "twitter", "feeds": ["en", "fa"], "approval": "required",
             "credentials": {"bearer_token": "${X_TOKEN}"}},
            {"id": "tg", "platform": "telegram", "feeds": ["en"], "chat": "@web_news",
             "credentials": {"bot_token": "${TG_TOKEN}"}},
            {"id": "wa", "platform": "whatsapp", "feeds": ["en"],
             "share_dir": str(tmp_path / "share")},
        ],
    }
    settings = parse_settings(data, environ={"X_TOKEN": X_TOKEN}, require_secrets=False)
    return LoadedConfig(settings=settings, path=tmp_path / "config.yaml")


def _add(store: Store, key: str, title: str, *, language: str | None = None,
         channels: dict[str, DeliveryState]) -> int:
    post_id = store.add_post(
        NewPost(Post("fa" if language == "fa" else "en", key, f"https://news.example.org/{key}/",
                     title, language=language), f"news.example.org/{key}", title.lower()),
        [NewDelivery(channel_id=c, text=f"{title}\nhttps://news.example.org/{key}/",
                     not_before=START, state=state) for c, state in channels.items()])
    assert post_id is not None
    return post_id


@dataclass
class Site:
    url: str
    store: Store
    clock: ManualClock
    dashboard: Dashboard
    posts: dict[str, int]

    def delivery(self, post: str, channel: str) -> dict[str, Any]:
        found = [d for d in self.store.deliveries(channel=channel)
                 if d["post"]["id"] == self.posts[post]]
        assert len(found) == 1
        return found[0]


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    config = _config(tmp_path)
    clock = ManualClock(START)
    store = Store.open(config.storage_url, clock=clock)
    posts = {
        "en": _add(store, "en1", "Election results",
                   channels={"x": DeliveryState.HELD, "tg": DeliveryState.SCHEDULED,
                             "wa": DeliveryState.SCHEDULED}),
        "fa": _add(store, "fa1", "نتایج انتخابات", language="fa",
                   channels={"x": DeliveryState.HELD}),
    }
    options = WebOptions(host="127.0.0.1", port=0, secret_key=b"k" * 32, users=(
        User("ed", "editor", hash_password(ED_PASSWORD, n=2**12)),
        User("ad", "admin", hash_password(AD_PASSWORD, n=2**12)),
    ))
    dashboard = Dashboard(config, store=store, options=options, clock=clock)
    url = await dashboard.start()
    try:
        yield Site(url, store, clock, dashboard, posts)
    finally:
        await dashboard.stop()
        store.close()


def client() -> aiohttp.ClientSession:
    # unsafe=True: the jar would otherwise drop cookies set by an IP address like 127.0.0.1
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


def hidden(html: str, name: str = "_csrf") -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no {name} field"
    return match.group(1)


async def login(http: aiohttp.ClientSession, site: Site, name: str, password: str,
                *, next_path: str = "") -> aiohttp.ClientResponse:
    form = await http.get(f"{site.url}/login")
    data = {"name": name, "password": password, "_csrf": hidden(await form.text()),
            "next": next_path}
    return await http.post(f"{site.url}/login", data=data, allow_redirects=False)


async def logged_in(site: Site, name: str = "ed") -> tuple[aiohttp.ClientSession, str]:
    """A client with a session, and the CSRF token its pages carry."""
    http = client()
    response = await login(http, site, name, ED_PASSWORD if name == "ed" else AD_PASSWORD)
    assert response.status == 303, await response.text()
    page = await http.get(f"{site.url}/")
    return http, hidden(await page.text())


# -- nothing without a session --------------------------------------------------------------


async def test_every_route_answers_401_or_redirects_to_login_without_a_session(
        site: Site) -> None:
    routes = []
    for route in site.dashboard.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or info.get("prefix")
        assert path, info
        path = re.sub(r"\{[^}]+\}", "1", path)
        if info.get("prefix"):
            path = path.rstrip("/") + "/app.js"
        routes.append((route.method, path))
    routes += [("GET", "/no-such-page"), ("GET", "/static/app.js"), ("POST", "/api/check")]
    assert ("POST", "/deliveries/1/1") in routes and ("GET", "/health") in routes
    async with client() as http:
        for method, path in routes:
            if path == "/login" or method == "HEAD":
                continue
            response = await http.request(method, site.url + path, allow_redirects=False)
            body = await response.text()
            if method == "GET" and not path.startswith("/api/"):
                assert response.status == 303, (method, path, response.status)
                assert response.headers["Location"].startswith("/login"), path
            else:
                assert response.status == 401, (method, path, response.status)
                assert "login required" in body
            assert X_TOKEN not in body
    assert site.delivery("en", "x")["state"] == "held"


async def test_login_sets_a_signed_httponly_samesite_cookie_with_expiry(site: Site) -> None:
    async with client() as http:
        response = await login(http, site, "ed", ED_PASSWORD, next_path="/history")
        assert response.status == 303 and response.headers["Location"] == "/history"
        cookie = next(c for c in response.headers.getall("Set-Cookie")
                      if c.startswith("syn_session="))
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=" in cookie
        page = await http.get(f"{site.url}/")
        assert page.status == 200 and "ed" in await page.text()
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        assert page.headers["X-Frame-Options"] == "DENY"

        value = http.cookie_jar.filter_cookies(URL(site.url))["syn_session"].value
    body, mac = value.split(".")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as bare:
        for cookie, status in ((value, 200), (body[:-2] + "xx." + mac, 303),
                               (body + "." + mac[:-2] + "xx", 303)):
            again = await bare.get(f"{site.url}/", allow_redirects=False,
                                   headers={"Cookie": f"syn_session={cookie}"})
            assert again.status == status


async def test_sessions_expire(site: Site) -> None:
    http, _ = await logged_in(site)
    async with http:
        site.clock.advance(timedelta(hours=12, seconds=1))
        response = await http.get(f"{site.url}/", allow_redirects=False)
        assert response.status == 303 and response.headers["Location"].startswith("/login")


async def test_login_redirects_only_to_local_paths(site: Site) -> None:
    async with client() as http:
        response = await login(http, site, "ed", ED_PASSWORD, next_path="//evil.example/x")
        assert response.headers["Location"] == "/"


async def test_login_form_needs_its_own_csrf_nonce(site: Site) -> None:
    async with client() as http:
        response = await http.post(f"{site.url}/login", allow_redirects=False,
                                   data={"name": "ed", "password": ED_PASSWORD})
        assert response.status == 403 and "syn_session" not in response.cookies


# -- CSRF, roles, rate limits ---------------------------------------------------------------


async def test_a_post_without_the_csrf_token_is_refused(site: Site) -> None:
    held = site.delivery("en", "x")
    http, token = await logged_in(site)
    async with http:
        action = f"{site.url}/deliveries/{held['id']}/approve"
        missing = await http.post(action, data={}, allow_redirects=False)
        assert missing.status == 403 and "CSRF" in await missing.text()
        wrong = await http.post(action, data={"_csrf": token[:-1] + "x"}, allow_redirects=False)
        assert wrong.status == 403
        foreign = await http.post(action, data={"_csrf": token}, allow_redirects=False,
                                  headers={"Origin": "http://evil.example"})
        assert foreign.status == 403
        check = await http.post(f"{site.url}/api/check", json={"delivery": held["id"],
                                                               "text": "hi"})
        assert check.status == 403
        assert site.delivery("en", "x")["state"] == "held"

        ok = await http.post(action, data={"_csrf": token}, allow_redirects=False)
        assert ok.status == 303 and ok.headers["Location"].endswith(f"#d{held['id']}")
        assert site.delivery("en", "x")["state"] == "scheduled"


async def test_approve_moves_held_to_scheduled_as_the_logged_in_user(site: Site) -> None:
    held = site.delivery("fa", "x")
    http, token = await logged_in(site)
    async with http:
        response = await http.post(f"{site.url}/deliveries/{held['id']}/approve",
                                   data={"_csrf": token})
        assert response.status == 200
        page = await response.text()
        assert f"delivery {held['id']} (x): approved, now scheduled" in page
        again = await http.post(f"{site.url}/deliveries/{held['id']}/approve",
                                data={"_csrf": token})
        assert "only held posts wait for approval" in await again.text()
    delivery = site.delivery("fa", "x")
    assert delivery["state"] == "scheduled"
    assert site.store.events(delivery_id=held["id"])[0] | {"at": None} == {
        "at": None, "actor": "ed", "action": "approve", "delivery_id": held["id"],
        "channel": "x", "detail": None}


async def test_an_editor_cannot_pause_an_admin_can(site: Site) -> None:
    http, token = await logged_in(site, "ed")
    async with http:
        refused = await http.post(f"{site.url}/channels/x/pause",
                                  data={"_csrf": token, "reason": "x"}, allow_redirects=False)
        assert refused.status == 403
        health = await (await http.get(f"{site.url}/health")).text()
        assert "act-pause" not in health and "Configuration problems" not in health
    assert not site.store.channel_state("x").paused

    http, token = await logged_in(site, "ad")
    async with http:
        paused = await http.post(f"{site.url}/channels/x/pause",
                                 data={"_csrf": token, "reason": "breaking news review"},
                                 allow_redirects=False)
        assert paused.status == 303 and paused.headers["Location"] == "/health"
        state = site.store.channel_state("x")
        assert state.paused and state.paused_reason == "breaking news review"
        health = await (await http.get(f"{site.url}/health")).text()
        assert "breaking news review" in health and "act-resume" in health
        assert "Configuration problems" in health
        assert "env var TG_TOKEN is not set" in health
        assert X_TOKEN not in health
        unknown = await http.post(f"{site.url}/channels/nope/pause", data={"_csrf": token})
        assert unknown.status == 404
        resumed = await http.post(f"{site.url}/channels/x/resume", data={"_csrf": token},
                                  allow_redirects=False)
        assert resumed.status == 303 and not site.store.channel_state("x").paused


async def test_login_is_rate_limited_per_client(site: Site) -> None:
    async with client() as http:
        for _ in range(5):
            wrong = await login(http, site, "ed", "not the password")
            assert wrong.status == 401 and "Wrong name or password" in await wrong.text()
        throttled = await login(http, site, "ed", ED_PASSWORD)
        assert throttled.status == 429 and int(throttled.headers["Retry-After"]) > 0
        other_user = await login(http, site, "ad", AD_PASSWORD)
        assert other_user.status == 429  # same address
        site.clock.advance(timedelta(minutes=5, seconds=1))
        assert (await login(http, site, "ed", ED_PASSWORD)).status == 303


def test_login_limiter_counts_per_user_across_addresses() -> None:
    clock = ManualClock(START)
    limiter = LoginLimiter(clock, limit=5, window=timedelta(minutes=5))
    for i in range(5):
        assert limiter.retry_after(f"ip:10.0.0.{i}", "user:ed") == 0
        limiter.fail(f"ip:10.0.0.{i}", "user:ed")
    assert limiter.retry_after("ip:10.0.0.99", "user:ed") == 300
    assert limiter.retry_after("ip:10.0.0.99", "user:ad") == 0
    clock.advance(timedelta(minutes=2))
    assert limiter.retry_after("ip:10.0.0.99", "user:ed") == 180
    clock.advance(timedelta(minutes=3))
    assert limiter.retry_after("ip:10.0.0.99", "user:ed") == 0


# -- editing ------------------------------------------------------------------------------------


async def test_edit_past_the_limit_is_refused_with_the_platform_reason(site: Site) -> None:
    held = site.delivery("en", "x")
    http, token = await logged_in(site)
    async with http:
        too_long = "Election results " * 20  # 340 weighted characters
        refused = await http.post(f"{site.url}/deliveries/{held['id']}/edit",
                                  data={"_csrf": token, "text": too_long})
        page = await refused.text()
        assert refused.status == 422
        assert "Refused:" in page and "too long: 340 of 280" in page
        assert too_long.strip() in page  # the editor's text is kept in the box
        as_json = await http.post(f"{site.url}/deliveries/{held['id']}/edit",
                                  data={"_csrf": token, "text": too_long},
                                  headers={"Accept": "application/json"})
        assert as_json.status == 422
        assert (await as_json.json())["problems"] == [
            "too long: 340 of 280 (X weighted characters, URLs count 23)"]
        assert site.delivery("en", "x")["override"] is False

        fixed = await http.post(f"{site.url}/deliveries/{held['id']}/edit",
                                data={"_csrf": token, "text": "Results are in"})
        assert fixed.status == 200 and "edited, now held" in await fixed.text()
        edited = site.delivery("en", "x")
        assert edited["text"] == "Results are in" and edited["override_by"] == "ed"
        reverted = await http.post(f"{site.url}/deliveries/{held['id']}/revert",
                                   data={"_csrf": token})
        assert reverted.status == 200
        assert site.delivery("en", "x")["text"] == held["text"]


async def test_live_counter_uses_the_server_rules(site: Site) -> None:
    held = site.delivery("en", "x")
    http, token = await logged_in(site)
    headers = {"X-CSRF-Token": token}
    async with http:
        url_text = "Read https://news.example.org/" + "a" * 200
        response = await http.post(f"{site.url}/api/check", headers=headers,
                                   json={"delivery": held["id"], "text": url_text})
        assert await response.json() == {"length": 28, "limit": 280,
                                         "counting": "x-weighted", "problems": [], "ok": True}
        persian = await http.post(f"{site.url}/api/check", headers=headers,
                                  json={"channel": "x", "text": "س" * 141})
        assert (await persian.json())["length"] == 141  # below U+1100: weight one
        cjk = await http.post(f"{site.url}/api/check", headers=headers,
                              json={"channel": "x", "text": "漢" * 141})
        assert (await cjk.json())["problems"] == [
            "too long: 282 of 280 (X weighted characters, URLs count 23)"]
        telegram = await http.post(f"{site.url}/api/check", headers=headers,
                                   json={"channel": "tg", "text": "<p>hi</p>"})
        assert 'Unsupported start tag "p"' in (await telegram.json())["problems"][0]
        bad = await http.post(f"{site.url}/api/check", headers=headers, json={"text": 3})
        assert bad.status == 400


async def test_reschedule_hold_skip_retry(site: Site) -> None:
    scheduled = site.delivery("en", "tg")
    http, token = await logged_in(site)
    async with http:
        base = f"{site.url}/deliveries/{scheduled['id']}"
        moved = await http.post(f"{base}/reschedule", data={"_csrf": token, "at": "+2h"})
        assert "moved, now scheduled" in await moved.text()
        assert site.delivery("en", "tg")["next_attempt_at"] == START + timedelta(hours=2)
        bad = await http.post(f"{base}/reschedule", data={"_csrf": token, "at": "soonish"})
        assert "write +30m, HH:MM" in await bad.text()
        await http.post(f"{base}/hold", data={"_csrf": token})
        assert site.delivery("en", "tg")["state"] == "held"
        await http.post(f"{base}/skip", data={"_csrf": token})
        assert site.delivery("en", "tg")["state"] == "skipped"
        await http.post(f"{base}/retry", data={"_csrf": token})
        assert site.delivery("en", "tg")["state"] == "scheduled"
        missing = await http.post(f"{site.url}/deliveries/999/approve", data={"_csrf": token})
        assert missing.status == 404


# -- pages --------------------------------------------------------------------------------------


async def test_pages_show_queue_post_history_health_and_rtl(site: Site) -> None:
    held = site.delivery("en", "x")
    site.store.finish(held["id"], site.store.start_attempt(held["id"], "x"),
                      state=DeliveryState.FAILED, outcome="failed",
                      error="403 Forbidden: You are not permitted", http_status=403)
    http, _ = await logged_in(site)
    async with http:
        queue = await (await http.get(f"{site.url}/")).text()
        assert 'id="channel-x"' in queue and "نتایج انتخابات" in queue
        assert 'dir="rtl"' in queue and "You are not permitted" in queue
        post = await (await http.get(f"{site.url}/posts/{site.posts['fa']}")).text()
        assert re.search(r'<textarea[^>]*dir="rtl"', post)
        assert '<span class="limit">280</span>' in post
        english = await (await http.get(f"{site.url}/posts/{site.posts['en']}")).text()
        assert english.count('class="card"') == 3 and 'dir="auto"' in english
        history = await (await http.get(f"{site.url}/history?channel=x")).text()
        assert "403 Forbidden: You are not permitted" in history
        health = await (await http.get(f"{site.url}/health")).text()
        assert health.count("<svg") == 2 and 'class="series-0"' in health
        jump = await http.get(f"{site.url}/deliveries/{held['id']}", allow_redirects=False)
        assert jump.headers["Location"] == f"/posts/{site.posts['en']}#d{held['id']}"
        assert (await http.get(f"{site.url}/posts/999")).status == 404


async def test_whatsapp_share_buttons_link_only_to_wa_me(site: Site) -> None:
    share = site.delivery("en", "wa")
    link = "https://wa.me/?text=Election%20results"
    site.store.finish(share["id"], None, state=DeliveryState.SENT, outcome="sent",
                      remote_id="abc", remote_url=link)
    evil = _add(site.store, "evil", "Evil", channels={"wa": DeliveryState.SCHEDULED})
    evil_id = site.store.deliveries(channel="wa", states=["scheduled"])[0]["id"]
    site.store.finish(evil_id, None, state=DeliveryState.SENT, outcome="sent",
                      remote_id="x", remote_url="javascript:alert(1)")
    http, _ = await logged_in(site)
    async with http:
        queue = await (await http.get(f"{site.url}/")).text()
        assert f'class="button whatsapp" href="{link}"' in queue
        assert "javascript:" not in queue
        post = await (await http.get(f"{site.url}/posts/{evil}")).text()
        assert "javascript:" not in post


async def test_new_posts_show_up_through_the_version_poll(site: Site) -> None:
    http, _ = await logged_in(site)
    async with http:
        before = (await (await http.get(f"{site.url}/api/version")).json())["version"]
        _add(site.store, "en2", "Fresh story", channels={"tg": DeliveryState.SCHEDULED})
        after = (await (await http.get(f"{site.url}/api/version")).json())["version"]
        assert after != before
        fragment = await (await http.get(f"{site.url}/?fragment=1")).text()
        assert "Fresh story" in fragment and "<html" not in fragment
        queue = await (await http.get(f"{site.url}/api/queue")).json()
        assert "Fresh story" in [d["post"]["title"] for d in queue["deliveries"]]


# -- pieces -------------------------------------------------------------------------------------


def test_password_hashes_are_self_describing_scrypt() -> None:
    encoded = hash_password("correct horse", n=2**12)
    assert encoded.startswith("scrypt$4096$8$1$")
    n, r, p, salt, digest = parse_hash(encoded)
    assert (n, r, p, len(salt), len(digest)) == (4096, 8, 1, 16, 32)
    assert verify_password("correct horse", encoded)
    assert not verify_password("correct horsE", encoded)
    assert not verify_password("x", "sha1$abc")
    assert not verify_password("x", "scrypt$3$8$1$AAAA$AAAA")
    assert hash_password("correct horse", n=2**12) != encoded


def test_user_add_prints_a_yaml_entry(monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    import argparse
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    code = cmd_user_add(argparse.Namespace(name="maryam", role="editor",
                                           password_stdin=True))
    out = capsys.readouterr()
    assert code == 0 and "paste under" in out.err
    assert out.out.startswith("  - name: maryam\n    role: editor\n    password_hash: scrypt$")
    [entry] = yaml.safe_load(out.out)
    assert entry["name"] == "maryam" and entry["role"] == "editor"
    assert verify_password("a long enough password", entry["password_hash"])
    assert "a long enough password" not in out.out


def test_options_from_the_config_slice() -> None:
    @dataclass
    class SecretValue:
        value: str
        present: bool = True

        def get(self) -> str:
            return self.value

    @dataclass
    class DashboardSlice:
        listen: str
        secret_key: SecretValue | None
        session_ttl: timedelta = timedelta(hours=1)

    @dataclass
    class UserSlice:
        name: str
        role: str
        password_hash: str

    @dataclass
    class SettingsSlice:
        dashboard: DashboardSlice | None
        users: list[UserSlice]

    options = options_from_settings(SettingsSlice(
        DashboardSlice("0.0.0.0:9090", SecretValue("s" * 40)),
        [UserSlice("ad", "admin", "scrypt$...")]))
    assert (options.host, options.port, options.secret_key) == ("0.0.0.0", 9090, b"s" * 40)
    assert options.users[0].is_admin and not options.loopback
    assert options.session_ttl == timedelta(hours=1)
    default = options_from_settings(SettingsSlice(None, []))
    assert (default.host, default.port, default.secret_key) == ("127.0.0.1", 8080, None)
    assert options_from_settings(SettingsSlice(None, []), listen=":0").port == 0
    assert parse_listen("[::1]:8081") == ("::1", 8081)
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_listen("localhost")


def test_charts_escape_labels_and_scale() -> None:
    days = [START.date() + timedelta(days=i) for i in range(3)]
    svg = stacked_bars("Sent <per> day", days, {"<tg>": [1, 0, 7], "x": [2, 0, 0]})
    assert "<tg>" not in svg and "&lt;tg&gt;" in svg
    assert svg.count("<rect") == 3 + 2  # three bars, two legend keys
    assert ">10</text>" in svg  # 8 at most: the axis goes to 10
    assert "nothing yet" in stacked_bars("Empty", days, {"x": [0, 0, 0]})
