"""The merchant callback body: a snapshot of what one status change means.

A callback can be delivered long after its status change (retries), when the request has moved
on (an approval later refunded). The body therefore describes the request *as of that event*:
an ``approved`` callback always says refunded 0; a refund's callback carries the totals of that
refund, taken from the event the store recorded with it.
"""

from __future__ import annotations

import json
from typing import Any

from ivr.domain.requests import ArsRequest, Status, iso

EVENT_TYPE_PREFIX = "ars_request."
REFUND_STATUSES = frozenset({Status.REFUNDED, Status.PARTIALLY_REFUNDED})


def webhook_id_for(request_id: str, event_id: str) -> str:
    """Stable for one status change of one request, whatever the attempt: receivers dedupe on
    it."""
    return f"msg_{request_id}_{event_id}"


def callback_payload(
    request: ArsRequest, status: Status, event_id: str, at: int, event_data: dict[str, Any]
) -> dict[str, Any]:
    """``{"type", "timestamp", "data"}`` for the status ``status`` entered at ``at`` (ms)."""
    approved = status is Status.APPROVED or status in REFUND_STATUSES
    if status in REFUND_STATUSES:
        refunded = _int(event_data.get("refunded_amount"), request.refunded_amount)
        refund: dict[str, Any] | None = {
            "amount": _int(event_data.get("refund_amount"), 0),
            "reason": event_data.get("reason") or None,
            "refunded_at": iso(at),
        }
    else:
        refunded, refund = 0, None
    approved_amount = request.approved_amount if approved else 0
    card = None
    if request.card_masked and (approved or status is Status.DECLINED):
        card = {
            "masked": request.card_masked,
            "brand": request.card_brand or None,
            "issuer": request.card_issuer or None,
        }
    data: dict[str, Any] = {
        "id": request.id,
        "order_id": request.order_id,
        "kind": request.kind.value,
        "status": status.value,
        "amount": request.amount,
        "approved_amount": approved_amount,
        "refunded_amount": refunded,
        "remaining_amount": approved_amount - refunded,
        "refund": refund,
        "approval_number": request.approval_number if approved else None,
        "pg_payment_ref": request.pg_payment_ref if approved else None,
        "card": card,
        "installment_months": request.installment_months if approved else None,
        "decline": None,
        "cancellation": None,
        "failure_reason": (request.failure_reason or None) if status is Status.FAILED else None,
        "created_at": iso(request.created_at),
        "expires_at": iso(request.expires_at),
        "approved_at": iso(request.approved_at) if approved and request.approved_at else None,
        "event_at": iso(at),
        "event_id": event_id,
    }
    if status is Status.DECLINED:
        data["decline"] = {
            "category": request.decline_category or None,
            "code": request.decline_code or None,
            "message": request.decline_message or None,
        }
    if status is Status.CANCELLED:
        data["cancellation"] = {
            "cancelled_by": request.cancelled_by or None,
            "reason": request.cancel_reason or None,
        }
    return {"type": EVENT_TYPE_PREFIX + status.value, "timestamp": iso(at), "data": data}


def encode(payload: dict[str, Any]) -> str:
    """The exact text that is signed and sent (compact, UTF-8, keys in a fixed order)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
