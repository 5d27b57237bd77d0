"""Benchmark (not a test): create N ARS requests against a running arspay with real Redis.

    .venv/bin/python bench/api_create.py --n 2000 --concurrency 32

Starts its own private redis-server and arspay (HTTP API on a free port, SMS to a throwaway
outbox, no echo) unless --url and --key point at a running service. Reports requests/s and
p50/p99 latency of POST /v1/ars-requests.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp

from ivr.config import hash_api_key, load_settings
from ivr.redis_process import RedisProcess, free_port

KEY = "bench_key"


async def _run(url: str, key: str, n: int, concurrency: int) -> list[float]:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)
    headers = {"Authorization": f"Bearer {key}"}

    async def worker(session: aiohttp.ClientSession) -> None:
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            body = {
                "kind": "payment",
                "order_id": f"bench-{time.time_ns()}-{i}",
                "product_name": "벤치마크 상품",
                "amount": 28_500,
                "payer_name": "홍길동",
                "payer_phone": f"010-{1000 + i // 10000:04d}-{i % 10000:04d}",
            }
            start = time.perf_counter()
            async with session.post(f"{url}/v1/ars-requests", json=body, headers=headers) as r:
                await r.read()
                if r.status != 201:
                    raise RuntimeError(f"HTTP {r.status}: {await r.text()}")
            latencies.append(time.perf_counter() - start)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*[worker(session) for _ in range(concurrency)])
    return latencies


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--url", help="a running arspay; default: start one")
    parser.add_argument("--key", help="merchant API key for --url")
    args = parser.parse_args()

    server = redis = None
    url, key = args.url, args.key
    if url is None:
        from ivr.server import ArsPayServer

        tmp = Path(tempfile.mkdtemp(prefix="arspay-bench-"))
        redis = RedisProcess(tmp / "redis", free_port())
        redis.start()
        settings = load_settings(
            environ={},
            overrides={
                "var_dir": str(tmp),
                "log_file": str(tmp / "arspay.log"),
                "log_level": "WARNING",
                "http": {"port": 0},
                "agi": {"enabled": False},
                "redis": {"url": redis.url, "managed": False},
                "sms": {"outbox_path": str(tmp / "sms.jsonl"), "echo": False},
                "pg": {"simulator": False},
                "merchants": [
                    {"id": "bench", "display_name": "벤치", "api_key_sha256": hash_api_key(KEY)}
                ],
            },
        )
        server = ArsPayServer(settings)
        await server.start()
        url, key = f"http://127.0.0.1:{server.http_port}", KEY
    try:
        start = time.perf_counter()
        latencies = await _run(url, key, args.n, args.concurrency)
        elapsed = time.perf_counter() - start
    finally:
        if server is not None:
            await server.stop()
        if redis is not None:
            redis.stop()
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(
        f"created {len(latencies)} requests in {elapsed:.2f}s with concurrency "
        f"{args.concurrency}: {len(latencies) / elapsed:.0f} requests/s, "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
