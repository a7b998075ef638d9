"""Password hashes for dashboard users: stdlib scrypt in a self-describing string.

The format ``scrypt$n$r$p$salt_b64$hash_b64`` carries its own cost parameters, so stronger
settings later do not invalidate the hashes admins already pasted into the config.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

#: 2**15 costs about 50-100 ms and 32 MiB per check: slow for guessing, fine for a login.
DEFAULT_N = 2**15
DEFAULT_R = 8
DEFAULT_P = 1
_SALT_BYTES = 16
_KEY_BYTES = 32
#: Bounds on what a hash string may ask for, so a typo cannot make every login take minutes.
_MAX_N = 2**20
_MAX_MEMORY = 256 * 1024 * 1024


class PasswordHashError(ValueError):
    """A ``password_hash`` is not in the ``scrypt$n$r$p$salt$hash`` format."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _derive(password: str, salt: bytes, n: int, r: int, p: int, size: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=min(_MAX_MEMORY, 129 * r * n + 1024 * 1024), dklen=size)


def hash_password(password: str, *, n: int = DEFAULT_N, r: int = DEFAULT_R,
                  p: int = DEFAULT_P) -> str:
    """A new salted hash of ``password`` for the config's ``users:`` list."""
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = _derive(password, salt, n, r, p, _KEY_BYTES)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def parse_hash(encoded: str) -> tuple[int, int, int, bytes, bytes]:
    """Split a hash string into (n, r, p, salt, digest); PasswordHashError says what is wrong."""
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise PasswordHashError("expected scrypt$n$r$p$salt$hash (make one with "
                                "`syndicator user add NAME`)")
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, digest = _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        raise PasswordHashError("scrypt parameters or base64 fields are malformed") from None
    if n < 2 or n & (n - 1) or n > _MAX_N or not 1 <= r <= 32 or not 1 <= p <= 16:
        raise PasswordHashError(f"scrypt cost n={n}, r={r}, p={p} is out of range")
    if len(salt) < 8 or len(digest) < 16:
        raise PasswordHashError("salt or hash is too short")
    return n, r, p, salt, digest


def verify_password(password: str, encoded: str) -> bool:
    """True if ``password`` matches; compares in constant time; False for a malformed hash."""
    try:
        n, r, p, salt, digest = parse_hash(encoded)
    except PasswordHashError:
        return False
    return hmac.compare_digest(_derive(password, salt, n, r, p, len(digest)), digest)


#: Checked for unknown user names so that a wrong name costs as long as a wrong password.
DUMMY_HASH = "scrypt$32768$8$1$c3luZGljYXRvci1kdW1teQ$" + _b64(b"\0" * _KEY_BYTES)
