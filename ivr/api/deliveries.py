"""What the outbox did for a request (callbacks, SMS, every attempt), re-sending a callback by
hand, and the merchant's dead letters."""

from __future__ import annotations

from aiohttp import web

from ivr.api.app import SERVICES, _merchant, _own_request
from ivr.api.errors import ApiError, json_response
from ivr.domain.requests import iso
from ivr.outbox.deliveries import DeliveryLog, ResendRefused, delivery_view
from ivr.outbox.keys import OutboxKeys

DEAD_LETTERS_MAX = 200


def _log(request: web.Request) -> DeliveryLog:
    services = request.app[SERVICES]
    return DeliveryLog(services.redis, OutboxKeys(services.keys))


async def list_deliveries(request: web.Request) -> web.Response:
    merchant = _merchant(request)
    target = await _own_request(request, merchant)
    items = [delivery_view(d, attempts) for d, attempts in await _log(request).list(target.id)]
    return json_response({"request_id": target.id, "items": items})


async def resend_delivery(request: web.Request) -> web.Response:
    merchant = _merchant(request)
    target = await _own_request(request, merchant)
    delivery_id = request.match_info["delivery_id"]
    try:
        delivery = await _log(request).resend(target.id, delivery_id)
    except ResendRefused as exc:
        status = 404 if exc.code == "not_found" else 409
        raise ApiError(status, exc.code, exc.message, "delivery_id") from None
    return json_response(delivery_view(delivery, []), 202)


async def list_dead_letters(request: web.Request) -> web.Response:
    merchant = _merchant(request)
    try:
        limit = int(request.query.get("limit", "50"))
    except ValueError:
        limit = 0
    if not 1 <= limit <= DEAD_LETTERS_MAX:
        raise ApiError(
            422, "invalid_parameter", f"limit must be an integer from 1 to {DEAD_LETTERS_MAX}",
            "limit",
        )
    letters = await _log(request).dead_letters(merchant.id, limit)
    items = [
        {
            "id": letter["id"],
            "request_id": letter.get("request_id"),
            "delivery_id": letter.get("delivery_id"),
            "kind": letter.get("kind"),
            "status": letter.get("status"),
            "attempts": int(letter.get("attempts") or 0),
            "last_error": letter.get("last_error") or None,
            "dead_at": iso(int(letter.get("at") or 0)),
        }
        for letter in letters
    ]
    return json_response({"items": items})


def register(app: web.Application) -> None:
    app.router.add_get(
        "/v1/ars-requests/{request_id}/deliveries", list_deliveries, name="list_deliveries"
    )
    app.router.add_post(
        "/v1/ars-requests/{request_id}/deliveries/{delivery_id}/resend",
        resend_delivery,
        name="resend_delivery",
    )
    app.router.add_get("/v1/dead-letters", list_dead_letters, name="list_dead_letters")
