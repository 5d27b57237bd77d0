"""Outbox test kit: a merchant's callback receiver on a real local port, a payer who pays by
phone, quick retry settings, and a way to wait for things without sleeping seconds."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from redis.asyncio import Redis

from ivr.agi.payer import Keys, OnPrompt, Payer
from ivr.config import Settings
from ivr.outbox.webhooks import WebhookVerificationError, verify_signature
from ivr.outbox.worker import OutboxWorker
from ivr.redis_process import RedisProcess, free_port
from ivr.services import Services, build_services
from pg_client.simulator.cards import APPROVE
from sms.outbox import OutboxSender
from tests.conftest import RunningServer, create_request, make_settings, place_call

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
CARD = APPROVE
PIN = "47"
BIRTHDATE = "880229"

# Retries in tens of milliseconds; takeover of a dead worker's entries after 0.3 s.
FAST_OUTBOX: dict[str, Any] = {
    "retry_schedule": [0.02, 0.04, 0.06, 0.08],
    "jitter": 0.1,
    "request_timeout": 0.25,
    "claim_idle_seconds": 0.3,
    "poll_interval": 0.05,
    "sms_max_attempts": 2,
}


async def eventually(
    check: Callable[[], Awaitable[bool]] | Callable[[], bool], timeout: float = 5.0
) -> None:
    """Poll ``check`` every 10 ms until it holds; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


@dataclass
class Received:
    webhook_id: str
    timestamp: str
    body: bytes
    answered: int
    verify_error: str | None


@dataclass
class CallbackReceiver:
    """A merchant's endpoint: verifies signatures, dedupes on webhook-id, applies each message
    once. It can be told to answer 500 a number of times, to be down, or to hold requests."""

    secrets: list[str]
    port: int = 0
    received: list[Received] = field(default_factory=list)
    applied: dict[str, dict[str, Any]] = field(default_factory=dict)
    apply_order: list[str] = field(default_factory=list)
    failures_left: int = 0
    failure_status: int = 500
    hold: asyncio.Event | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/arspay"

    async def up(self) -> None:
        app = web.Application()
        app.router.add_post("/hooks/arspay", self._handle)
        self._runner = web.AppRunner(app, handler_cancellation=True)
        await self._runner.setup()
        if not self.port:
            self.port = free_port()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()

    async def down(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def fail_next(self, times: int, status: int = 500) -> None:
        self.failures_left = times
        self.failure_status = status

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        webhook_id = request.headers.get("webhook-id", "")
        self.arrived.set()
        if self.hold is not None:
            await self.hold.wait()
        try:
            payload = verify_signature(body, request.headers, self.secrets)
        except WebhookVerificationError as exc:
            self._note(webhook_id, request, body, 401, str(exc))
            return web.json_response({"error": str(exc)}, status=401)
        if self.failures_left > 0:
            self.failures_left -= 1
            self._note(webhook_id, request, body, self.failure_status, None)
            return web.json_response({"error": "busy"}, status=self.failure_status)
        if webhook_id not in self.applied:  # dedupe: at-least-once in, exactly-once applied
            self.applied[webhook_id] = payload
            self.apply_order.append(webhook_id)
        self._note(webhook_id, request, body, 200, None)
        return web.json_response({"ok": True})

    def _note(
        self, webhook_id: str, request: web.Request, body: bytes, status: int, error: str | None
    ) -> None:
        self.received.append(
            Received(webhook_id, request.headers.get("webhook-timestamp", ""), body, status, error)
        )

    def payloads(self, status: str | None = None) -> list[dict[str, Any]]:
        found = [self.applied[w] for w in self.apply_order]
        return [p for p in found if status is None or p["data"]["status"] == status]


@pytest.fixture
async def receiver() -> AsyncIterator[CallbackReceiver]:
    hook = CallbackReceiver(secrets=[SECRET])
    await hook.up()
    try:
        yield hook
    finally:
        if hook.hold is not None:
            hook.hold.set()
        await hook.down()


@pytest.fixture
def settings_overrides(receiver: CallbackReceiver) -> dict[str, Any]:
    """The running server calls the receiver back, with quick retries."""
    from tests.conftest import merchant_config

    return {
        "outbox": FAST_OUTBOX,
        "merchants": merchant_config(callback_url=receiver.url, callback_secrets=[SECRET]),
    }


def worker_settings(
    redis_server: RedisProcess, tmp_path: Path, receiver: CallbackReceiver, **outbox: Any
) -> Settings:
    from tests.conftest import merchant_config

    return make_settings(
        redis_server,
        tmp_path,
        outbox={**FAST_OUTBOX, **outbox},
        merchants=merchant_config(callback_url=receiver.url, callback_secrets=[SECRET]),
    )


@pytest.fixture
async def services(
    redis: Redis, redis_server: RedisProcess, tmp_path: Path, receiver: CallbackReceiver
) -> AsyncIterator[Services]:
    """The server's parts without the servers, for driving outbox workers by hand."""
    from ivr.store.connect import redis_client

    settings = worker_settings(redis_server, tmp_path, receiver)
    sms = OutboxSender(tmp_path / "sms-outbox.jsonl", echo=False)
    built = build_services(settings, redis_client(redis_server.url), sms, {})
    try:
        yield built
    finally:
        await built.close()


def make_worker(
    services: Services, consumer: str, settings: Settings | None = None
) -> OutboxWorker:
    return OutboxWorker(
        redis=services.redis,
        keys=services.keys,
        store=services.store,
        settings=settings or services.settings,
        sms=services.sms,
        consumer=consumer,
    )


def paying_payer(card: str = CARD) -> Payer:
    return Payer.scripted([
        OnPrompt("confirm", Keys("1")),
        OnPrompt("card_number", Keys(card + "#")),
        OnPrompt("expiry", Keys("1230")),
        OnPrompt("identity", Keys(BIRTHDATE + "#")),
        OnPrompt("pin", Keys(PIN)),
        OnPrompt("readback.*", Keys("1")),
    ])  # fmt: skip


async def pay_by_phone(arspay: RunningServer, **overrides: Any) -> dict[str, Any]:
    """Create a request and have the payer call and pay it; returns the approved request."""
    overrides.setdefault("delivery", "display")
    created = await create_request(arspay, **overrides)
    dialled = created["virtual_number"]["display"].replace("-", "")
    caller = overrides.get("payer_phone", "010-1234-5678").replace("-", "")
    await place_call(arspay, paying_payer(), dialled=dialled, caller_id=caller)
    status, got = await arspay.get(f"/v1/ars-requests/{created['id']}")
    assert status == 200 and got["status"] == "approved", got
    return got


async def deliveries_of(arspay: RunningServer, request_id: str) -> list[dict[str, Any]]:
    status, body = await arspay.get(f"/v1/ars-requests/{request_id}/deliveries")
    assert status == 200, body
    return body["items"]


def sms_of(arspay: RunningServer, kind: str) -> list[dict[str, Any]]:
    return [m for m in arspay.sms_outbox() if m["kind"] == kind]


def decode(received: Received) -> dict[str, Any]:
    return json.loads(received.body)
