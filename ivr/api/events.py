"""Live events as Server-Sent Events: one request's (``/v1/ars-requests/{id}/events``) or all of
a merchant's (``/v1/events``). What the agent console shows.

Each event is ``id: <stream id>`` / ``event: <type>`` / ``data: <json>``; a client that
reconnects with ``Last-Event-ID`` (header, or ``last_event_id`` query parameter) gets every
event after that one and nothing twice: the ids are Redis Stream ids, totally ordered.
A request's stream starts from its first event; the merchant's from "now" unless resumed.
Events name steps, never digits; any long digit run in event data is blanked anyway.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any

from aiohttp import web

from ivr.api.app import SERVICES, _merchant, _own_request
from ivr.api.errors import ApiError
from ivr.domain.requests import iso

HEARTBEAT_SECONDS = 15.0
READ_BATCH = 100
RECONNECT_MS = 2000
_STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
_CARD_LIKE = re.compile(r"\d(?:[ -]?\d){11,}")

STREAMS: web.AppKey[set[asyncio.Task[Any]]] = web.AppKey("sse_streams", set)
LIMIT: web.AppKey[asyncio.Semaphore] = web.AppKey("sse_limit", asyncio.Semaphore)


def _resume_from(request: web.Request) -> str | None:
    raw = request.headers.get("Last-Event-ID") or request.query.get("last_event_id")
    if raw is None or not raw.strip():
        return None
    raw = raw.strip()
    if not _STREAM_ID.match(raw):
        raise ApiError(
            422,
            "invalid_parameter",
            "Last-Event-ID must be an event id this stream sent (like 1712345678901-0)",
            "Last-Event-ID",
        )
    return raw


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _CARD_LIKE.sub("[digits]", value)
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _event_view(entry_id: str, fields: dict[str, str], request_id: str | None) -> dict[str, Any]:
    try:
        data = json.loads(fields.get("data") or "{}")
    except ValueError:
        data = {}
    return {
        "id": entry_id,
        "request_id": request_id or fields.get("request_id"),
        "type": fields.get("type"),
        "status": fields.get("status"),
        "at": iso(int(fields.get("at") or 0)),
        "data": _scrub(data),
    }


def _frame(view: dict[str, Any]) -> bytes:
    data = json.dumps(view, ensure_ascii=False)
    return f"id: {view['id']}\nevent: {view['type']}\ndata: {data}\n\n".encode()


async def _stream(
    request: web.Request,
    key: str,
    cursor: str,
    view: Callable[[str, dict[str, str]], dict[str, Any]],
) -> web.StreamResponse:
    app = request.app
    limit = app[LIMIT]
    if limit.locked():
        raise ApiError(503, "too_many_streams", "too many live event streams are open; retry later")
    redis = app[SERVICES].redis
    async with limit:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        task = asyncio.current_task()
        assert task is not None
        app[STREAMS].add(task)
        try:
            await response.write(f"retry: {RECONNECT_MS}\n\n".encode())
            while True:
                reply = await redis.xread(
                    {key: cursor}, count=READ_BATCH, block=int(HEARTBEAT_SECONDS * 1000)
                )
                if request.transport is None or request.transport.is_closing():
                    break
                if not reply:
                    await response.write(b": keepalive\n\n")
                    continue
                for _stream_key, items in reply:
                    for entry_id, fields in items:
                        await response.write(_frame(view(entry_id, fields)))
                        cursor = entry_id
        except ConnectionResetError:
            pass  # the client went away
        finally:
            app[STREAMS].discard(task)
        return response


async def request_events(request: web.Request) -> web.StreamResponse:
    merchant = _merchant(request)
    target = await _own_request(request, merchant)
    cursor = _resume_from(request) or "0-0"
    key = request.app[SERVICES].keys.request_events(target.id)
    return await _stream(
        request, key, cursor, lambda entry_id, fields: _event_view(entry_id, fields, target.id)
    )


async def merchant_events(request: web.Request) -> web.StreamResponse:
    merchant = _merchant(request)
    services = request.app[SERVICES]
    key = services.keys.merchant_events(merchant.id)
    cursor = _resume_from(request)
    if cursor is None:
        last = await services.redis.xrevrange(key, count=1)
        cursor = last[0][0] if last else "0-0"
    return await _stream(
        request, key, cursor, lambda entry_id, fields: _event_view(entry_id, fields, None)
    )


async def _close_streams(app: web.Application) -> None:
    """Open streams would hold the shutdown for a heartbeat period; end them now."""
    for task in list(app[STREAMS]):
        task.cancel()


def register(app: web.Application) -> None:
    services = app[SERVICES]
    app[STREAMS] = set()
    # Each open stream holds one Redis connection while it waits: keep most of the pool free.
    app[LIMIT] = asyncio.Semaphore(max(services.settings.redis.max_connections // 4, 1))
    app.on_shutdown.append(_close_streams)
    app.router.add_get(
        "/v1/ars-requests/{request_id}/events", request_events, name="ars_request_events"
    )
    app.router.add_get("/v1/events", merchant_events, name="merchant_events")
