"""What the outbox did: one record per delivery (its state, the frozen callback body) and every
attempt, kept per request; the API reads them, and a delivery can be sent again by hand."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import WatchError

from ivr.domain.requests import iso, now_ms
from ivr.outbox.keys import OutboxKeys

ATTEMPTS_KEPT = 500  # per request, newest kept

# Delivery states. delivered: a callback got a 2xx; sent: the SMS provider took the message.
QUEUED = "queued"
DELIVERING = "delivering"
RETRYING = "retrying"
DELIVERED = "delivered"
SENT = "sent"
SKIPPED = "skipped"
DEAD = "dead"
FINAL_STATES = frozenset({DELIVERED, SENT, SKIPPED, DEAD})


@dataclass(frozen=True)
class Entry:
    """One outbox stream entry. ``attempt`` counts from 1; the store's scripts write entries
    without it (a first attempt)."""

    stream_id: str
    kind: str
    request_id: str
    status: str
    at: int
    event_id: str
    attempt: int = 1
    manual: bool = False

    @classmethod
    def from_stream(cls, stream_id: str, fields: dict[str, str]) -> Entry:
        return cls(
            stream_id=stream_id,
            kind=fields.get("kind", ""),
            request_id=fields.get("request_id", ""),
            status=fields.get("status", ""),
            at=int(fields.get("at") or 0),
            event_id=fields.get("event_id", ""),
            attempt=max(int(fields.get("attempt") or 1), 1),
            manual=fields.get("manual") == "1",
        )

    @property
    def delivery_id(self) -> str:
        return f"{self.kind}:{self.event_id}"

    def fields(self, attempt: int | None = None, *, manual: bool | None = None) -> dict[str, str]:
        """Stream fields (all strings) for this entry, or for another attempt of it."""
        return {
            "kind": self.kind,
            "request_id": self.request_id,
            "status": self.status,
            "at": str(self.at),
            "event_id": self.event_id,
            "attempt": str(self.attempt if attempt is None else attempt),
            "manual": "1" if (self.manual if manual is None else manual) else "0",
        }


@dataclass
class Delivery:
    id: str
    kind: str
    request_id: str
    merchant_id: str
    status: str
    event_id: str
    at: int
    state: str = QUEUED
    attempts: int = 0
    max_attempts: int = 0
    created_at: int = 0
    updated_at: int = 0
    next_attempt_at: int = 0
    last_error: str = ""
    last_http_status: int = 0
    webhook_id: str = ""
    url: str = ""
    body: str = ""  # the callback body exactly as signed and sent (frozen at the first attempt)
    message_id: str = ""  # SMS provider's id
    retry_member: str = ""  # the retries-set member while state is "retrying"
    manual_resends: int = 0

    def dumps(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False)  # flat: no asdict() deep copies

    @classmethod
    def loads(cls, raw: str) -> Delivery:
        data = json.loads(raw)
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class Attempt:
    delivery_id: str
    attempt: int
    at: int
    duration_ms: int
    outcome: str  # delivered | sent | failed | skipped
    http_status: int = 0
    error: str = ""
    response: str = ""
    worker: str = ""

    def dumps(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False)


class ResendRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class DeliveryLog:
    def __init__(self, redis: Redis, keys: OutboxKeys) -> None:
        self.redis = redis
        self.keys = keys

    async def get(self, request_id: str, delivery_id: str) -> Delivery | None:
        raw = await self.redis.hget(self.keys.deliveries(request_id), delivery_id)
        return Delivery.loads(raw) if raw else None

    async def save(self, delivery: Delivery) -> None:
        key = self.keys.deliveries(delivery.request_id)
        await self.redis.hset(key, delivery.id, delivery.dumps())

    async def list(self, request_id: str) -> list[tuple[Delivery, list[dict[str, Any]]]]:
        """Every delivery of a request (oldest first) with its attempts."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(self.keys.deliveries(request_id))
        pipe.lrange(self.keys.attempts(request_id), 0, -1)
        pipe.hgetall(self.keys.in_flight(request_id))
        records, attempts, in_flight = await pipe.execute()
        by_delivery: dict[str, list[dict[str, Any]]] = {}
        for raw in attempts:
            attempt = json.loads(raw)
            by_delivery.setdefault(attempt["delivery_id"], []).append(attempt)
        deliveries = {key: Delivery.loads(raw) for key, raw in records.items()}
        for key, raw in in_flight.items():
            marker = json.loads(raw)
            found = deliveries.get(key) or _from_marker(key, request_id, marker)
            found.state = DELIVERING
            found.attempts += 1
            deliveries[key] = found
        ordered = sorted(deliveries.values(), key=lambda d: (d.at, d.id))
        return [(d, by_delivery.get(d.id, [])) for d in ordered]

    async def dead_letters(self, merchant_id: str, count: int) -> list[dict[str, Any]]:
        raw = await self.redis.xrevrange(
            self.keys.merchant_dead_letters(merchant_id), count=count
        )
        return [{"id": entry_id, **fields} for entry_id, fields in raw]

    async def resend(self, request_id: str, delivery_id: str) -> Delivery:
        """Put a finished (or waiting) callback back on the outbox for an attempt now, with a
        fresh retry schedule. The message keeps its webhook-id, so a receiver that applied it
        already recognises it."""
        deliveries = self.keys.deliveries(request_id)
        for _ in range(20):
            async with self.redis.pipeline(transaction=True) as pipe:
                try:
                    in_flight = self.keys.in_flight(request_id)
                    await pipe.watch(deliveries, self.keys.retries, in_flight)
                    if await pipe.hexists(in_flight, delivery_id):
                        raise ResendRefused(
                            "delivery_in_progress", "the delivery is being attempted right now"
                        )
                    raw = await pipe.hget(deliveries, delivery_id)
                    if not raw:
                        raise ResendRefused("not_found", "no such delivery")
                    delivery = Delivery.loads(raw)
                    if delivery.kind != "callback":
                        raise ResendRefused(
                            "not_resendable", "only merchant callbacks can be sent again"
                        )
                    if delivery.state in (QUEUED, DELIVERING):
                        raise ResendRefused(
                            "delivery_in_progress", "the delivery is being attempted right now"
                        )
                    waiting = (
                        delivery.state == RETRYING
                        and await pipe.zscore(self.keys.retries, delivery.retry_member) is not None
                    )
                    if delivery.state == RETRYING and not waiting:
                        raise ResendRefused(
                            "delivery_in_progress", "the delivery is being attempted right now"
                        )
                    entry = Entry(
                        stream_id="",
                        kind=delivery.kind,
                        request_id=delivery.request_id,
                        status=delivery.status,
                        at=delivery.at,
                        event_id=delivery.event_id,
                    )
                    member = delivery.retry_member
                    delivery.state = QUEUED
                    delivery.next_attempt_at = 0
                    delivery.retry_member = ""
                    delivery.manual_resends += 1
                    delivery.updated_at = now_ms()
                    pipe.multi()
                    if waiting:
                        pipe.zrem(self.keys.retries, member)
                    pipe.hset(deliveries, delivery_id, delivery.dumps())
                    pipe.xadd(self.keys.stream, entry.fields(1, manual=True))
                    await pipe.execute()
                    return delivery
                except WatchError:
                    continue
        raise ResendRefused("delivery_in_progress", "the outbox is busy; try again")


