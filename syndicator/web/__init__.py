"""The editors' dashboard: an aiohttp app served by the daemon or by `syndicator web`.

Public surface: ``Dashboard`` (start/stop, async context manager), ``serve``, ``create_app``,
``WebOptions``/``options_from_settings``, and ``hash_password``/``verify_password``.
"""

from __future__ import annotations

from syndicator.web.app import create_app
from syndicator.web.options import User, WebOptions, options_from_settings
from syndicator.web.passwords import hash_password, verify_password
from syndicator.web.server import Dashboard, serve

__all__ = ["Dashboard", "User", "WebOptions", "create_app", "hash_password",
           "options_from_settings", "serve", "verify_password"]
