"""One running arspay: Redis (managed or external), the HTTP API, the FastAGI server, the PG
simulator when configured, and the housekeeping loop. Used by the CLI and by the tests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from aiohttp import web

from ivr.api.app import create_app
from ivr.config import Settings
from ivr.redis_process import RedisProcess
from ivr.services import Services, build_services
from ivr.store.connect import redis_client
from sms.factory import build_sms_sender

log = logging.getLogger(__name__)


class ArsPayServer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.redis_process: RedisProcess | None = None
        self.services: Services | None = None
        self._http_runner: web.AppRunner | None = None
        self._housekeeping: asyncio.Task[None] | None = None
        self.http_port: int = 0

    @property
    def redis_url(self) -> str:
        if self.redis_process is not None:
            return self.redis_process.url
        return self.settings.redis.url

    async def start(self) -> None:
        settings = self.settings
        if not settings.redis.url:
            if not settings.redis.managed:
                raise RuntimeError("redis.url is empty and redis.managed is false")
            self.redis_process = RedisProcess(
                settings.path(settings.redis.data_dir), settings.redis.port
            )
            await self.redis_process.astart()
            log.info(
                "private redis-server on port %d (AOF on, data in %s)",
                self.redis_process.port,
                self.redis_process.data_dir,
            )
        redis = redis_client(self.redis_url, max_connections=settings.redis.max_connections)
        await redis.ping()
        sms = build_sms_sender(
            settings.sms.sender,
            {**settings.sms.model_dump(), **getattr(settings.sms, settings.sms.sender, {})}
            if settings.sms.sender != "outbox"
            else settings.sms.model_dump(),
            outbox_path=settings.path(settings.sms.outbox_path),
        )
        self.services = build_services(settings, redis, sms)
        app = create_app(self.services)
        self._http_runner = web.AppRunner(app, access_log=None)
        await self._http_runner.setup()
        site = web.TCPSite(self._http_runner, settings.http.host, settings.http.port)
        await site.start()
        self.http_port = self._bound_port(self._http_runner)
        self._housekeeping = asyncio.create_task(self._housekeeping_loop(), name="housekeeping")
        log.info("HTTP API on http://%s:%d", settings.http.host, self.http_port)

    @staticmethod
    def _bound_port(runner: web.AppRunner) -> int:
        for server in runner.sites:
            sockets = getattr(server._server, "sockets", None)
            if sockets:
                return int(sockets[0].getsockname()[1])
        raise RuntimeError("the HTTP site has no socket")

    async def _housekeeping_loop(self) -> None:
        assert self.services is not None
        interval = self.settings.requests.sweep_interval
        while True:
            try:
                await self.housekeeping_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("housekeeping failed; trying again in %.0fs", interval)
            await asyncio.sleep(interval)

    async def housekeeping_once(self) -> None:
        assert self.services is not None
        expired = await self.services.ars.expire_due()
        released = await self.services.ars.release_stale_calls()
        if expired or released:
            log.info("housekeeping: %d expired, %d stale calls released", expired, released)

    async def stop(self) -> None:
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
        if self._http_runner is not None:
            await self._http_runner.cleanup()
        if self.services is not None:
            await self.services.close()
        if self.redis_process is not None:
            await self.redis_process.astop()

    async def serve_forever(self, stop: asyncio.Event) -> None:
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()


def var_path(settings: Settings, name: str) -> Path:
    return settings.path(settings.var_dir) / name
