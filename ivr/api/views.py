"""How an ARS request looks in API responses (no card data exists to show: masked only)."""

from __future__ import annotations

from typing import Any

from ivr.domain.phones import national_display
from ivr.domain.requests import ArsRequest, Status, iso


def request_view(request: ArsRequest) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": request.id,
        "kind": request.kind.value,
        "status": request.status.value,
        "order_id": request.order_id,
        "product_name": request.product_name,
        "amount": request.amount,
        "payer_name": request.payer_name,
        "payer_phone": request.payer_phone,
        "virtual_number": {
            "e164": request.virtual_number,
            "display": national_display(request.virtual_number),
        },
        "delivery": request.delivery.value,
        "callback_url": request.callback_url or None,
        "max_installment_months": request.max_installment_months,
        "created_at": iso(request.created_at),
        "updated_at": iso(request.updated_at),
        "expires_at": iso(request.expires_at),
        "call_attempts": request.call_attempts,
        "sms": {"status": request.sms_status, "error": request.sms_error or None},
        "payment": None,
        "decline": None,
        "cancellation": None,
        "failure_reason": request.failure_reason or None,
    }
    if request.approval_number:
        view["payment"] = {
            "approval_number": request.approval_number,
            "pg_payment_ref": request.pg_payment_ref,
            "approved_at": iso(request.approved_at),
            "approved_amount": request.approved_amount,
            "refunded_amount": request.refunded_amount,
            "remaining_amount": request.remaining_amount,
            "card": {
                "masked": request.card_masked,
                "brand": request.card_brand or None,
                "issuer": request.card_issuer or None,
            },
            "installment_months": request.installment_months,
        }
    if request.decline_category:
        view["decline"] = {
            "category": request.decline_category,
            "code": request.decline_code,
            "message": request.decline_message,
        }
    if request.status is Status.CANCELLED:
        view["cancellation"] = {
            "cancelled_by": request.cancelled_by,
            "reason": request.cancel_reason or None,
        }
    return view
