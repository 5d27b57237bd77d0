"""The long-lived parts of a running server, built once from the settings and passed around."""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.asyncio import Redis

from ivr.ars_requests import ArsRequestService
from ivr.background import BackgroundTasks
from ivr.config import MerchantSettings, Settings
from ivr.store.idempotency import IdempotencyStore
from ivr.store.keys import Keys
from ivr.store.pool import NumberPool
from ivr.store.requests import RequestStore
from pg_client.base import PgClient
from sms.base import SmsSender


@dataclass
class Services:
    settings: Settings
    redis: Redis
    keys: Keys
    pool: NumberPool
    store: RequestStore
    idempotency: IdempotencyStore
    sms: SmsSender
    background: BackgroundTasks
    ars: ArsRequestService
    merchants_by_key_hash: dict[str, MerchantSettings] = field(default_factory=dict)
    pg_clients: dict[str, PgClient] = field(default_factory=dict)

    async def close(self) -> None:
        await self.background.drain()
        await self.sms.close()
        for client in self.pg_clients.values():
            await client.close()
        await self.redis.aclose()


def build_services(
    settings: Settings, redis: Redis, sms: SmsSender, pg_clients: dict[str, PgClient]
) -> Services:
    keys = Keys(settings.redis.key_prefix)
    pool = NumberPool(redis, keys, settings.pool.numbers(), settings.requests.max_ttl * 1000)
    store = RequestStore(redis, keys, pool)
    background = BackgroundTasks()
    return Services(
        settings=settings,
        redis=redis,
        keys=keys,
        pool=pool,
        store=store,
        idempotency=IdempotencyStore(redis, keys),
        sms=sms,
        background=background,
        ars=ArsRequestService(settings, store, pool, sms, background),
        merchants_by_key_hash={m.api_key_sha256: m for m in settings.merchants},
        pg_clients=pg_clients,
    )
