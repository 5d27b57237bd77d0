"""POST /v1/ars-requests/{id}/refund — full or partial refunds through the PG's cancel API."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ivr.api.app import SERVICES, _idempotent, _json_body, _merchant, _own_request
from ivr.api.errors import ApiError
from ivr.api.schemas import RefundArsRequest, parse_body
from ivr.api.views import request_view


async def refund_request(request: web.Request) -> web.Response:
    merchant = _merchant(request)
    body = await _json_body(request)
    parsed = parse_body(RefundArsRequest, body)
    target = await _own_request(request, merchant)
    services = request.app[SERVICES]
    pg = services.pg_clients.get(merchant.pg)

    async def run() -> tuple[int, dict[str, Any]]:
        if pg is None:
            raise ApiError(503, "pg_unavailable", f"no PG client is configured for {merchant.pg!r}")
        refunded = await services.ars.refund(merchant, target, parsed.amount, parsed.reason, pg)
        return 200, request_view(refunded)

    return await _idempotent(request, merchant, f"refund:{target.id}", body, run)


def register(app: web.Application) -> None:
    app.router.add_post(
        "/v1/ars-requests/{request_id}/refund", refund_request, name="refund_ars_request"
    )