def _from_marker(delivery_id: str, request_id: str, marker: dict[str, Any]) -> Delivery:
    """A delivery whose first attempt is under way (nothing recorded yet)."""
    return Delivery(
        id=delivery_id,
        kind=str(marker.get("kind", "")),
        request_id=request_id,
        merchant_id="",
        status=str(marker.get("status", "")),
        event_id=str(marker.get("event_id", "")),
        at=int(marker.get("at") or 0),
        created_at=int(marker.get("since") or 0),
        updated_at=int(marker.get("since") or 0),
    )


def delivery_view(delivery: Delivery, attempts: list[dict[str, Any]]) -> dict[str, Any]:
    """A delivery as the API shows it (the callback body parsed, internals left out)."""
    return {
        "id": delivery.id,
        "kind": delivery.kind,
        "status": delivery.status,
        "event_id": delivery.event_id,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "max_attempts": delivery.max_attempts,
        "created_at": iso(delivery.created_at) if delivery.created_at else None,
        "updated_at": iso(delivery.updated_at) if delivery.updated_at else None,
        "next_attempt_at": iso(delivery.next_attempt_at) if delivery.next_attempt_at else None,
        "last_error": delivery.last_error or None,
        "last_http_status": delivery.last_http_status or None,
        "webhook_id": delivery.webhook_id or None,
        "url": delivery.url or None,
        "payload": json.loads(delivery.body) if delivery.body else None,
        "message_id": delivery.message_id or None,
        "manual_resends": delivery.manual_resends,
        "history": [
            {
                "attempt": a["attempt"],
                "at": iso(a["at"]),
                "duration_ms": a["duration_ms"],
                "outcome": a["outcome"],
                "http_status": a.get("http_status") or None,
                "error": a.get("error") or None,
            }
            for a in attempts
        ],
    }
