"""The payer's text messages that leave through the outbox: the billing SMS (the number to
call), the receipt (매출전표) after an approval, and the cancellation after a refund.

Texts come from ``sms.templates`` (EUC-KR safe, byte budgets, masked card only).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ivr.config import MerchantSettings
from ivr.domain.phones import is_mobile, national_display
from ivr.domain.requests import ArsRequest
from sms.base import SmsMessage
from sms.templates import billing_sms, cancel_sms, receipt_sms

# outbox kind → SmsMessage.kind
SMS_KINDS = {"billing_sms": "billing", "receipt_sms": "receipt", "cancel_sms": "cancel"}


class NoMessage(Exception):
    """Nothing to send for this entry (the reason says why); not an error to retry."""


def _moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def payer_message(
    kind: str,
    merchant: MerchantSettings,
    request: ArsRequest,
    at: int,
    event_data: dict[str, Any],
) -> SmsMessage:
    """The SMS for one outbox entry of an SMS kind; NoMessage when there is none to send."""
    if not is_mobile(request.payer_phone):
        raise NoMessage("the payer phone is not a mobile number")
    if kind == "billing_sms":
        text = billing_sms(
            merchant.display_name,
            request.product_name,
            request.amount,
            national_display(request.virtual_number),
            _moment(request.expires_at),
        )
    elif kind == "receipt_sms":
        if not request.approval_number:
            raise NoMessage("the request has no approval to show")
        text = receipt_sms(
            merchant.display_name,
            request.approved_amount,
            request.approval_number,
            request.card_masked or "-",
            _moment(request.approved_at or at),
            request.installment_months,
        )
    elif kind == "cancel_sms":
        refunded = _int(event_data.get("refunded_amount"), request.refunded_amount)
        text = cancel_sms(
            merchant.display_name,
            _int(event_data.get("refund_amount"), refunded),
            max(request.approved_amount - refunded, 0),
            request.card_masked or "-",
            _moment(at),
        )
    else:
        raise ValueError(f"not an SMS kind: {kind!r}")
    return SmsMessage(
        to=request.payer_phone, text=text, kind=SMS_KINDS[kind], request_id=request.id
    )


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
