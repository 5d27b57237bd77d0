"""The one interface every PG adapter implements, and the order it is given."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from pg_client.card import CardData
from pg_client.outcomes import (
    BillingKeyOutcome,
    CancelOutcome,
    LookupOutcome,
    PaymentOutcome,
    PaymentStateOutcome,
)

ORDER_ID_RE = re.compile(r"[A-Za-z0-9_-]{6,64}")
MAX_IDEMPOTENCY_KEY = 300  # Toss keeps keys ≤ 300 chars for 15 days
_ORDER_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
MAX_INSTALLMENT_MONTHS = 12
MIN_INSTALLMENT_AMOUNT = 50_000  # KRW; below this only lump sum (0) is allowed


def check_installment(months: int) -> None:
    """0 = lump sum, else 2-12 months. A programming error otherwise (the flow validates)."""
    if isinstance(months, bool) or not isinstance(months, int):
        raise TypeError("installment_months must be an int")
    if months != 0 and not 2 <= months <= MAX_INSTALLMENT_MONTHS:
        raise ValueError("installment_months must be 0 (lump sum) or 2-12")


@dataclass(frozen=True, slots=True)
class Order:
    """One authorization attempt. `order_id` must be new for every attempt that may charge."""

    order_id: str
    order_name: str
    amount: int
    customer_name: str | None
    idempotency_key: str

    def __post_init__(self) -> None:
        if not ORDER_ID_RE.fullmatch(self.order_id):
            raise ValueError("order_id must be 6-64 characters of [A-Za-z0-9_-]")
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount <= 0:
            raise ValueError("amount must be a positive int (KRW)")
        if not self.order_name:
            raise ValueError("order_name is required")
        if not 0 < len(self.idempotency_key) <= MAX_IDEMPOTENCY_KEY:
            raise ValueError(f"idempotency_key must be 1-{MAX_IDEMPOTENCY_KEY} characters")


def idempotency_key_for(request_id: str, attempt: int, operation: str) -> str:
    """Deterministic key: the same (request, attempt, operation) always maps to the same key,
    so a resent request after a crash or timeout replays instead of charging again."""
    if not request_id or not operation or attempt < 0:
        raise ValueError("request_id and operation are required, attempt >= 0")
    key = f"arspay:{operation}:{request_id}:{attempt}"
    if len(key) > MAX_IDEMPOTENCY_KEY:
        key = "arspay:sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def order_id_for(request_id: str, attempt: int) -> str:
    """A PG-acceptable order id for one attempt of one request (unique per attempt)."""
    base = _ORDER_ID_UNSAFE.sub("_", request_id)
    suffix = f"-{attempt}"
    if len(base) + len(suffix) > 64:
        base = hashlib.sha256(request_id.encode()).hexdigest()[:40]
    order_id = base + suffix
    if len(order_id) < 6:
        order_id = order_id.rjust(6, "0")
    return order_id


@runtime_checkable
class PgClient(Protocol):
    """A payment gateway. Every method returns an outcome; none raises for a PG answer."""

    async def authorize_keyed(
        self, order: Order, card: CardData, installment_months: int
    ) -> PaymentOutcome: ...

    async def issue_billing_key(
        self, customer_key: str, card: CardData, *, idempotency_key: str | None = None
    ) -> BillingKeyOutcome:
        """Register the card for later charges. No money moves, so an in-doubt issue can be
        resent (Toss replays it under the same idempotency key) or simply retried."""
        ...

    async def charge_billing_key(
        self, billing_key: str, customer_key: str, order: Order, installment_months: int
    ) -> PaymentOutcome: ...

    async def cancel(
        self, payment_ref: str, amount: int | None, reason: str, idempotency_key: str
    ) -> CancelOutcome: ...

    async def lookup(self, order_id: str) -> LookupOutcome:
        """Was the order charged? A since-cancelled payment still reads as Approved here."""
        ...

    async def lookup_payment(self, order_id: str) -> PaymentStateOutcome:
        """Current state of the order's payment, with Cancelled for refunded ones."""
        ...

    async def close(self) -> None: ...
