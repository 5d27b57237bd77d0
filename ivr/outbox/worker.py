"""The outbox worker: drains the Redis Stream the store writes on every result, at least once.

* A consumer group (``arspay-outbox``) shares the stream between any number of workers.
* An entry is acknowledged and deleted only together (one MULTI) with what became of it: its
  delivery record and attempt, and either nothing more (done), a retry in the retries set
  (exponential back-off with jitter, see ``retry.py``) or a dead letter.
* Due retries go back on the stream by one Lua script, so exactly one worker moves each.
* A worker that restarts under the same consumer name first finishes its own pending entries;
  entries of a worker that does not come back are taken over after ``claim_idle_seconds``
  (XAUTOCLAIM). One that keeps killing its workers is dead-lettered after ``max_claims``.

Receivers see the same ``webhook-id`` and body on every attempt of one callback and should
dedupe on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import socket
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import aiohttp
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import ResponseError

from ivr.config import MerchantSettings, Settings
from ivr.domain.requests import ArsRequest, Status, now_ms
from ivr.outbox.deliveries import (
    DEAD,
    DELIVERED,
    RETRYING,
    SENT,
    SKIPPED,
    Attempt,
    Delivery,
    DeliveryLog,
    Entry,
)
from ivr.outbox.keys import GROUP, OutboxKeys
from ivr.outbox.payer_sms import SMS_KINDS, NoMessage, payer_message
from ivr.outbox.payloads import REFUND_STATUSES, callback_payload, encode, webhook_id_for
from ivr.outbox.retry import max_attempts, retry_delay
from ivr.outbox.webhooks import signature_headers
from ivr.store.keys import Keys
from ivr.store.requests import RequestStore
from sms.base import SmsSender

log = logging.getLogger(__name__)

USER_AGENT = "arspay-webhooks/1"
RESPONSE_SNIPPET_BYTES = 256
PROMOTE_BATCH = 500
CLAIM_BATCH = 100
STALE_CONSUMER_MS = 86_400_000

# KEYS: retries set, stream.  ARGV: now ms, max count.
# Moves due retries onto the stream; returns {moved, score of the next retry or ''}.
PROMOTE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  local fields = cjson.decode(member)
  local args = {}
  for name, value in pairs(fields) do
    table.insert(args, name)
    table.insert(args, value)
  end
  redis.call('XADD', KEYS[2], '*', unpack(args))
end
local after = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {#due, after[2] or ''}
"""


@dataclass(frozen=True)
class Outcome:
    state: str  # delivered | sent | skipped | failed
    http_status: int = 0
    error: str = ""
    response: str = ""
    message_id: str = ""

    @property
    def done(self) -> bool:
        return self.state in (DELIVERED, SENT, SKIPPED)


