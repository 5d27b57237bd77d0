"""The Redis client: a blocking pool, so a burst of calls waits for a connection instead of
failing with 'Too many connections'."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis


def redis_client(url: str, *, max_connections: int = 256, timeout: float = 10.0) -> Redis:
    pool = BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=timeout, decode_responses=True
    )
    return Redis(connection_pool=pool)
