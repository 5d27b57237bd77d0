"""The simulator's memory: payments, billing keys, idempotent replies and a request log.

It keeps what a PG shows back (masked number, BIN, issuer), never the full card number.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

KST = dt.timezone(dt.timedelta(hours=9))


def now_kst() -> str:
    return dt.datetime.now(KST).isoformat(timespec="seconds")


def toss_masked(number: str) -> str:
    """Toss style: first 8 shown, then stars, 3 more digits, last digit starred."""
    return number[:8] + "*" * (len(number) - 12) + number[-4:-1] + "*"


@dataclass(slots=True)
class SimPayment:
    payment_key: str
    order_id: str
    order_name: str
    amount: int
    payment_type: str  # "NORMAL" (keyed-in) | "BILLING"
    card_masked: str
    issuer_code: str
    installment_months: int
    approve_no: str
    customer_name: str | None = None
    status: str = "DONE"
    balance: int = 0
    requested_at: str = field(default_factory=now_kst)
    approved_at: str = field(default_factory=now_kst)
    cancels: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.balance = self.amount

    def to_json(self) -> dict[str, Any]:
        return {
            "mId": "arspay_sim",
            "version": "2022-11-16",
            "lastTransactionKey": secrets.token_hex(16),
            "paymentKey": self.payment_key,
            "orderId": self.order_id,
            "orderName": self.order_name,
            "status": self.status,
            "method": "카드",
            "type": self.payment_type,
            "currency": "KRW",
            "country": "KR",
            "requestedAt": self.requested_at,
            "approvedAt": self.approved_at,
            "totalAmount": self.amount,
            "balanceAmount": self.balance,
            "suppliedAmount": self.balance - self.balance // 11,
            "vat": self.balance // 11,
            "taxFreeAmount": 0,
            "card": {
                "issuerCode": self.issuer_code,
                "acquirerCode": self.issuer_code,
                "number": self.card_masked,
                "installmentPlanMonths": self.installment_months,
                "isInterestFree": False,
                "approveNo": self.approve_no,
                "useCardPoint": False,
                "cardType": "신용",
                "ownerType": "개인",
                "acquireStatus": "READY",
                "amount": self.amount,
            },
            "cancels": list(self.cancels) or None,
            "failure": None,
            "receipt": {"url": f"https://sim.invalid/receipt/{self.payment_key}"},
        }


@dataclass(frozen=True, slots=True)
class SimBillingKey:
    billing_key: str
    customer_key: str
    card_masked: str
    issuer_code: str
    test_card: str | None  # number key into TEST_CARDS (only for the documented test cards)
    authenticated_at: str


@dataclass(slots=True)
class Ledger:
    payments: dict[str, SimPayment] = field(default_factory=dict)  # by paymentKey
    by_order: dict[str, str] = field(default_factory=dict)  # orderId → paymentKey
    billing_keys: dict[str, SimBillingKey] = field(default_factory=dict)
    charges: Counter[str] = field(default_factory=Counter)  # orderId → times charged
    refunds: Counter[str] = field(default_factory=Counter)  # paymentKey → cancels run
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, route)
    replies: dict[tuple[str, str], tuple[int, dict[str, Any]]] = field(default_factory=dict)
    in_flight: set[tuple[str, str]] = field(default_factory=set)

    def charge_count(self, order_id: str) -> int:
        return self.charges[order_id]

    def request_count(self, route: str | None = None) -> int:
        """Requests received (that passed authentication), optionally for one route."""
        return sum(1 for _m, r in self.requests if route is None or r == route)

    def payment_for_order(self, order_id: str) -> SimPayment | None:
        key = self.by_order.get(order_id)
        return None if key is None else self.payments[key]

    def record_charge(self, payment: SimPayment) -> None:
        self.payments[payment.payment_key] = payment
        self.by_order[payment.order_id] = payment.payment_key
        self.charges[payment.order_id] += 1
