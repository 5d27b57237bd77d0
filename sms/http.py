"""A small JSON-over-HTTPS poster shared by the provider senders: one session, a hard
timeout, and every transport problem turned into an error string instead of an exception."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import aiohttp


@dataclass(frozen=True)
class HttpReply:
    status: int | None  # None: no HTTP answer at all
    body: Any  # parsed JSON, or None
    error: str | None  # transport problem (timeout, refused, bad JSON)


class JsonPoster:
    def __init__(self, timeout: float) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout)
            )
        return self._session

    async def post(self, url: str, headers: dict[str, str], payload: Any) -> HttpReply:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8", **headers}
        try:
            async with self._client().post(url, data=data, headers=headers) as resp:
                raw = await resp.read()
                status = resp.status
        except TimeoutError:
            return HttpReply(None, None, f"timed out after {self.timeout:g}s")
        except aiohttp.ClientError as exc:
            return HttpReply(None, None, f"connection failed: {type(exc).__name__}: {exc}")
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, ValueError):
            return HttpReply(status, None, f"HTTP {status} with a body that is not JSON")
        return HttpReply(status, body, None)

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
        # Let aiohttp finish closing the connector's transports.
        await asyncio.sleep(0)
