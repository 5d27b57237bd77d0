"""Idempotency keys for mutating API calls: same key + same body replays the first response."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from redis.asyncio import Redis

from ivr.store.keys import Keys

IDEMPOTENCY_TTL_SECONDS = 24 * 3600
PENDING_TTL_SECONDS = 60


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: dict[str, object]


class IdempotencyConflict(Exception):
    """The key was used with a different request body."""


class IdempotencyInProgress(Exception):
    """The first request with this key has not finished yet."""


def fingerprint(operation: str, body: object) -> str:
    canonical = json.dumps([operation, body], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyStore:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def begin(self, merchant_id: str, key: str, fp: str) -> StoredResponse | None:
        """Reserve the key; return the stored response when this is a replay."""
        redis_key = self._keys.idempotency(merchant_id, key)
        reserved = await self._redis.set(
            redis_key, json.dumps({"fp": fp, "state": "pending"}), nx=True, ex=PENDING_TTL_SECONDS
        )
        if reserved:
            return None
        raw = await self._redis.get(redis_key)
        if raw is None:
            return await self.begin(merchant_id, key, fp)
        stored = json.loads(raw)
        if stored["fp"] != fp:
            raise IdempotencyConflict(key)
        if stored["state"] == "pending":
            raise IdempotencyInProgress(key)
        return StoredResponse(status=stored["status"], body=stored["body"])

    async def finish(self, merchant_id: str, key: str, fp: str, response: StoredResponse) -> None:
        await self._redis.set(
            self._keys.idempotency(merchant_id, key),
            json.dumps(
                {"fp": fp, "state": "done", "status": response.status, "body": response.body},
                ensure_ascii=False,
            ),
            ex=IDEMPOTENCY_TTL_SECONDS,
        )

    async def abandon(self, merchant_id: str, key: str) -> None:
        """Forget a reservation whose request failed unexpectedly, so a retry can run."""
        await self._redis.delete(self._keys.idempotency(merchant_id, key))
