"""Signed cookies: sessions, the login form's CSRF nonce and one-shot flash messages.

Nothing is stored on the server: a cookie carries its data and an HMAC-SHA256 over it, keyed
per purpose, so a session cookie can never be replayed as a flash cookie or the reverse.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

SESSION_COOKIE = "syn_session"
LOGIN_COOKIE = "syn_login"
FLASH_COOKIE = "syn_flash"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """HMAC-SHA256 signing of small JSON payloads, one derived key per purpose."""

    def __init__(self, key: bytes) -> None:
        if not key:
            raise ValueError("empty signing key")
        self._key = key

    def _mac(self, purpose: str, body: str) -> bytes:
        derived = hmac.new(self._key, b"syndicator-web:" + purpose.encode(),
                           hashlib.sha256).digest()
        return hmac.new(derived, body.encode("ascii"), hashlib.sha256).digest()

    def sign(self, purpose: str, payload: dict[str, Any]) -> str:
        body = _b64(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
        return f"{body}.{_b64(self._mac(purpose, body))}"

    def unsign(self, purpose: str, token: str | None) -> dict[str, Any] | None:
        """The payload if ``token`` was signed by us for ``purpose``; None otherwise."""
        if not token or token.count(".") != 1:
            return None
        body, mac = token.split(".")
        try:
            expected = self._mac(purpose, body)
            if not hmac.compare_digest(expected, _unb64(mac)):
                return None
            data = json.loads(_unb64(body))
        except (ValueError, binascii.Error, UnicodeError):
            return None
        return data if isinstance(data, dict) else None

    def fingerprint(self, secret: str) -> str:
        """A short keyed digest of a secret (a password hash): changes when the secret does."""
        return hmac.new(self._key, b"user:" + secret.encode(), hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in user; ``csrf`` is the token every form and state-changing fetch carries."""

    user: str
    csrf: str
    expires: datetime
    version: str


def new_session(user: str, version: str, now: datetime, ttl: timedelta) -> Session:
    return Session(user=user, csrf=secrets.token_urlsafe(24), expires=now + ttl,
                   version=version)


def dump_session(signer: Signer, session: Session) -> str:
    return signer.sign("session", {"u": session.user, "c": session.csrf,
                                   "e": int(session.expires.timestamp()),
                                   "v": session.version})


def load_session(signer: Signer, token: str | None, now: datetime) -> Session | None:
    """The session in ``token`` if it is ours and not expired."""
    data = signer.unsign("session", token)
    if data is None:
        return None
    try:
        expires = datetime.fromtimestamp(int(data["e"]), tz=now.tzinfo)
        session = Session(user=str(data["u"]), csrf=str(data["c"]), expires=expires,
                          version=str(data["v"]))
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
    return session if session.expires > now else None