class OutboxWorker:
    def __init__(
        self,
        *,
        redis: Redis,
        keys: Keys,
        store: RequestStore,
        settings: Settings,
        sms: SmsSender,
        consumer: str,
        rng: random.Random | None = None,
    ) -> None:
        self.redis = redis
        self.keys = OutboxKeys(keys)
        self.store = store
        self.settings = settings
        self.config = settings.outbox
        self.sms = sms
        self.consumer = consumer
        self.deliveries = DeliveryLog(redis, self.keys)
        self.stats: Counter[str] = Counter()
        self._rng = rng or random.Random()
        self._promote = redis.register_script(PROMOTE)
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._main: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._next_retry_ms: int | None = None
        self._wake = asyncio.Event()

    # --- life cycle ----------------------------------------------------------------------

    async def start(self) -> None:
        await self.ensure_group()
        await self._forget_stale_consumers()
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.config.request_timeout),
            connector=aiohttp.TCPConnector(limit=self.config.concurrency),
            headers={"User-Agent": USER_AGENT},
        )
        self._main = asyncio.create_task(self._run(), name=f"outbox:{self.consumer}")
        log.info("outbox worker %s started", self.consumer)

    async def stop(self, grace: float | None = None) -> None:
        """Stop taking entries, let deliveries in flight finish for ``grace`` seconds (default:
        one request timeout), then abandon the rest. Abandoned entries stay pending and are
        delivered after a restart: ``stop(grace=0)`` is what a crash leaves behind."""
        if self._main is not None:
            # Repeated: redis-py can swallow a cancellation that lands while it connects.
            while not self._main.done():
                self._main.cancel()
                await asyncio.wait({self._main}, timeout=0.1)
            self._main = None
        grace = self.config.request_timeout + 1 if grace is None else grace
        tasks = set(self._inflight.values())
        if tasks and grace > 0:
            await asyncio.wait(tasks, timeout=grace)
        while any(not task.done() for task in tasks):
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks, timeout=0.1)
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.keys.stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _forget_stale_consumers(self) -> None:
        """Consumers of past processes with nothing pending would otherwise pile up."""
        for info in await self.redis.xinfo_consumers(self.keys.stream, GROUP):
            name = info["name"]
            if name != self.consumer and not info["pending"] and info["idle"] > STALE_CONSUMER_MS:
                await self.redis.xgroup_delconsumer(self.keys.stream, GROUP, name)

    # --- the loop ------------------------------------------------------------------------

    async def _run(self) -> None:
        backlog: str | None = "0"  # first our own pending entries (a restart), then new ones
        claim_every = min(self.config.claim_idle_seconds / 2, 30.0)
        next_claim = 0.0
        next_promote = 0.0
        while True:
            try:
                # Retries are due by our own schedule, or by another worker's: look every poll.
                if time.monotonic() >= next_promote or (
                    self._next_retry_ms is not None and self._next_retry_ms <= now_ms()
                ):
                    await self.promote_due_retries()
                    next_promote = time.monotonic() + self.config.poll_interval
                if time.monotonic() >= next_claim:
                    await self.claim_stale()
                    next_claim = time.monotonic() + claim_every
                free = self.config.concurrency - len(self._inflight)
                # Under load, read in batches rather than one entry per finished delivery.
                if free <= 0 or (self._inflight and free < self.config.concurrency // 4):
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.config.poll_interval)
                    continue
                if backlog is not None:
                    entries = await self._read(backlog, free, block_ms=None)
                    fresh = [e for e in entries if e.stream_id not in self._inflight]
                    backlog = entries[-1].stream_id if entries else None
                    if fresh:
                        log.info("outbox %s: resuming %d own pending entries", self.consumer,
                                 len(fresh))
                else:
                    block = self._block_ms(next_claim, next_promote)
                    fresh = await self._read(">", free, block_ms=block)
                for entry in fresh:
                    self._spawn(entry)
            except asyncio.CancelledError:
                raise
            except ResponseError as exc:
                if "NOGROUP" in str(exc):
                    await self.ensure_group()
                    continue
                log.exception("outbox loop failed; going on in %.1fs", self.config.poll_interval)
                await asyncio.sleep(self.config.poll_interval)
            except Exception:
                log.exception("outbox loop failed; going on in %.1fs", self.config.poll_interval)
                await asyncio.sleep(self.config.poll_interval)

    def _block_ms(self, next_claim: float, next_promote: float) -> int:
        wait = min(next_claim, next_promote) - time.monotonic()
        wait = min(self.config.poll_interval, max(wait, 0.0))
        if self._next_retry_ms is not None:
            wait = min(wait, max((self._next_retry_ms - now_ms()) / 1000, 0.0))
        return max(int(wait * 1000), 1)

    async def _read(self, from_id: str, count: int, *, block_ms: int | None) -> list[Entry]:
        reply = await self.redis.xreadgroup(
            GROUP, self.consumer, {self.keys.stream: from_id}, count=count, block=block_ms
        )
        entries: list[Entry] = []
        for _stream, items in reply or []:
            for stream_id, fields in items:
                if not fields:  # deleted while pending (trimmed by hand): nothing to do
                    await self.redis.xack(self.keys.stream, GROUP, stream_id)
                    continue
                entries.append(Entry.from_stream(stream_id, fields))
        return entries

    async def promote_due_retries(self) -> int:
        moved, next_score = await self._promote(
            keys=[self.keys.retries, self.keys.stream], args=[now_ms(), PROMOTE_BATCH]
        )
        self._next_retry_ms = int(float(next_score)) if next_score else None
        return int(moved)

    async def claim_stale(self) -> int:
        """Take over entries another (dead) worker took and never finished."""
        idle_ms = int(self.config.claim_idle_seconds * 1000)
        start = "0-0"
        claimed_total = 0
        for _ in range(10):
            next_start, claimed, *_deleted = await self.redis.xautoclaim(
                self.keys.stream, GROUP, self.consumer, idle_ms, start_id=start, count=CLAIM_BATCH
            )
            for stream_id, fields in claimed:
                if stream_id in self._inflight:
                    continue
                if not fields:
                    await self.redis.xack(self.keys.stream, GROUP, stream_id)
                    continue
                entry = Entry.from_stream(stream_id, fields)
                claimed_total += 1
                self.stats["claimed"] += 1
                if await self._times_delivered(stream_id) > self.config.max_claims:
                    self._spawn(entry, poison=True)
                else:
                    self._spawn(entry)
            if next_start in ("0-0", "0"):
                break
            start = next_start
        if claimed_total:
            log.warning("outbox %s: took over %d entries of a stopped worker", self.consumer,
                        claimed_total)
        return claimed_total

    async def _times_delivered(self, stream_id: str) -> int:
        rows = await self.redis.xpending_range(
            self.keys.stream, GROUP, min=stream_id, max=stream_id, count=1
        )
        return int(rows[0]["times_delivered"]) if rows else 0

    def _spawn(self, entry: Entry, *, poison: bool = False) -> None:
        task = asyncio.create_task(self._handle(entry, poison), name=f"outbox:{entry.stream_id}")
        self._inflight[entry.stream_id] = task
        task.add_done_callback(lambda t, sid=entry.stream_id: self._done(sid, t))

    def _done(self, stream_id: str, task: asyncio.Task[None]) -> None:
        if self._inflight.get(stream_id) is task:
            del self._inflight[stream_id]
        self._wake.set()
        if not task.cancelled() and task.exception() is not None:
            # Left pending: this worker (after a restart) or another one takes it up again.
            log.error("outbox entry %s failed to finish: %r", stream_id, task.exception())

    # --- one entry -----------------------------------------------------------------------

    async def _handle(self, entry: Entry, poison: bool = False) -> None:
        request, delivery, event_data = await self._load(entry)
        if request is None:
            log.warning("outbox entry %s: request %s is gone", entry.stream_id, entry.request_id)
            await self._ack(entry)
            return
        if delivery is None:
            delivery = Delivery(
                id=entry.delivery_id,
                kind=entry.kind,
                request_id=entry.request_id,
                merchant_id=request.merchant_id,
                status=entry.status,
                event_id=entry.event_id,
                at=entry.at,
                created_at=now_ms(),
            )
        delivery.max_attempts = max_attempts(
            entry.kind, self.config.retry_schedule, self.config.sms_max_attempts
        )
        if poison:
            outcome = Outcome("failed", error=f"workers stopped {self.config.max_claims} times "
                                              "while delivering it")
            await self._finish(entry, delivery, request, outcome, 0, force_dead=True)
            return
        delivery.attempts += 1
        if entry.kind == "callback" and not delivery.body:
            # Frozen at the first attempt. It is a snapshot of the status change, so a retry
            # would compute the same body anyway; keeping it makes that evident.
            payload = callback_payload(
                request, Status(entry.status), entry.event_id, entry.at, event_data
            )
            delivery.body = encode(payload)
            delivery.webhook_id = webhook_id_for(request.id, entry.event_id)
        merchant = self.settings.merchant(request.merchant_id)
        started = time.monotonic()
        try:
            if merchant is None:
                outcome = Outcome(SKIPPED, error="the merchant is no longer configured")
            elif entry.kind == "callback":
                outcome = await self._send_callback(delivery, request, merchant)
            elif entry.kind in SMS_KINDS:
                outcome = await self._send_sms(entry, merchant, request, event_data)
            else:
                outcome = Outcome(SKIPPED, error=f"unknown outbox kind {entry.kind!r}")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("outbox delivery %s of %s failed", delivery.id, request.id)
            outcome = Outcome("failed", error=f"internal error: {type(exc).__name__}")
        duration = int((time.monotonic() - started) * 1000)
        await self._finish(entry, delivery, request, outcome, duration)

    async def _load(
        self, entry: Entry
    ) -> tuple[ArsRequest | None, Delivery | None, dict[str, Any]]:
        """The request, the delivery record so far and (when the body needs it) the event
        data, in one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(self.store.keys.request(entry.request_id))
        pipe.hget(self.keys.deliveries(entry.request_id), entry.delivery_id)
        marker = {**entry.fields(), "worker": self.consumer, "since": now_ms()}
        pipe.hset(self.keys.in_flight(entry.request_id), entry.delivery_id, json.dumps(marker))
        if self._needs_event(entry):
            pipe.xrange(
                self.store.keys.request_events(entry.request_id),
                min=entry.event_id,
                max=entry.event_id,
                count=1,
            )
        replies = await pipe.execute()
        request = ArsRequest.from_redis(replies[0]) if replies[0] else None
        delivery = Delivery.loads(replies[1]) if replies[1] else None
        event_data: dict[str, Any] = {}
        if len(replies) > 3 and replies[3]:
            event_data = json.loads(replies[3][0][1].get("data") or "{}")
        return request, delivery, event_data

    @staticmethod
    def _needs_event(entry: Entry) -> bool:
        return entry.kind == "cancel_sms" or (
            entry.kind == "callback" and entry.status in REFUND_STATUSES
        )

    async def _send_callback(
        self, delivery: Delivery, request: ArsRequest, merchant: MerchantSettings
    ) -> Outcome:
        url = request.callback_url or merchant.callback_url
        delivery.url = url
        if not url:
            return Outcome(SKIPPED, error="no callback URL")
        if not merchant.callback_secrets:
            return Outcome(SKIPPED, error="no callback secret configured")
        body = delivery.body.encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            **signature_headers(
                merchant.callback_secrets, delivery.webhook_id, int(time.time()), body
            ),
        }
        assert self._session is not None, "the worker is not started"
        try:
            async with self._session.post(
                url, data=body, headers=headers, allow_redirects=False
            ) as resp:
                status = resp.status
                snippet = await resp.content.read(RESPONSE_SNIPPET_BYTES)
        except TimeoutError:
            return Outcome("failed", error=f"timed out after {self.config.request_timeout:g}s")
        except aiohttp.InvalidURL:
            return Outcome("failed", error="the callback URL is not valid")
        except aiohttp.ClientError as exc:
            return Outcome("failed", error=f"connection failed: {type(exc).__name__}")
        text = snippet.decode("utf-8", "replace")
        if 200 <= status < 300:
            return Outcome(DELIVERED, http_status=status, response=text)
        return Outcome("failed", http_status=status, error=f"HTTP {status}", response=text)

    async def _send_sms(
        self,
        entry: Entry,
        merchant: MerchantSettings,
        request: ArsRequest,
        event_data: dict[str, Any],
    ) -> Outcome:
        try:
            message = payer_message(entry.kind, merchant, request, entry.at, event_data)
        except NoMessage as exc:
            return Outcome(SKIPPED, error=str(exc))
        result = await self.sms.send(message)
        if result.ok:
            return Outcome(SENT, message_id=result.message_id or "")
        return Outcome("failed", error=result.error or "the SMS provider refused it")

    # --- the end of an attempt -----------------------------------------------------------

    async def _finish(
        self,
        entry: Entry,
        delivery: Delivery,
        request: ArsRequest,
        outcome: Outcome,
        duration_ms: int,
        *,
        force_dead: bool = False,
    ) -> None:
        now = now_ms()
        attempt = Attempt(
            delivery_id=delivery.id,
            attempt=delivery.attempts,
            at=now,
            duration_ms=duration_ms,
            outcome=outcome.state,
            http_status=outcome.http_status,
            error=outcome.error[:300],
            response=outcome.response[:RESPONSE_SNIPPET_BYTES],
            worker=self.consumer,
        )
        delivery.updated_at = now
        delivery.last_error = outcome.error[:300]
        delivery.last_http_status = outcome.http_status
        delivery.next_attempt_at = 0
        delivery.retry_member = ""
        if outcome.message_id:
            delivery.message_id = outcome.message_id
        pipe = self.redis.pipeline(transaction=True)
        if outcome.done:
            delivery.state = outcome.state
        elif entry.attempt < delivery.max_attempts and not force_dead:
            delay = retry_delay(
                entry.attempt, self.config.retry_schedule, self.config.jitter, self._rng
            )
            member = json.dumps(entry.fields(entry.attempt + 1), sort_keys=True)
            delivery.state = RETRYING
            delivery.next_attempt_at = now + int(delay * 1000)
            delivery.retry_member = member
            pipe.zadd(self.keys.retries, {member: delivery.next_attempt_at})
        else:
            delivery.state = DEAD
            letter = {
                "request_id": request.id,
                "merchant_id": request.merchant_id,
                "delivery_id": delivery.id,
                "kind": delivery.kind,
                "status": delivery.status,
                "attempts": str(delivery.attempts),
                "last_error": delivery.last_error,
                "at": str(now),
            }
            maxlen = self.config.dead_letter_maxlen
            pipe.xadd(self.keys.dead_letters, letter, maxlen=maxlen, approximate=True)
            pipe.xadd(
                self.keys.merchant_dead_letters(request.merchant_id),
                letter,
                maxlen=maxlen,
                approximate=True,
            )
        if entry.kind == "billing_sms" and outcome.state != SKIPPED:
            pipe.hset(
                self.store.keys.request(request.id),
                mapping={
                    "sms_status": "sent" if outcome.state == SENT else "failed",
                    "sms_error": outcome.error[:200],
                    "sms_message_id": outcome.message_id,
                },
            )
        self._stage_event(pipe, entry, delivery, request, outcome)
        pipe.hset(self.keys.deliveries(request.id), delivery.id, delivery.dumps())
        pipe.hdel(self.keys.in_flight(request.id), delivery.id)
        pipe.rpush(self.keys.attempts(request.id), attempt.dumps())
        pipe.ltrim(self.keys.attempts(request.id), -500, -1)
        pipe.xack(self.keys.stream, GROUP, entry.stream_id)
        pipe.xdel(self.keys.stream, entry.stream_id)
        await pipe.execute()
        self.stats[delivery.state] += 1
        if delivery.state == DEAD:
            log.error("outbox: %s of %s dead-lettered after %d attempts (%s)", delivery.id,
                      request.id, delivery.attempts, delivery.last_error)
        elif delivery.state == RETRYING:
            log.info("outbox: %s of %s failed (%s); attempt %d in %.1fs", delivery.id,
                     request.id, delivery.last_error, entry.attempt + 1,
                     (delivery.next_attempt_at - now) / 1000)
            if self._next_retry_ms is None or delivery.next_attempt_at < self._next_retry_ms:
                self._next_retry_ms = delivery.next_attempt_at

    def _stage_event(
        self,
        pipe: Pipeline,
        entry: Entry,
        delivery: Delivery,
        request: ArsRequest,
        outcome: Outcome,
    ) -> None:
        """Live events for the console (SMS sent/failed, callback delivered/dead-lettered),
        written in the same MULTI as the outcome: one event per outcome, even after a crash."""
        if entry.kind in SMS_KINDS and outcome.state != SKIPPED:
            sent = outcome.state == SENT
            name = "sms_sent" if sent else "sms_failed"
            data = {
                "kind": SMS_KINDS[entry.kind],
                "error": outcome.error[:200],
                "will_retry": delivery.state == RETRYING,
            }
            if not sent:
                log.warning("%s SMS for %s failed: %s", SMS_KINDS[entry.kind], request.id,
                            outcome.error)
        elif entry.kind == "callback" and delivery.state in (DELIVERED, DEAD):
            name = "callback_delivered" if delivery.state == DELIVERED else "callback_dead_lettered"
            data = {"status": entry.status, "attempts": delivery.attempts,
                    "http_status": outcome.http_status or None}
        else:
            return
        self.store.stage_event(pipe, request, name, data, at=now_ms())

    async def _ack(self, entry: Entry) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.hdel(self.keys.in_flight(entry.request_id), entry.delivery_id)
        pipe.xack(self.keys.stream, GROUP, entry.stream_id)
        pipe.xdel(self.keys.stream, entry.stream_id)
        await pipe.execute()

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait until nothing is in flight, the stream is empty and no retry is due (tests,
        benchmarks)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            due = await self.redis.zcount(self.keys.retries, "-inf", now_ms())
            if not self._inflight and not await self.redis.xlen(self.keys.stream) and not due:
                return
            await asyncio.sleep(0.01)
        raise TimeoutError("the outbox did not drain in time")


def default_consumer_name(http_port: int) -> str:
    """Stable across restarts of one service, so a restart resumes its own pending entries."""
    return f"{socket.gethostname()}:{http_port}"
