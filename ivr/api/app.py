"""The merchant HTTP API (aiohttp, JSON, /v1)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from ivr.api.errors import ApiError, error_response, json_response
from ivr.api.openapi import openapi_document
from ivr.api.schemas import CancelArsRequest, CreateArsRequest, parse_body
from ivr.api.views import request_view
from ivr.ars_requests import NewRequest
from ivr.config import MerchantSettings, hash_api_key
from ivr.domain.errors import RequestRejected
from ivr.domain.requests import ArsRequest, Delivery, Kind, Status
from ivr.services import Services
from ivr.store.idempotency import (
    IdempotencyConflict,
    IdempotencyInProgress,
    StoredResponse,
    fingerprint,
)
from ivr.store.requests import decode_cursor

log = logging.getLogger(__name__)

SERVICES: web.AppKey[Services] = web.AppKey("services", Services)
MERCHANT = "arspay.merchant"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except RequestRejected as exc:
        return error_response(exc)
    except web.HTTPRequestEntityTooLarge:
        return error_response(ApiError(413, "body_too_large", "the request body is too large"))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = exc.reason.lower().replace(" ", "_")
        return error_response(ApiError(exc.status, code, exc.reason))
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(ApiError(500, "internal_error", "internal error"))


def _merchant(request: web.Request) -> MerchantSettings:
    services = request.app[SERVICES]
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "missing or malformed Authorization: Bearer <api key>")
    merchant = services.merchants_by_key_hash.get(hash_api_key(token.strip()))
    if merchant is None:
        raise ApiError(401, "unauthorized", "unknown API key")
    return merchant


async def _json_body(request: web.Request) -> Any:
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "Content-Type must be application/json")
    limit = request.app[SERVICES].settings.http.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, "body_too_large", f"the request body is larger than {limit} bytes")
    raw = await request.read()
    if len(raw) > limit:
        raise ApiError(413, "body_too_large", f"the request body is larger than {limit} bytes")
    if not raw.strip():
        return {}
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(400, "invalid_json", "the body is not valid UTF-8 JSON") from None


def _idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise ApiError(
            400,
            "invalid_header",
            "Idempotency-Key must be 1–255 printable characters",
            "Idempotency-Key",
        )
    return key


async def _idempotent(
    request: web.Request,
    merchant: MerchantSettings,
    operation: str,
    body: Any,
    run: Callable[[], Awaitable[tuple[int, dict[str, Any]]]],
) -> web.Response:
    key = _idempotency_key(request)
    if key is None:
        status, data = await run()
        return json_response(data, status)
    store = request.app[SERVICES].idempotency
    fp = fingerprint(operation, body)
    try:
        replay = await store.begin(merchant.id, key, fp)
    except IdempotencyConflict:
        raise ApiError(
            422,
            "idempotency_key_reused",
            "this Idempotency-Key was used with a different request",
            "Idempotency-Key",
        ) from None
    except IdempotencyInProgress:
        raise ApiError(
            409,
            "idempotency_key_in_progress",
            "a request with this Idempotency-Key is still being processed",
            "Idempotency-Key",
        ) from None
    if replay is not None:
        response = json_response(replay.body, replay.status)
        response.headers["Idempotent-Replayed"] = "true"
        return response
    try:
        status, data = await run()
    except RequestRejected as error:
        if error.status >= 500:  # not an answer (e.g. the PG did not confirm): let a retry run
            await store.abandon(merchant.id, key)
        else:
            await store.finish(merchant.id, key, fp, StoredResponse(error.status, error.body()))
        raise
    except BaseException:
        await store.abandon(merchant.id, key)
        raise
    await store.finish(merchant.id, key, fp, StoredResponse(status, data))
    return json_response(data, status)


async def create_request(request: web.Request) -> web.Response:
    merchant = _merchant(request)
    body = await _json_body(request)
    parsed = parse_body(CreateArsRequest, body)
    services = request.app[SERVICES]

    async def run() -> tuple[int, dict[str, Any]]:
        created = await services.ars.create(
            merchant,
            NewRequest(
                kind=Kind(parsed.kind),
                order_id=parsed.order_id,
                product_name=parsed.product_name,
                amount=parsed.amount,
                payer_name=parsed.payer_name,
                payer_phone=parsed.payer_phone,
                delivery=Delivery(parsed.delivery),
                expires_in=parsed.expires_in,
                callback_url=parsed.callback_url,
                max_installment_months=parsed.max_installment_months,
            ),
        )
        return 201, request_view(created)

    return await _idempotent(request, merchant, "create", body, run)


async def _own_request(request: web.Request, merchant: MerchantSettings) -> ArsRequest:
    found = await request.app[SERVICES].store.get_for_merchant(
        merchant.id, request.match_info["request_id"]
    )
    if found is None:
        raise ApiError(404, "not_found", "no such ARS request", "request_id")
    return found


async def get_request(request: web.Request) -> web.Response:
    merchant = _merchant(request)
    return json_response(request_view(await _own_request(request, merchant)))


LIST_PARAMS = {"status", "created_from", "created_to", "cursor", "limit"}


def _parse_time(name: str, value: str) -> int:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(
            422, "invalid_parameter", f"{name} must be an ISO-8601 date-time", name
        ) from None
    if parsed.tzinfo is None:
        raise ApiError(422, "invalid_parameter", f"{name} must include a time zone", name)
    return int(parsed.timestamp() * 1000)


async def list_requests(request: web.Request) -> web.Response:
    merchant = _merchant(request)
    query = request.query
    unknown = sorted(set(query) - LIST_PARAMS)
    if unknown:
        raise ApiError(
            422, "unknown_parameter", f"unknown query parameter {unknown[0]!r}", unknown[0]
        )
    statuses: set[Status] | None = None
    if query.get("status"):
        try:
            statuses = {Status(s.strip()) for s in query["status"].split(",") if s.strip()}
        except ValueError:
            raise ApiError(
                422,
                "invalid_parameter",
                "status must be a comma-separated list of: " + ", ".join(s.value for s in Status),
                "status",
            ) from None
    created_from = (
        _parse_time("created_from", query["created_from"]) if "created_from" in query else None
    )
    created_to = _parse_time("created_to", query["created_to"]) if "created_to" in query else None
    try:
        limit = int(query.get("limit", "50"))
    except ValueError:
        limit = 0
    if not 1 <= limit <= 100:
        raise ApiError(422, "invalid_parameter", "limit must be an integer from 1 to 100", "limit")
    cursor = query.get("cursor") or None
    if cursor:
        try:
            decode_cursor(cursor)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(
                422, "invalid_parameter", "cursor is not one this API returned", "cursor"
            ) from None
    page = await request.app[SERVICES].store.list(
        merchant.id,
        statuses=statuses,
        created_from=created_from,
        created_to=created_to,
        cursor=cursor,
        limit=limit,
    )
    return json_response(
        {"items": [request_view(r) for r in page.items], "next_cursor": page.next_cursor}
    )


async def cancel_request(request: web.Request) -> web.Response:
    merchant = _merchant(request)
    body = await _json_body(request)
    parsed = parse_body(CancelArsRequest, body)
    target = await _own_request(request, merchant)
    services = request.app[SERVICES]

    async def run() -> tuple[int, dict[str, Any]]:
        who = f"merchant:{merchant.id}" + (f"/{parsed.cancelled_by}" if parsed.cancelled_by else "")
        cancelled = await services.ars.cancel(target, who, parsed.reason or "")
        return 200, request_view(cancelled)

    return await _idempotent(request, merchant, f"cancel:{target.id}", body, run)


async def openapi(request: web.Request) -> web.Response:
    return json_response(openapi_document(request.app.router))


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    checks: dict[str, str] = {}
    try:
        await services.redis.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"unreachable: {type(exc).__name__}"
    checks["pool"] = f"{len(services.pool.dids)} numbers" if services.pool.dids else "empty"
    ready = checks["redis"] == "ok" and bool(services.pool.dids)
    return json_response(
        {"status": "ready" if ready else "not_ready", "checks": checks}, 200 if ready else 503
    )


def register_result_routes(app: web.Application) -> None:
    """Refunds, outbox deliveries and live events (their modules import this one)."""
    from ivr.api import deliveries, events, refunds

    refunds.register(app)
    deliveries.register(app)
    events.register(app)


def create_app(services: Services) -> web.Application:
    app = web.Application(
        middlewares=[error_middleware],
        client_max_size=services.settings.http.max_body_bytes + 1024,
    )
    app[SERVICES] = services
    app.router.add_post("/v1/ars-requests", create_request, name="create_ars_request")
    app.router.add_get("/v1/ars-requests", list_requests, name="list_ars_requests")
    app.router.add_get("/v1/ars-requests/{request_id}", get_request, name="get_ars_request")
    app.router.add_post(
        "/v1/ars-requests/{request_id}/cancel", cancel_request, name="cancel_ars_request"
    )
    register_result_routes(app)
    app.router.add_get("/v1/openapi.json", openapi, name="openapi")
    app.router.add_get("/healthz", healthz, name="healthz")
    app.router.add_get("/readyz", readyz, name="readyz")
    return app
