"""One running arspay: Redis (managed or external), the HTTP API, the FastAGI server, the PG
simulator when configured, and the housekeeping loop. Used by the CLI and by the tests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiohttp import web

from ivr.agi.connection import AgiLimits
from ivr.agi.server import AgiCall, AgiServer
from ivr.api.app import create_app
from ivr.config import Settings
from ivr.flows.context import FlowDeps
from ivr.flows.entry import handle_ars_call
from ivr.outbox.worker import OutboxWorker, default_consumer_name
from ivr.reconcile import reconcile_authorizing
from ivr.redis_process import RedisProcess
from ivr.services import Services, build_services
from ivr.store.connect import redis_client
from pg_client.base import PgClient
from pg_client.factory import build_pg_client
from pg_client.simulator.app import start_simulator
from prompts.build import missing_prompts
from prompts.dynamic import DynamicPrompts
from sms.factory import build_sms_sender

log = logging.getLogger(__name__)

# An authorization older than this with no answer recorded is the reconciler's to resolve
# (a live one lasts at most the PG timeout plus the recovery look-ups).
RECONCILE_AFTER_SECONDS = 120


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel a task and wait for it to end. The cancellation is repeated: redis-py can swallow
    one that lands while it opens a connection, and the task would then sleep on."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.1)
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.result()


class ArsPayServer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.redis_process: RedisProcess | None = None
        self.services: Services | None = None
        self.agi: AgiServer | None = None
        self.flow_deps: FlowDeps | None = None
        self.pg_simulator: web.AppRunner | None = None
        self.pg_simulator_url: str = ""
        self._http_runner: web.AppRunner | None = None
        self._housekeeping: asyncio.Task[None] | None = None
        self.outbox: OutboxWorker | None = None
        self.http_port: int = 0

    @property
    def redis_url(self) -> str:
        if self.redis_process is not None:
            return self.redis_process.url
        return self.settings.redis.url

    @property
    def agi_port(self) -> int:
        return self.agi.port if self.agi is not None else 0

    async def start(self) -> None:
        settings = self.settings
        if settings.agi.enabled and settings.agi.check_prompts:
            missing = missing_prompts(settings.path(settings.agi.sounds_dir), ("ko", "en"))
            if missing:
                raise RuntimeError(
                    f"{len(missing)} prompt files are missing in {settings.agi.sounds_dir} "
                    f"(first: {missing[0]}); run: arspay prompts build"
                )
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
            settings.sms.model_dump(),
            outbox_path=settings.path(settings.sms.outbox_path),
        )
        pg_clients = await self._start_pg()
        self.services = build_services(settings, redis, sms, pg_clients)
        await self._start_http()
        if settings.outbox.enabled:
            await self._start_outbox()
        if settings.agi.enabled:
            await self._start_agi()
        self._housekeeping = asyncio.create_task(self._housekeeping_loop(), name="housekeeping")

    async def _start_pg(self) -> dict[str, PgClient]:
        settings = self.settings
        toss: dict[str, Any] = {"timeout": settings.pg.timeout, **settings.pg.toss}
        if settings.pg.simulator:
            self.pg_simulator, self.pg_simulator_url = await start_simulator(
                settings.pg.simulator_host,
                settings.pg.simulator_port,
                secret_key=toss.get("secret_key") or "test_sk_arspay_simulator",
                latency_delay=settings.pg.simulator_latency,
                hang_delay=settings.pg.simulator_hang,
            )
            toss.update(base_url=self.pg_simulator_url,
                        secret_key=toss.get("secret_key") or "test_sk_arspay_simulator")
            log.info("PG simulator (Toss Payments wire format) on %s", self.pg_simulator_url)
        clients: dict[str, PgClient] = {}
        wanted = {m.pg for m in settings.merchants}
        for kind in sorted(wanted):
            options = toss if kind == "toss" else {"timeout": settings.pg.timeout,
                                                   **settings.pg.portone}
            clients[kind] = build_pg_client(kind, options)
        return clients

    async def _start_http(self) -> None:
        assert self.services is not None
        settings = self.settings
        self._http_runner = web.AppRunner(create_app(self.services), access_log=None)
        await self._http_runner.setup()
        site = web.TCPSite(self._http_runner, settings.http.host, settings.http.port)
        await site.start()
        self.http_port = int(self._http_runner.addresses[0][1])
        log.info("HTTP API on http://%s:%d", settings.http.host, self.http_port)

    async def _start_outbox(self) -> None:
        assert self.services is not None
        services = self.services
        self.outbox = OutboxWorker(
            redis=services.redis,
            keys=services.keys,
            store=services.store,
            settings=self.settings,
            sms=services.sms,
            consumer=self.settings.outbox.consumer or default_consumer_name(self.http_port),
        )
        await self.outbox.start()

    async def _start_agi(self) -> None:
        assert self.services is not None
        agi = self.settings.agi
        self.flow_deps = FlowDeps(
            services=self.services,
            pg_clients=self.services.pg_clients,
            dynamic_prompts=DynamicPrompts(self.settings.path(agi.sounds_dir)),
        )
        deps = self.flow_deps

        async def ars(call: AgiCall) -> None:
            await handle_ars_call(call.channel, deps, call.args)

        limits = AgiLimits(idle_timeout=agi.idle_timeout, max_call_seconds=agi.max_call_seconds)
        self.agi = AgiServer({"ars": ars}, agi.host, agi.port, limits,
                             sound_prefix=agi.sound_prefix)
        await self.agi.start()

    async def _housekeeping_loop(self) -> None:
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
        """Expire due requests, release calls of dead workers, reconcile stuck authorizations.

        Only authorizations older than any live PG call can be are reconciled: another worker
        may still be waiting for the PG on a younger one."""
        assert self.services is not None
        expired = await self.services.ars.expire_due()
        released = await self.services.ars.release_stale_calls()
        if expired or released:
            log.info("housekeeping: %d expired, %d stale calls released", expired, released)
        await reconcile_authorizing(
            self.settings,
            self.services.ars,
            self.services.pg_clients,
            older_than_ms=int(max(RECONCILE_AFTER_SECONDS, self.settings.pg.timeout * 6) * 1000),
        )

    async def stop(self) -> None:
        if self._housekeeping is not None:
            await cancel_and_wait(self._housekeeping)
        if self.agi is not None:
            await self.agi.stop(grace=self.settings.agi.shutdown_grace)
        if self._http_runner is not None:
            await self._http_runner.cleanup()
        if self.outbox is not None:
            await self.outbox.stop()
        if self.services is not None:
            await self.services.close()
        if self.pg_simulator is not None:
            await self.pg_simulator.cleanup()
        if self.redis_process is not None:
            await self.redis_process.astop()
