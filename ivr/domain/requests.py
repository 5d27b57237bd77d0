"""ARS requests: kinds, statuses, the legal transitions, and the stored record."""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    PAYMENT = "payment"
    BILLING_REGISTER = "billing_register"
    BILLING_CHARGE = "billing_charge"


class Status(StrEnum):
    PENDING = "pending"
    IN_CALL = "in_call"
    AUTHORIZING = "authorizing"
    APPROVED = "approved"
    DECLINED = "declined"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    FAILED = "failed"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


class Delivery(StrEnum):
    SMS = "sms"
    DISPLAY = "display"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.IN_CALL, Status.EXPIRED, Status.CANCELLED}),
    Status.IN_CALL: frozenset({Status.AUTHORIZING, Status.PENDING, Status.FAILED,
                               Status.EXPIRED, Status.DECLINED, Status.CANCELLED}),
    Status.AUTHORIZING: frozenset({Status.APPROVED, Status.DECLINED, Status.IN_CALL,
                                   Status.PENDING, Status.FAILED}),
    Status.APPROVED: frozenset({Status.REFUNDED, Status.PARTIALLY_REFUNDED}),
    Status.PARTIALLY_REFUNDED: frozenset({Status.REFUNDED, Status.PARTIALLY_REFUNDED}),
    Status.DECLINED: frozenset(),
    Status.EXPIRED: frozenset(),
    Status.CANCELLED: frozenset(),
    Status.FAILED: frozenset(),
    Status.REFUNDED: frozenset(),
}

# States in which the virtual number is still held by the request.
HOLDS_NUMBER = frozenset({Status.PENDING, Status.IN_CALL, Status.AUTHORIZING})

# What reaches the durable outbox when a request enters a status (atomically with the change).
OUTBOX_ON_STATUS: dict[Status, tuple[str, ...]] = {
    Status.APPROVED: ("callback", "receipt_sms"),
    Status.DECLINED: ("callback",),
    Status.FAILED: ("callback",),
    Status.EXPIRED: ("callback",),
    Status.CANCELLED: ("callback",),
    Status.REFUNDED: ("callback", "cancel_sms"),
    Status.PARTIALLY_REFUNDED: ("callback", "cancel_sms"),
}


def new_request_id() -> str:
    """Time-ordered, unguessable: 11 hex digits of milliseconds + 12 random hex digits."""
    return f"ars_{int(time.time() * 1000):011x}{secrets.token_hex(6)}"


def now_ms() -> int:
    return int(time.time() * 1000)


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )


@dataclass
class ArsRequest:
    """One ARS request as stored in Redis. Never holds card data: masked card only."""

    id: str
    merchant_id: str
    kind: Kind
    order_id: str
    product_name: str
    amount: int
    payer_name: str
    payer_phone: str
    virtual_number: str
    delivery: Delivery
    status: Status
    created_at: int
    expires_at: int
    updated_at: int
    callback_url: str = ""
    max_installment_months: int = 0
    language: str = "ko"
    call_attempts: int = 0
    pg_attempts: int = 0
    call_id: str = ""
    lease_until: int = 0
    sms_status: str = ""
    sms_error: str = ""
    sms_message_id: str = ""
    cancelled_by: str = ""
    cancel_reason: str = ""
    failure_reason: str = ""
    pg_order_id: str = ""
    pg_payment_ref: str = ""
    approval_number: str = ""
    approved_at: int = 0
    approved_amount: int = 0
    refunded_amount: int = 0
    card_masked: str = ""
    card_brand: str = ""
    card_issuer: str = ""
    installment_months: int = 0
    decline_code: str = ""
    decline_category: str = ""
    decline_message: str = ""
    customer_key: str = ""
    billing_key_ref: str = ""

    def to_redis(self) -> dict[str, str]:
        return {key: str(value) for key, value in asdict(self).items()}

    @classmethod
    def from_redis(cls, data: dict[str, str]) -> ArsRequest:
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            raw = data[f.name]
            if f.name in _INT_NAMES:
                kwargs[f.name] = int(raw or 0)
            elif f.name == "kind":
                kwargs[f.name] = Kind(raw)
            elif f.name == "status":
                kwargs[f.name] = Status(raw)
            elif f.name == "delivery":
                kwargs[f.name] = Delivery(raw)
            else:
                kwargs[f.name] = raw
        return cls(**kwargs)

    @property
    def remaining_amount(self) -> int:
        return self.approved_amount - self.refunded_amount


_INT_NAMES = frozenset(
    f.name for f in fields(ArsRequest) if f.type in ("int", int)
)
