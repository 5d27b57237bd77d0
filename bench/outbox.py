"""Benchmark (not a test): outbox throughput and recovery after a worker dies.

    .venv/bin/python bench/outbox.py --n 5000 --concurrency 32 --recovery-n 1000

Starts a private redis-server (AOF on) and a callback receiver in a separate process that
verifies every signature and answers 200. Requests are created and cancelled through the real
store, so each enqueues one callback in the same Lua call as its status change.

1. Throughput: N callbacks queued, then one worker started; time until the receiver has
   every one (deliveries/s).
2. Recovery: M more queued against a slow receiver (each answer takes --slow-ms); the worker is
   killed (stop(grace=0): deliveries in flight abandoned, nothing acknowledged) halfway
   through its first batch of POSTs, then
   a. restarted under the same consumer name (resumes its own pending entries), and
   b. in a second round, replaced by a worker with another name, which can only take the
      entries over by XAUTOCLAIM after --claim-idle seconds.
   Reports the time from the new worker's start to the last callback, callbacks lost (must be
   0) and delivered twice (at-least-once: the answers the dead worker never read).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from ivr.config import Settings, hash_api_key, load_settings
from ivr.domain.requests import ArsRequest, Delivery, Kind, Status, now_ms
from ivr.outbox.webhooks import new_secret, verify_signature
from ivr.outbox.worker import OutboxWorker
from ivr.redis_process import RedisProcess, free_port
from ivr.services import Services, build_services
from ivr.store.connect import redis_client
from sms.outbox import OutboxSender


def _receiver_process(port: int, secret: str, slow_ms: multiprocessing.Value) -> None:  # type: ignore[valid-type]
    seen: dict[str, int] = {}
    bad = 0

    async def hook(request: web.Request) -> web.Response:
        nonlocal bad
        body = await request.read()
        try:
            verify_signature(body, request.headers, secret)
        except Exception:
            bad += 1
            return web.Response(status=401)
        if slow_ms.value:
            await asyncio.sleep(slow_ms.value / 1000)
        webhook_id = request.headers["webhook-id"]
        seen[webhook_id] = seen.get(webhook_id, 0) + 1
        return web.Response(text="ok")

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(
            {"unique": len(seen), "total": sum(seen.values()), "bad": bad}
        )

    async def reset(request: web.Request) -> web.Response:
        seen.clear()
        return web.json_response({})

    async def serve() -> None:
        app = web.Application()
        app.router.add_post("/hook", hook)
        app.router.add_get("/stats", stats)
        app.router.add_post("/reset", reset)
        # A request whose sender went away is not counted: like a receiver that crashed
        # before committing.
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await asyncio.Event().wait()

    asyncio.run(serve())


async def _stats(session: aiohttp.ClientSession, base: str) -> dict[str, int]:
    async with session.get(base + "/stats") as resp:
        return await resp.json()


async def _queue_callbacks(services: Services, n: int, tag: str) -> None:
    """n requests created and cancelled: n callback entries on the outbox."""

    async def one(i: int) -> None:
        now = now_ms()
        request = ArsRequest(
            id=f"ars_{tag}{i:08d}",
            merchant_id="bench",
            kind=Kind.PAYMENT,
            order_id=f"{tag}-{i}",
            product_name="벤치마크 상품",
            amount=28_500,
            payer_name="홍길동",
            payer_phone="+821012345678",
            virtual_number="+8216005001",
            delivery=Delivery.DISPLAY,
            status=Status.PENDING,
            created_at=now,
            expires_at=now + 3_600_000,
            updated_at=now,
        )
        await services.store.create(request, {})
        await services.store.transition(
            request.id, Status.CANCELLED, fields={"cancelled_by": "bench"}
        )

    for start in range(0, n, 200):
        await asyncio.gather(*(one(i) for i in range(start, min(start + 200, n))))


def _worker(services: Services, settings: Settings, name: str) -> OutboxWorker:
    return OutboxWorker(
        redis=services.redis,
        keys=services.keys,
        store=services.store,
        settings=settings,
        sms=services.sms,
        consumer=name,
    )


async def _until_delivered(
    session: aiohttp.ClientSession, base: str, want: int, timeout: float
) -> float:
    start = time.perf_counter()
    while (await _stats(session, base))["unique"] < want:
        if time.perf_counter() - start > timeout:
            raise TimeoutError(f"only {(await _stats(session, base))['unique']}/{want} arrived")
        await asyncio.sleep(0.01)
    return time.perf_counter() - start


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--recovery-n", type=int, default=1000)
    parser.add_argument("--slow-ms", type=int, default=50)
    parser.add_argument("--claim-idle", type=float, default=5.0)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="arspay-bench-outbox-"))
    redis_process = RedisProcess(tmp / "redis", free_port())
    redis_process.start()
    secret = new_secret()
    port = free_port()
    slow_ms = multiprocessing.Value("i", 0)
    receiver = multiprocessing.Process(
        target=_receiver_process, args=(port, secret, slow_ms), daemon=True
    )
    receiver.start()
    base = f"http://127.0.0.1:{port}"

    def settings(**outbox: Any) -> Settings:
        return load_settings(
            environ={},
            overrides={
                "var_dir": str(tmp),
                "log_level": "WARNING",
                "redis": {"url": redis_process.url, "managed": False},
                "outbox": {
                    "concurrency": args.concurrency,
                    "request_timeout": 5.0,
                    "claim_idle_seconds": max(args.claim_idle, 5.5),
                    "poll_interval": 0.2,
                    **outbox,
                },
                "merchants": [
                    {
                        "id": "bench",
                        "display_name": "벤치",
                        "api_key_sha256": hash_api_key("bench"),
                        "callback_url": base + "/hook",
                        "callback_secrets": [secret],
                    }
                ],
            },
        )

    base_settings = settings()
    services = build_services(
        base_settings,
        redis_client(redis_process.url),
        OutboxSender(tmp / "sms.jsonl", echo=False),
        {},
    )
    results: list[str] = []
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(100):
                try:
                    await _stats(session, base)
                    break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.05)

            # 1. throughput
            await _queue_callbacks(services, args.n, "t")
            worker = _worker(services, base_settings, "bench-1")
            start = time.perf_counter()
            cpu = time.process_time()
            await worker.start()
            await _until_delivered(session, base, args.n, timeout=600)
            await worker.drain(timeout=600)
            elapsed = time.perf_counter() - start
            cpu = time.process_time() - cpu
            await worker.stop()
            stats = await _stats(session, base)
            results.append(
                f"throughput: {args.n} callbacks in {elapsed:.2f}s = {args.n / elapsed:.0f} "
                f"deliveries/s (concurrency {args.concurrency}; worker CPU "
                f"{cpu / args.n * 1000:.2f} ms per delivery; {stats['bad']} bad signatures)"
            )

            # 2. recovery
            rounds = [("restart, same consumer", True), ("takeover by another worker", False)]
            for label, same_name in rounds if args.recovery_n else []:
                async with session.post(base + "/reset"):
                    pass
                tag = "r" if same_name else "s"
                await _queue_callbacks(services, args.recovery_n, tag)
                slow_ms.value = args.slow_ms
                doomed = _worker(services, base_settings, "bench-doomed")
                await doomed.start()
                for _ in range(5000):  # kill it in the middle of its first batch of POSTs
                    if doomed.in_flight >= args.concurrency // 2:
                        break
                    await asyncio.sleep(0.001)
                await asyncio.sleep(args.slow_ms / 2000)
                await doomed.stop(grace=0)
                pending = await services.redis.xpending(services.keys.outbox(), "arspay-outbox")
                abandoned = int(pending["pending"])
                before = (await _stats(session, base))["unique"]
                slow_ms.value = 0
                name = "bench-doomed" if same_name else "bench-rescuer"
                rescuer_settings = settings(claim_idle_seconds=args.claim_idle,
                                            request_timeout=args.claim_idle / 2)
                rescuer = _worker(services, rescuer_settings, name)
                start = time.perf_counter()
                await rescuer.start()
                await _until_delivered(session, base, args.recovery_n, timeout=600)
                await rescuer.drain(timeout=600)  # and every entry acknowledged
                recovery = time.perf_counter() - start
                await rescuer.stop()
                stats = await _stats(session, base)
                results.append(
                    f"recovery ({label}): {abandoned} entries left unacknowledged at "
                    f"{before}/{args.recovery_n}; all {stats['unique']} delivered "
                    f"{recovery:.2f}s after the new worker started "
                    f"(claim idle {args.claim_idle:g}s); lost "
                    f"{args.recovery_n - stats['unique']}, delivered twice "
                    f"{stats['total'] - stats['unique']}"
                )
    finally:
        await services.close()
        receiver.terminate()
        redis_process.stop()
    print(json.dumps({"n": args.n, "concurrency": args.concurrency, "cpus": os.cpu_count()}))
    for line in results:
        print(line)


if __name__ == "__main__":
    asyncio.run(main())
