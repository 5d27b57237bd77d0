"""JSON over HTTP for the adapters, with failures sorted by "could the PG have acted on it?".

Nothing here logs bodies, headers or full URLs (paths can carry billing keys): callers pass a
`route` label ("POST /v1/billing/{billingKey}") that is safe to log.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp

log = logging.getLogger("pg_client.http")


@dataclass(frozen=True, slots=True)
class HttpReply:
    status: int
    body: Any  # parsed JSON, or None when the body was not JSON


@dataclass(frozen=True, slots=True)
class TransportFailure:
    reason: str
    maybe_sent: bool  # False only if the request provably never reached the PG


class JsonHttp:
    """A small JSON client around one aiohttp session (owned unless one is passed in)."""

    __slots__ = ("_base_url", "_owns_session", "_session", "_timeout")

    def __init__(
        self, base_url: str, *, timeout: float, session: aiohttp.ClientSession | None = None
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session = session
        self._owns_session = session is None

    @property
    def base_url(self) -> str:
        return self._base_url

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    async def request(
        self,
        method: str,
        path: str,
        *,
        route: str,
        headers: dict[str, str],
        json_body: dict[str, Any] | None = None,
    ) -> HttpReply | TransportFailure:
        session = self._get_session()
        data = None if json_body is None else json.dumps(json_body, ensure_ascii=False).encode()
        send_headers = dict(headers)
        if data is not None:
            send_headers["Content-Type"] = "application/json"
        try:
            async with session.request(
                method,
                self._base_url + path,
                data=data,
                headers=send_headers,
                timeout=self._timeout,
            ) as resp:
                raw = await resp.read()
                status = resp.status
        except aiohttp.ConnectionTimeoutError:
            return self._failed(route, "connect_timeout", maybe_sent=False)
        except aiohttp.ClientConnectorError:
            return self._failed(route, "connect_failed", maybe_sent=False)
        except TimeoutError:
            return self._failed(route, "timeout", maybe_sent=True)
        except aiohttp.ServerDisconnectedError:
            return self._failed(route, "connection_dropped", maybe_sent=True)
        except aiohttp.ClientError as exc:
            return self._failed(route, f"transport_error:{type(exc).__name__}", maybe_sent=True)
        finally:
            data = None
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        log.debug("%s -> HTTP %d", route, status)
        return HttpReply(status, body)

    @staticmethod
    def _failed(route: str, reason: str, *, maybe_sent: bool) -> TransportFailure:
        # Exception text is not logged: aiohttp puts full URLs in it.
        log.warning("%s -> no reply (%s, maybe_sent=%s)", route, reason, maybe_sent)
        return TransportFailure(reason, maybe_sent)

    async def close(self) -> None:
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()
        # Give aiohttp's connector a tick to close its transports cleanly.
        await asyncio.sleep(0)
