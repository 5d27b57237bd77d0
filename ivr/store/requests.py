"""ARS requests in Redis: create, read, list, and atomic lifecycle transitions with events."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from ivr.domain.requests import (
    HOLDS_NUMBER,
    OUTBOX_ON_STATUS,
    TRANSITIONS,
    ArsRequest,
    Status,
    now_ms,
)
from ivr.store.keys import Keys
from ivr.store.pool import NumberPool
from ivr.store.scripts import CREATE, TRANSITION

EVENTS_MAXLEN = 1000
MERCHANT_EVENTS_MAXLEN = 100_000


class RequestNotFound(Exception):
    pass


class IllegalTransition(Exception):
    def __init__(self, request_id: str, current: str, wanted: Status) -> None:
        super().__init__(f"request {request_id} is {current}; cannot become {wanted}")
        self.current = current
        self.wanted = wanted


@dataclass(frozen=True)
class Event:
    id: str
    request_id: str
    type: str
    status: str
    at: int
    data: dict[str, Any]


@dataclass(frozen=True)
class Page:
    items: list[ArsRequest]
    next_cursor: str | None


def _encode_cursor(score: int, request_id: str) -> str:
    return base64.urlsafe_b64encode(f"{score}:{request_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    """Raises ValueError on a cursor this server did not make."""
    padded = cursor + "=" * (-len(cursor) % 4)
    score, _, request_id = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
    if not request_id.startswith("ars_"):
        raise ValueError("not a cursor")
    return int(score), request_id


class RequestStore:
    def __init__(self, redis: Redis, keys: Keys, pool: NumberPool) -> None:
        self.redis = redis
        self.keys = keys
        self.pool = pool
        self._transition = redis.register_script(TRANSITION)
        self._create = redis.register_script(CREATE)

    async def create(
        self, request: ArsRequest, event_data: Mapping[str, Any], outbox: Iterable[str] = ()
    ) -> None:
        """Store a new request with its ``created`` event, and enqueue ``outbox`` kinds (the
        billing SMS) in the same atomic step."""
        fields = request.to_redis()
        args: list[str | int] = []
        for name, value in fields.items():
            args += [name, value]
        args += [
            request.created_at,
            json.dumps(dict(event_data)),
            EVENTS_MAXLEN,
            ",".join(outbox) or "-",
        ]
        created = await self._create(
            keys=[
                self.keys.request(request.id),
                self.keys.request_events(request.id),
                self.keys.outbox(),
            ],
            args=args,
        )
        if not created:
            raise ValueError(f"request {request.id} exists already")
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(
            self.keys.merchant_requests(request.merchant_id), {request.id: request.created_at}
        )
        pipe.zadd(self.keys.expiries(), {request.id: request.expires_at})
        # The request's own stream got "created" from the Lua script.
        self.stage_event(pipe, request, "created", event_data, at=request.created_at,
                         request_stream=False)
        await pipe.execute()

    async def get(self, request_id: str) -> ArsRequest | None:
        if not request_id.startswith("ars_"):
            return None
        data = await self.redis.hgetall(self.keys.request(request_id))
        return ArsRequest.from_redis(data) if data else None

    async def get_for_merchant(self, merchant_id: str, request_id: str) -> ArsRequest | None:
        request = await self.get(request_id)
        return request if request and request.merchant_id == merchant_id else None

    async def transition(
        self,
        request_id: str,
        new: Status,
        *,
        expected: Iterable[Status] | None = None,
        fields: Mapping[str, str | int] | None = None,
        increments: Mapping[str, int] | None = None,
        event: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> ArsRequest:
        """Move a request to ``new`` if it is in one of ``expected`` (default: any legal state).

        One Lua call: check, write fields, append the event. Frees the virtual number when the
        request stops holding it.
        """
        legal_from = {old for old, targets in TRANSITIONS.items() if new in targets}
        allowed = legal_from & set(expected) if expected is not None else legal_from
        args: list[str | int] = [
            ",".join(sorted(allowed)) or "-",
            new.value,
            now_ms(),
            event or new.value,
            json.dumps(dict(data or {})),
            EVENTS_MAXLEN,
            ",".join(OUTBOX_ON_STATUS.get(new, ())) or "-",
        ]
        for name, value in (fields or {}).items():
            args += [name, value]
        for name, value in (increments or {}).items():
            args += ["+" + name, value]
        result, old, *rest = await self._transition(
            keys=[
                self.keys.request(request_id),
                self.keys.request_events(request_id),
                self.keys.outbox(),
            ],
            args=args,
        )
        if result == "missing":
            raise RequestNotFound(request_id)
        if result == "illegal":
            raise IllegalTransition(request_id, old, new)
        record = rest[1]
        request = ArsRequest.from_redis(dict(zip(record[::2], record[1::2], strict=True)))
        await self._after_transition(request, Status(old), event or new.value, data or {})
        return request

    async def _after_transition(
        self, request: ArsRequest, old: Status, event: str, data: Mapping[str, Any]
    ) -> None:
        pipe = self.redis.pipeline(transaction=False)
        self.stage_event(pipe, request, event, data, at=request.updated_at, request_stream=False)
        if request.status not in HOLDS_NUMBER:
            pipe.zrem(self.keys.expiries(), request.id)
        if request.status is not Status.IN_CALL and request.status is not Status.AUTHORIZING:
            pipe.zrem(self.keys.call_leases(), request.id)
        if request.status is Status.AUTHORIZING:
            pipe.zadd(self.keys.authorizing(), {request.id: request.updated_at})
        else:
            pipe.zrem(self.keys.authorizing(), request.id)
        await pipe.execute()
        if old in HOLDS_NUMBER and request.status not in HOLDS_NUMBER:
            await self.pool.release(request.payer_phone, request.virtual_number, request.id)

    async def record(self, request_id: str, fields: Mapping[str, str | int]) -> None:
        """Set informational fields (SMS outcome…) that are not a state change."""
        if fields:
            await self.redis.hset(self.keys.request(request_id), mapping=dict(fields))

    def stage_event(
        self,
        pipe: Pipeline,
        request: ArsRequest,
        event: str,
        data: Mapping[str, Any],
        *,
        at: int,
        request_stream: bool = True,
    ) -> None:
        """Queue an event on ``pipe``: on the request's stream (unless a Lua script already
        wrote it there) and on its merchant's live stream."""
        fields = {"type": event, "status": request.status.value, "at": at,
                  "data": json.dumps(dict(data))}
        if request_stream:
            pipe.xadd(self.keys.request_events(request.id), fields, maxlen=EVENTS_MAXLEN,
                      approximate=True)
        pipe.xadd(self.keys.merchant_events(request.merchant_id),
                  {"request_id": request.id, **fields},
                  maxlen=MERCHANT_EVENTS_MAXLEN, approximate=True)

    async def add_event(self, request: ArsRequest, event: str, data: Mapping[str, Any]) -> str:
        """An event that is not a state change (call connected, step reached, SMS sent)."""
        pipe = self.redis.pipeline(transaction=False)
        self.stage_event(pipe, request, event, data, at=now_ms())
        entry_id, _ = await pipe.execute()
        return str(entry_id)

    async def events(self, request_id: str, after: str = "-", count: int = 1000) -> list[Event]:
        start = f"({after}" if after != "-" else "-"
        raw = await self.redis.xrange(self.keys.request_events(request_id), min=start, count=count)
        return [
            Event(
                id=entry_id,
                request_id=request_id,
                type=fields["type"],
                status=fields["status"],
                at=int(fields["at"]),
                data=json.loads(fields.get("data") or "{}"),
            )
            for entry_id, fields in raw
        ]

    async def list(
        self,
        merchant_id: str,
        *,
        statuses: set[Status] | None = None,
        created_from: int | None = None,
        created_to: int | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page:
        """Newest first; the cursor is the position after the last item returned."""
        key = self.keys.merchant_requests(merchant_id)
        high: str | int = created_to if created_to is not None else "+inf"
        low: str | int = created_from if created_from is not None else "-inf"
        after: tuple[int, str] | None = decode_cursor(cursor) if cursor else None
        if after is not None:
            high = after[0]
        items: list[ArsRequest] = []
        batch = max(limit * 2, 50)
        offset = 0
        while len(items) < limit:
            ids_scores = await self.redis.zrevrangebyscore(
                key, high, low, start=offset, num=batch, withscores=True
            )
            if not ids_scores:
                break
            offset += len(ids_scores)
            for request_id, score in ids_scores:
                if after is not None and (int(score), request_id) >= after:
                    continue
                request = await self.get(request_id)
                if request is None or (statuses and request.status not in statuses):
                    continue
                items.append(request)
                if len(items) == limit:
                    break
        next_cursor = None
        if len(items) == limit:
            last = items[-1]
            next_cursor = _encode_cursor(last.created_at, last.id)
        return Page(items=items, next_cursor=next_cursor)

    async def due_expiries(self, now: int, count: int = 200) -> list[str]:
        return list(await self.redis.zrangebyscore(self.keys.expiries(), "-inf", now, 0, count))

    async def forget_expiry(self, request_id: str) -> None:
        await self.redis.zrem(self.keys.expiries(), request_id)

    async def authorizing_since(self, before: int, count: int = 200) -> list[str]:
        """Requests that entered ``authorizing`` before ``before`` (ms) and are still there."""
        return list(
            await self.redis.zrangebyscore(self.keys.authorizing(), "-inf", before, 0, count)
        )

    async def set_call_lease(self, request_id: str, until_ms: int) -> None:
        await self.redis.zadd(self.keys.call_leases(), {request_id: until_ms})

    async def due_call_leases(self, now: int, count: int = 200) -> list[str]:
        return list(await self.redis.zrangebyscore(self.keys.call_leases(), "-inf", now, 0, count))
