"""What a PG call can end in. Adapters never raise for a PG answer; they return one of these.

* `Approved` / `BillingKeyIssued` / `Cancelled` — the PG did it.
* `Declined` — the PG definitely did not do it (never retry the same request blindly).
* `InDoubt` — we cannot tell (timeout, 5xx, dropped connection, unparsable 2xx). For payments,
  resolve it with `pg_client.recovery` (look the order up) before telling anyone anything.
* `NotFound` — a lookup found no payment for the order.

"Not charged" convention: when recovery proves an in-doubt payment never happened, it returns
`Declined(code=NOT_CHARGED, category=DeclineCategory.other)`; `Declined.not_charged` is True
for exactly those. The payer may safely try again (with a new order id).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeAlias

NOT_CHARGED = "NOT_CHARGED"


class DeclineCategory(StrEnum):
    insufficient_limit = "insufficient_limit"
    invalid_card = "invalid_card"
    expired_card = "expired_card"
    wrong_pin = "wrong_pin"
    wrong_identity = "wrong_identity"
    stopped_or_lost = "stopped_or_lost"
    installment_not_allowed = "installment_not_allowed"
    amount_not_allowed = "amount_not_allowed"
    other = "other"


@dataclass(frozen=True, slots=True)
class Approved:
    payment_ref: str  # Toss paymentKey / PortOne imp_uid
    approval_number: str
    approved_at: dt.datetime
    amount: int
    issuer: str | None
    brand: str | None
    masked_number: str
    installment_months: int
    order_id: str


@dataclass(frozen=True, slots=True)
class Declined:
    code: str
    message: str
    category: DeclineCategory

    @property
    def not_charged(self) -> bool:
        """True when recovery proved an in-doubt call never charged (see module doc)."""
        return self.code == NOT_CHARGED


@dataclass(frozen=True, slots=True)
class InDoubt:
    reason: str
    # False only when the request provably never left this host (connection refused,
    # connect timeout, no auth token): then nothing can have been charged.
    maybe_charged: bool = True


@dataclass(frozen=True, slots=True)
class NotFound:
    pass


@dataclass(frozen=True, slots=True)
class BillingKeyIssued:
    billing_key: str = field(repr=False)  # a credential: kept out of repr
    customer_key: str
    issuer: str | None
    brand: str | None
    masked_number: str
    authenticated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Cancelled:
    payment_ref: str
    # cancel(): the amount this cancel refunded; lookups: the total refunded so far.
    cancelled_amount: int
    remaining_amount: int
    status: str  # "CANCELED" | "PARTIAL_CANCELED"


CANCELED = "CANCELED"
PARTIAL_CANCELED = "PARTIAL_CANCELED"

PaymentOutcome: TypeAlias = Approved | Declined | InDoubt
BillingKeyOutcome: TypeAlias = BillingKeyIssued | Declined | InDoubt
CancelOutcome: TypeAlias = Cancelled | Declined | InDoubt
LookupOutcome: TypeAlias = Approved | Declined | NotFound | InDoubt
PaymentStateOutcome: TypeAlias = Approved | Cancelled | Declined | NotFound | InDoubt


def not_charged(message: str = "the PG has no payment for this order") -> Declined:
    return Declined(code=NOT_CHARGED, message=message, category=DeclineCategory.other)
