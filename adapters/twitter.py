"""X (Twitter): posts through tweepy's v2 ``Client`` on a requests session this module controls."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
import tweepy
from requests.adapters import HTTPAdapter
from requests_oauthlib import OAuth1
from urllib3.exceptions import ConnectTimeoutError

from syndicator.adapters.base import Adapter
from syndicator.clock import Clock, SystemClock
from syndicator.config import ChannelBase
from syndicator.errors import (
    AuthError,
    DuplicateError,
    PermanentError,
    PublishError,
    RateLimited,
    TransientError,
    UncertainError,
)
from syndicator.model import Account, Limits, Message, Receipt
from syndicator.text import weighted_length

#: The host tweepy 4.17 hard-codes in ``BaseClient.request`` (tweepy/client.py:65).
TWEEPY_HOST = "https://api.twitter.com"
#: X accepts images up to 5 MB (xdevplatform/docs x-api/media/introduction.mdx).
IMAGE_MAX_BYTES = 5 * 1024 * 1024
#: X's rate-limit windows are 15 minutes; used when a 429 carries no reset header.
DEFAULT_RATE_WAIT = 15 * 60.0
#: A monthly usage cap (problem type ``usage-capped``) without headers: look again tomorrow.
DEFAULT_CAP_WAIT = 24 * 3600.0
OAUTH1_KEYS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
PLATFORM = "twitter"


def classify_x_error(
    status: int, headers: Mapping[str, str], body: Any, *, now: float
) -> PublishError:
    """Map one X API v2 error response to what the publisher should do.

    ``body`` is the decoded JSON (a problem ``{title, detail, type, status}`` or
    ``{errors: [...]}``), or None. ``now`` is the Unix time used for ``x-rate-limit-reset``.

    403 is split by its body: X names duplicate posts in ``detail`` and app or account problems
    in ``type``/``detail`` (``oauth1-permissions``, ``client-forbidden``,
    ``unsupported-authentication``, suspended or locked accounts): those are AuthError because
    every later post would fail the same way. Other 403s, such as the bare "You are not
    permitted to perform this action." that X also gives for over-long posts and reply
    restrictions, concern this post only and are PermanentError.
    """
    h = {k.lower(): v for k, v in headers.items()}
    detail = _detail(body)
    problem = str(body.get("type", "")) if isinstance(body, dict) else ""
    text = f"X answered HTTP {status}: {detail}" if detail else f"X answered HTTP {status}"
    kw: dict[str, Any] = {"platform": PLATFORM, "status": status, "code": problem or None}
    low = detail.lower()
    if status == 429:
        capped = problem.endswith("/usage-capped")
        wait = _retry_after(h, now, DEFAULT_CAP_WAIT if capped else DEFAULT_RATE_WAIT)
        return RateLimited(text, retry_after=wait, **kw)
    if status == 401:
        return AuthError(
            text + " (check the consumer key/secret and access token/secret; an OAuth 2.0 "
            "user token expires after 2 hours unless refreshed)", **kw)
    if status == 403:
        if "duplicate content" in low:
            return DuplicateError(text, **kw)
        if "reply" not in low and (
            problem.rsplit("/", 1)[-1] in _AUTH_PROBLEMS or any(w in low for w in _AUTH_WORDS)
        ):
            return AuthError(
                text + " (give the app Read and write permission, then regenerate the access "
                "token; old tokens keep the old permission)", **kw)
        return PermanentError(text, **kw)
    if status == 402:
        # Pay-per-use accounts without credit: every post would fail until someone pays.
        return AuthError(text + " (the X developer account has no credit left)", **kw)
    if status >= 500:
        return TransientError(text, **kw)
    return PermanentError(text, **kw)


_AUTH_PROBLEMS = {"oauth1-permissions", "client-forbidden", "unsupported-authentication"}
_AUTH_WORDS = ("app permissions", "write permission", "suspended", "locked",
               "attached to a project", "access level")


def _detail(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    for key in ("detail", "title", "error"):
        if isinstance(body.get(key), str) and body[key]:
            return str(body[key])
    errors = body.get("errors")
    if isinstance(errors, list):
        return "; ".join(str(e.get("message", e)) for e in errors if isinstance(e, dict))
    return ""


def _retry_after(h: Mapping[str, str], now: float, default: float) -> float:
    """Seconds until X lets us post again: the 15-minute window, or a spent 24-hour quota."""
    waits = []
    reset = _number(h.get("x-rate-limit-reset"))
    if reset is not None:
        waits.append(reset - now)
    # tweepy ignores the daily caps (platforms.md 1.4); when one is spent, its reset wins.
    for scope in ("user", "app"):
        if h.get(f"x-{scope}-limit-24hour-remaining", "").strip() == "0":
            daily = _number(h.get(f"x-{scope}-limit-24hour-reset"))
            if daily is not None:
                waits.append(daily - now)
    seconds = _number(h.get("retry-after"))
    if seconds is not None:
        waits.append(seconds)
    return max(1.0, max(waits)) if waits else default


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def classify_transport_error(exc: requests.RequestException, *, creates: bool) -> PublishError:
    """No HTTP answer: before the request left (always transient) or after it was sent.

    After sending, a call that ``creates`` something may have done so (UncertainError); a
    read-only call is simply worth repeating (TransientError).
    """
    name = type(exc).__name__
    if _before_sending(exc):
        return TransientError(f"could not reach X ({name})", platform=PLATFORM)
    if creates:
        return UncertainError(
            f"X did not answer after the post was sent ({name}); it may exist",
            platform=PLATFORM)
    return TransientError(f"X did not answer ({name})", platform=PLATFORM)


def _before_sending(exc: requests.RequestException) -> bool:
    if isinstance(exc, requests.ConnectTimeout | requests.exceptions.SSLError
                  | requests.exceptions.ProxyError | requests.exceptions.InvalidURL):
        return True
    if isinstance(exc, requests.ConnectionError) and exc.args:
        reason = getattr(exc.args[0], "reason", exc.args[0])
        # urllib3: NewConnectionError and NameResolutionError are ConnectTimeoutErrors.
        return isinstance(reason, ConnectTimeoutError)
    return False


class XTransport(HTTPAdapter):
    """Sends tweepy's requests to the configured endpoint, with a timeout.

    tweepy 4.17's ``Client`` hard-codes ``https://api.twitter.com`` and calls
    ``session.request`` without ``timeout=`` (tweepy/client.py:65, 84-87), so a stalled
    socket would hold a worker thread for ever. This transport is mounted on the one session
    each adapter owns (no module globals, so channels never affect each other); it rewrites the
    host when the channel names another endpoint and re-signs OAuth 1.0a requests, because the
    signature covers the URL (RFC 5849 3.4.1.2).
    """

    def __init__(self, base_url: str, timeout: float, oauth1: OAuth1 | None) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.oauth1 = oauth1

    def send(
        self, request: requests.PreparedRequest, stream: bool = False,
        timeout: Any = None, verify: Any = True, cert: Any = None, proxies: Any = None,
    ) -> requests.Response:
        url = request.url or ""
        if self.base_url != TWEEPY_HOST and url.startswith(TWEEPY_HOST + "/"):
            request.url = self.base_url + url[len(TWEEPY_HOST):]
            signed = request.headers.get("Authorization", b"")
            if isinstance(signed, str):
                signed = signed.encode("latin-1")
            if self.oauth1 is not None and signed.startswith(b"OAuth "):
                del request.headers["Authorization"]
                request = self.oauth1(request)
        return super().send(request, stream=stream,
                            timeout=self.timeout if timeout is None else timeout,
                            verify=verify, cert=cert, proxies=proxies)


class TwitterAdapter(Adapter):
    """Posts to one X account with OAuth 1.0a user keys, or an OAuth 2.0 user token.

    Blocking tweepy calls run in a worker thread; each call makes one attempt.
    """

    platform = PLATFORM
    default_api_url = TWEEPY_HOST
    limits = Limits(max_length=280, counting="x-weighted", media=True)

    @classmethod
    def measure(cls, text: str) -> int:
        """Weighted length (twitter-text v3): what X compares with 280."""
        return weighted_length(text)

    def __init__(self, channel: ChannelBase, *, clock: Clock | None = None) -> None:
        super().__init__(channel)
        self._clock = clock or SystemClock()
        self._timeout = channel.timeout.total_seconds()
        self._lock = threading.Lock()
        self._client: tweepy.Client | None = None
        self._oauth1: OAuth1 | None = None
        self._bearer: str | None = None
        self._user_id: str | None = None
        self._downloads = requests.Session()

    # -- the interface --------------------------------------------------------------------

    async def publish(self, message: Message) -> Receipt:
        """Post ``message`` (with its image when one can be fetched) once.

        Raises RateLimited, AuthError, DuplicateError, PermanentError, TransientError, or
        UncertainError when the request was sent but no answer came.
        """
        return await asyncio.to_thread(self._publish, message)

    async def verify(self) -> Account:
        """``GET /2/users/me``: the account the credentials post as."""
        return await asyncio.to_thread(self._verify)

    async def find_existing(self, message: Message) -> Receipt | None:
        """Look for ``message.link`` (else its text) among the account's 20 latest posts."""
        return await asyncio.to_thread(self._find_existing, message)

    async def close(self) -> None:
        if self._client is not None:
            self._client.session.close()
        self._downloads.close()

    # -- blocking work ----------------------------------------------------------------------

    def _publish(self, message: Message) -> Receipt:
        client, user_auth = self._session()
        media_ids: list[str] = []
        note = ""
        if message.image:
            media_id, note = self._attach(message.image)
            if media_id:
                media_ids.append(media_id)
        response = self._call(
            lambda: client.create_tweet(text=message.text, media_ids=media_ids or None,
                                        user_auth=user_auth), creates=True)
        data = response.data if isinstance(response, tweepy.Response) else None
        tweet_id = str(data.get("id") or "") if isinstance(data, dict) else ""
        if not tweet_id:
            raise UncertainError("X accepted the post but its answer carries no id",
                                 platform=PLATFORM)
        return Receipt(remote_id=tweet_id, url=f"https://x.com/i/web/status/{tweet_id}",
                       note=note)

    def _verify(self) -> Account:
        client, user_auth = self._session()
        response = self._call(lambda: client.get_me(user_auth=user_auth), creates=False)
        user = response.data
        if user is None:
            raise PermanentError("X answered /2/users/me without a user", platform=PLATFORM)
        self._user_id = str(user.id)
        return Account(id=str(user.id), name=f"@{user.username}",
                       url=f"https://x.com/{user.username}")

    def _find_existing(self, message: Message) -> Receipt | None:
        client, user_auth = self._session()
        if self._user_id is None:
            self._verify()
        response = self._call(
            lambda: client.get_users_tweets(self._user_id, max_results=20,
                                            tweet_fields=["entities"], user_auth=user_auth),
            creates=False)
        for tweet in response.data or ():
            if _matches(message, tweet.text or "", _tweet_urls(tweet.entities)):
                return Receipt(remote_id=str(tweet.id),
                               url=f"https://x.com/i/web/status/{tweet.id}",
                               note="found among recent posts")
        return None

    def _call(self, fn: Callable[[], Any], *, creates: bool) -> Any:
        try:
            return fn()
        except tweepy.HTTPException as exc:
            raise self._http_error(exc.response) from None
        except requests.exceptions.JSONDecodeError:
            raise (UncertainError if creates else TransientError)(
                "X answered with a body that is not JSON", platform=PLATFORM) from None
        except requests.RequestException as exc:
            raise classify_transport_error(exc, creates=creates) from None

    def _http_error(self, response: requests.Response) -> PublishError:
        try:
            body = response.json()
        except ValueError:
            body = None
        now = self._clock.now().timestamp()
        error = classify_x_error(response.status_code, response.headers, body, now=now)
        error.message = self._scrub(error.message)
        error.args = (error.message,)
        return error

    def _session(self) -> tuple[tweepy.Client, bool]:
        """The tweepy client, built on first use so a missing env var is an AuthError here."""
        with self._lock:
            if self._client is not None:
                return self._client, self._oauth1 is not None
            creds = self.channel.credentials
            try:
                if all(k in creds for k in OAUTH1_KEYS):
                    ck, cs, at, ats = (self.secret(k) for k in OAUTH1_KEYS)
                    client = tweepy.Client(consumer_key=ck, consumer_secret=cs,
                                           access_token=at, access_token_secret=ats)
                    self._oauth1 = OAuth1(ck, cs, at, ats)
                else:
                    self._bearer = self.secret("bearer_token")
                    client = tweepy.Client(bearer_token=self._bearer)
            except KeyError as exc:
                raise AuthError(f"X credentials missing: {exc.args[0]}",
                                platform=PLATFORM) from None
            transport = XTransport(self.api_url, self._timeout, self._oauth1)
            client.session.mount("https://", transport)
            client.session.mount("http://", transport)
            self._client = client
            return client, self._oauth1 is not None

    def _attach(self, image_url: str) -> tuple[str | None, str]:
        """Upload the image; (None, why) when it cannot be fetched or X refuses the file."""
        try:
            content, mime = self._download(image_url)
        except _Skip as why:
            return None, f"image skipped: {why}"
        client, _ = self._session()
        auth = self._oauth1
        headers = {} if auth else {"Authorization": f"Bearer {self._bearer}"}
        name = urlsplit(image_url).path.rsplit("/", 1)[-1] or "image"
        try:
            # tweepy has no v2 media upload (platforms.md 1.2); v1.1 upload is retired.
            response = client.session.post(
                f"{self.api_url}/2/media/upload", auth=auth, headers=headers,
                files={"media": (name, content, mime)}, data={"media_category": "tweet_image"})
        except requests.RequestException as exc:
            # Nothing is published by an upload, so no answer is only worth a retry.
            raise classify_transport_error(exc, creates=False) from None
        if response.status_code in (400, 413, 415, 422):
            return None, f"image skipped: X refused the file (HTTP {response.status_code})"
        if not response.ok:
            raise self._http_error(response)
        try:
            media_id = str(response.json()["data"]["id"])
        except (ValueError, KeyError, TypeError):
            return None, "image skipped: X's upload answer carries no media id"
        return media_id, ""

    def _download(self, url: str) -> tuple[bytes, str]:
        if urlsplit(url).scheme not in ("http", "https"):
            raise _Skip("only http(s) images are fetched")
        try:
            with self._downloads.get(url, stream=True, timeout=self._timeout) as response:
                if response.status_code != 200:
                    raise _Skip(f"HTTP {response.status_code} from the image host")
                mime = response.headers.get("Content-Type", "").split(";")[0].strip()
                if not mime.startswith("image/"):
                    raise _Skip(f"not an image ({mime or 'no content type'})")
                declared = _number(response.headers.get("Content-Length"))
                if declared is not None and declared > IMAGE_MAX_BYTES:
                    raise _Skip("larger than X's 5 MB image limit")
                chunks, size = [], 0
                for chunk in response.iter_content(64 * 1024):
                    size += len(chunk)
                    if size > IMAGE_MAX_BYTES:
                        raise _Skip("larger than X's 5 MB image limit")
                    chunks.append(chunk)
                return b"".join(chunks), mime
        except requests.RequestException as exc:
            raise _Skip(f"download failed ({type(exc).__name__})") from None

    def _scrub(self, text: str) -> str:
        for value in self._secret_values():
            text = text.replace(value, "***")
        return text

    def _secret_values(self) -> Iterable[str]:
        for secret in self.channel.credentials.values():
            if secret.present:
                yield secret.get()


class _Skip(Exception):
    """An image that will not be attached; the post goes out without it."""


def _tweet_urls(entities: Any) -> list[str]:
    urls = []
    for entry in (entities or {}).get("urls", []) if isinstance(entities, dict) else []:
        for key in ("expanded_url", "unwound_url", "url"):
            if isinstance(entry.get(key), str):
                urls.append(entry[key])
    return urls


def _matches(message: Message, text: str, urls: list[str]) -> bool:
    if message.link:
        wanted = _norm(message.link)
        return any(_norm(u) == wanted for u in urls) or message.link in text
    return text.strip() == message.text.strip()


def _norm(url: str) -> str:
    return url.strip().rstrip("/")
