"""The virtual-number pool: one DID per (DID, payer phone) pair, allocated atomically."""

from __future__ import annotations

import random
from collections.abc import Sequence

from redis.asyncio import Redis

from ivr.store.keys import Keys
from ivr.store.scripts import ALLOCATE, DELETE_IF_EQUAL


class PoolExhausted(Exception):
    """Every DID of the pool is already pending for this phone."""

    def __init__(self, phone_pending: int) -> None:
        super().__init__(f"every virtual number is in use for this phone ({phone_pending} pending)")
        self.phone_pending = phone_pending


class NumberPool:
    def __init__(self, redis: Redis, keys: Keys, dids: Sequence[str], max_ttl_ms: int) -> None:
        if not dids:
            raise ValueError("the virtual-number pool is empty")
        self._redis = redis
        self._keys = keys
        self.dids = list(dids)
        self._max_ttl_ms = max_ttl_ms
        self._allocate = redis.register_script(ALLOCATE)
        self._delete_if_equal = redis.register_script(DELETE_IF_EQUAL)

    def _slot_keys(self, phone: str) -> list[str]:
        return [self._keys.did_slot(phone, did) for did in self.dids]

    async def allocate(self, phone: str, request_id: str, ttl_ms: int) -> str:
        """Take a free DID for ``phone``, held for ``ttl_ms``; raise PoolExhausted if none."""
        keys = [self._keys.pool_cursor(phone), *self._slot_keys(phone)]
        seed = random.randrange(len(self.dids))
        index = await self._allocate(
            keys=keys, args=[request_id, ttl_ms, seed, self._max_ttl_ms + 60_000]
        )
        if int(index) < 0:
            raise PoolExhausted(await self.pending_count(phone))
        return self.dids[int(index)]

    async def release(self, phone: str, did: str, request_id: str) -> bool:
        return bool(
            await self._delete_if_equal(keys=[self._keys.did_slot(phone, did)], args=[request_id])
        )

    async def lookup(self, did: str, phone: str) -> str | None:
        """The request id pending on (dialled DID, caller phone), if any."""
        return await self._redis.get(self._keys.did_slot(phone, did))

    async def pending_count(self, phone: str) -> int:
        return int(await self._redis.exists(*self._slot_keys(phone)))

    async def allocated_total(self) -> int:
        """How many (DID, phone) pairs are held right now (a scan: for tests and metrics)."""
        count = 0
        async for key in self._redis.scan_iter(match=f"{self._keys.prefix}:pool:*", count=500):
            if not key.endswith(":cursor"):
                count += 1
        return count
