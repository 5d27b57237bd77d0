"""Shared fixtures: a real private redis-server, and a whole arspay server on free ports."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from ivr.config import Settings, hash_api_key, load_settings
from ivr.redis_process import RedisProcess, free_port
from ivr.store.connect import redis_client

MERCHANT_KEY = "sk_test_merchant_one"
OTHER_MERCHANT_KEY = "sk_test_merchant_two"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path_factory.mktemp("redis"), free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def redis(redis_server: RedisProcess) -> AsyncIterator[Redis]:
    client = redis_client(redis_server.url)
    await client.flushall()
    yield client
    await client.aclose()


def merchant_config(**overrides: Any) -> list[dict[str, Any]]:
    one = {
        "id": "shop1",
        "display_name": "행복상점",
        "api_key_sha256": hash_api_key(MERCHANT_KEY),
        "callback_url": "",
        "callback_secrets": ["whsec_one"],
        "max_installment_months": 12,
        "withheld_callerid": "ask_mobile",
        "english_enabled": True,
    }
    one.update(overrides)
    two = {
        "id": "shop2",
        "display_name": "두번째상점",
        "api_key_sha256": hash_api_key(OTHER_MERCHANT_KEY),
        "withheld_callerid": "refuse",
    }
    return [one, two]


def make_settings(redis_server: RedisProcess, tmp_path: Path, **overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "var_dir": str(tmp_path),
        "log_file": str(tmp_path / "arspay.log"),
        "log_level": "DEBUG",
        "http": {"port": 0},
        "agi": {"port": 0, "sounds_dir": str(tmp_path / "sounds")},
        "redis": {"url": redis_server.url, "managed": False},
        "sms": {"outbox_path": str(tmp_path / "sms-outbox.jsonl"), "echo": False},
        "pg": {"simulator_port": 0, "timeout": 1.0, "simulator_latency": 0.2,
               "simulator_hang": 1.5},
        "requests": {"sweep_interval": 3600},
        "merchants": merchant_config(),
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return load_settings(environ={}, overrides=base)


@dataclass
class RunningServer:
    server: Any
    http: aiohttp.ClientSession
    base_url: str
    tmp_path: Path

    def sms_outbox(self) -> list[dict[str, Any]]:
        path = self.tmp_path / "sms-outbox.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    async def post(
        self,
        path: str,
        body: Any = None,
        *,
        key: str | None = MERCHANT_KEY,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        all_headers = {"Authorization": f"Bearer {key}"} if key else {}
        all_headers.update(headers or {})
        async with self.http.post(self.base_url + path, json=body, headers=all_headers) as resp:
            return resp.status, await resp.json()

    async def get(self, path: str, *, key: str | None = MERCHANT_KEY) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        async with self.http.get(self.base_url + path, headers=headers) as resp:
            return resp.status, await resp.json()


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override per test module to change the server's settings."""
    return {}


@pytest.fixture
async def arspay(
    redis: Redis, redis_server: RedisProcess, tmp_path: Path, settings_overrides: dict[str, Any]
) -> AsyncIterator[RunningServer]:
    from ivr.server import ArsPayServer

    settings = make_settings(redis_server, tmp_path, **settings_overrides)
    server = ArsPayServer(settings)
    await server.start()
    session = aiohttp.ClientSession()
    try:
        yield RunningServer(server, session, f"http://127.0.0.1:{server.http_port}", tmp_path)
    finally:
        await session.close()
        await server.stop()


def payment_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "payment",
        "order_id": "order-1",
        "product_name": "커피 원두 1kg",
        "amount": 28_500,
        "payer_name": "홍길동",
        "payer_phone": "010-1234-5678",
    }
    body.update(overrides)
    return body


async def place_call(
    arspay: RunningServer,
    payer: Any,
    *,
    dialled: str = "16005001",
    caller_id: str | None = "01012345678",
    **kwargs: Any,
) -> Any:
    """The simulated Asterisk places one call to the server's FastAGI port; ``payer`` is a
    Payer or a list of OnPrompt rules."""
    from ivr.agi.payer import Payer
    from ivr.agi.simulator import SimulatedCall

    if isinstance(payer, list):
        payer = Payer.scripted(payer)
    call = SimulatedCall(
        "127.0.0.1", arspay.server.agi_port, dialled=dialled, caller_id=caller_id,
        payer=payer, **kwargs,
    )
    return await call.run()


async def create_request(arspay: RunningServer, **overrides: Any) -> dict[str, Any]:
    status, body = await arspay.post("/v1/ars-requests", payment_body(**overrides))
    assert status == 201, body
    return body
