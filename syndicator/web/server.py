"""Start and stop the dashboard: inside the daemon (same loop, same store) or on its own.

``async with Dashboard(config, store=daemon.store):`` in the daemon;
``await serve(config, stop)`` for `syndicator web`, until ``stop`` is set.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from types import TracebackType

from aiohttp import web

from syndicator.clock import Clock
from syndicator.config import LoadedConfig
from syndicator.store.store import Store
from syndicator.web.app import create_app
from syndicator.web.options import WebOptions, options_from_settings

log = logging.getLogger("syndicator.web")


class Dashboard:
    """The dashboard's HTTP server; ``url`` is known after ``start()`` (port 0 picks one)."""

    def __init__(self, config: LoadedConfig, *, store: Store | None = None,
                 options: WebOptions | None = None, clock: Clock | None = None) -> None:
        self.config = config
        self.options = options or options_from_settings(config.settings)
        self.clock = clock
        self._store = store
        self._own_store = store is None
        self._runner: web.AppRunner | None = None
        self.port = self.options.port

    @property
    def url(self) -> str:
        host = self.options.host
        return f"http://{'[' + host + ']' if ':' in host else host}:{self.port}"

    @property
    def app(self) -> web.Application:
        """The running application (its router lists every route)."""
        if self._runner is None:
            raise RuntimeError("the dashboard is not running")
        return self._runner.app

    async def start(self) -> str:
        """Bind and serve; returns the URL. Raises OSError if the address is taken."""
        store = self._store
        if store is None:
            store = await asyncio.to_thread(Store.open, self.config.storage_url,
                                            clock=self.clock)
            self._store = store
        key = self.options.secret_key
        if key is None:
            key = secrets.token_bytes(32)
            log.warning("dashboard: no dashboard.secret_key in the config: using a random key "
                        "for this process, so restarting logs everyone out")
        if not self.options.users:
            log.warning("dashboard: no users in the config: nobody can log in (add one with "
                        "`syndicator user add NAME --role admin`)")
        if not self.options.loopback:
            log.warning("dashboard: listening on %s, reachable from other machines; put it "
                        "behind HTTPS", self.options.host)
        app = create_app(self.config, store, self.options, secret_key=key, clock=self.clock)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.options.host, self.options.port)
        try:
            await site.start()
        except OSError:
            await self.stop()
            raise
        addresses = self._runner.addresses
        if addresses:
            self.port = int(addresses[0][1])
        log.info("dashboard at %s/ (%d user(s))", self.url, len(self.options.users))
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._own_store and self._store is not None:
            self._store.close()
            self._store = None

    async def __aenter__(self) -> Dashboard:
        await self.start()
        return self

    async def __aexit__(self, et: type[BaseException] | None, ev: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()


async def serve(config: LoadedConfig, stop: asyncio.Event, *, store: Store | None = None,
                options: WebOptions | None = None, clock: Clock | None = None) -> None:
    """Serve the dashboard until ``stop`` is set."""
    async with Dashboard(config, store=store, options=options, clock=clock):
        await stop.wait()
