"""Toss Payments v1 REST adapter (keyed-in payments, billing keys, cancels, lookups)."""

from __future__ import annotations

import base64
import datetime as dt
import logging
from typing import Any
from urllib.parse import quote

import aiohttp

from pg_client.base import Order, check_installment
from pg_client.bins import lookup_bin
from pg_client.card import CardData
from pg_client.http import HttpReply, JsonHttp, TransportFailure
from pg_client.outcomes import (
    CANCELED,
    PARTIAL_CANCELED,
    Approved,
    BillingKeyIssued,
    BillingKeyOutcome,
    Cancelled,
    CancelOutcome,
    Declined,
    InDoubt,
    LookupOutcome,
    NotFound,
    PaymentOutcome,
    PaymentStateOutcome,
)
from pg_client.redact import scrub_text
from pg_client.toss_codes import (
    CONFIGURATION_CODES,
    IN_DOUBT_CODES,
    ISSUER_CODES,
    NOT_FOUND_PAYMENT,
    category_for,
)

log = logging.getLogger("pg_client.toss")

KEY_IN = "/v1/payments/key-in"
BILLING_AUTH = "/v1/billing/authorizations/card"


def _segment(value: str) -> str:
    return quote(value, safe="")


def failure_outcome(reply: HttpReply | TransportFailure, *, op: str) -> Declined | InDoubt:
    """Outcome of a mutating call that did not succeed (shared by every Toss operation)."""
    if isinstance(reply, TransportFailure):
        return InDoubt(reply.reason, maybe_charged=reply.maybe_sent)
    body = reply.body if isinstance(reply.body, dict) else {}
    code = body.get("code") if isinstance(body.get("code"), str) else None
    message = scrub_text(body.get("message"))
    if reply.status >= 500:
        return InDoubt(f"http_{reply.status}" + (f":{code}" if code else ""))
    if reply.status == 429:
        return InDoubt("rate_limited", maybe_charged=False)
    if code is None:
        return Declined(f"HTTP_{reply.status}", message, category_for(""))
    if code in IN_DOUBT_CODES:
        return InDoubt(code.lower())
    if code in CONFIGURATION_CODES:
        log.error("toss %s refused our merchant configuration: %s", op, code)
    return Declined(code, message, category_for(code))


def _parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def payment_outcome(
    body: Any, *, card: CardData | None = None, cancelled_as_approved: bool = False
) -> Approved | Cancelled | Declined | InDoubt:
    """Read a Toss Payment object."""
    if not isinstance(body, dict):
        return InDoubt("unparsable_reply")
    status = body.get("status")
    payment_key = body.get("paymentKey")
    total = _int(body.get("totalAmount"))
    if not isinstance(payment_key, str) or not isinstance(status, str) or total is None:
        return InDoubt("malformed_payment")
    if status == "DONE" or (cancelled_as_approved and status in (CANCELED, PARTIAL_CANCELED)):
        return _approved(body, payment_key, total, card)
    if status in (CANCELED, PARTIAL_CANCELED):
        balance = _int(body.get("balanceAmount"))
        if balance is None:
            return InDoubt("malformed_payment")
        return Cancelled(payment_key, total - balance, balance, status)
    if status in ("ABORTED", "EXPIRED"):
        failure = body.get("failure") if isinstance(body.get("failure"), dict) else {}
        code = failure.get("code") if isinstance(failure.get("code"), str) else status
        return Declined(code, scrub_text(failure.get("message")), category_for(code))
    return InDoubt(f"payment_status_{status.lower()}")


def _approved(
    body: dict[str, Any], payment_key: str, total: int, card: CardData | None
) -> Approved | InDoubt:
    card_info = body.get("card") if isinstance(body.get("card"), dict) else {}
    approved_at = _parse_time(body.get("approvedAt"))
    order_id = body.get("orderId")
    if approved_at is None or not isinstance(order_id, str):
        return InDoubt("malformed_payment")
    pg_masked = card_info.get("number") if isinstance(card_info.get("number"), str) else ""
    bin_info = card.bin_info if card is not None else lookup_bin(pg_masked)
    issuer = ISSUER_CODES.get(str(card_info.get("issuerCode")), bin_info.issuer)
    return Approved(
        payment_ref=payment_key,
        approval_number=str(card_info.get("approveNo") or ""),
        approved_at=approved_at,
        amount=total,
        issuer=issuer,
        brand=bin_info.brand,
        masked_number=card.masked if card is not None else pg_masked,
        installment_months=_int(card_info.get("installmentPlanMonths")) or 0,
        order_id=order_id,
    )


class TossClient:
    """PgClient for Toss Payments (and the bundled simulator, which speaks the same subset)."""

    __slots__ = ("_auth", "_http")

    def __init__(
        self,
        base_url: str,
        secret_key: str,
        *,
        timeout: float = 10.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        if not secret_key:
            raise ValueError("secret_key is required")
        self._http = JsonHttp(base_url, timeout=timeout, session=session)
        self._auth = "Basic " + base64.b64encode(f"{secret_key}:".encode()).decode()

    def __repr__(self) -> str:
        return f"TossClient({self._http.base_url})"

    def _headers(self, idempotency_key: str | None) -> dict[str, str]:
        headers = {"Authorization": self._auth}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    async def _post(
        self, path: str, route: str, body: dict[str, Any], idempotency_key: str | None
    ) -> HttpReply | TransportFailure:
        return await self._http.request(
            "POST", path, route=route, headers=self._headers(idempotency_key), json_body=body
        )

    @staticmethod
    def _card_fields(card: CardData) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "cardNumber": card.reveal_number(),
            "cardExpirationYear": card.reveal_expiry_year(),
            "cardExpirationMonth": card.reveal_expiry_month(),
        }
        identity = card.reveal_identity()
        if identity is not None:
            fields["customerIdentityNumber"] = identity
        pin2 = card.reveal_pin2()
        if pin2 is not None:
            fields["cardPassword"] = pin2
        return fields

    def _payment_result(
        self, reply: HttpReply | TransportFailure, order: Order, card: CardData | None, op: str
    ) -> PaymentOutcome:
        if isinstance(reply, HttpReply) and 200 <= reply.status < 300:
            outcome = payment_outcome(reply.body, card=card)
            if isinstance(outcome, Approved) and (
                outcome.order_id != order.order_id or outcome.amount != order.amount
            ):
                outcome = InDoubt("reply_does_not_match_order")
            elif isinstance(outcome, Cancelled):
                # An idempotent replay of a payment that was approved and later refunded.
                outcome = InDoubt("payment_already_cancelled")
        else:
            outcome = failure_outcome(reply, op=op)
        log.info("toss %s order=%s amount=%d -> %s", op, order.order_id, order.amount,
                 _describe(outcome))
        return outcome

    async def authorize_keyed(
        self, order: Order, card: CardData, installment_months: int
    ) -> PaymentOutcome:
        check_installment(installment_months)
        body: dict[str, Any] = {
            "amount": order.amount,
            "orderId": order.order_id,
            "orderName": order.order_name,
            **self._card_fields(card),
            "cardInstallmentPlan": installment_months,
        }
        if order.customer_name:
            body["customerName"] = order.customer_name
        reply = await self._post(KEY_IN, "POST /v1/payments/key-in", body,
                                 order.idempotency_key)
        body.clear()
        return self._payment_result(reply, order, card, "key-in")

    async def issue_billing_key(
        self, customer_key: str, card: CardData, *, idempotency_key: str | None = None
    ) -> BillingKeyOutcome:
        body: dict[str, Any] = {"customerKey": customer_key, **self._card_fields(card)}
        reply = await self._post(BILLING_AUTH, "POST /v1/billing/authorizations/card", body,
                                 idempotency_key)
        body.clear()
        outcome: BillingKeyOutcome
        if isinstance(reply, HttpReply) and 200 <= reply.status < 300:
            outcome = self._billing_key(reply.body, card)
        else:
            outcome = failure_outcome(reply, op="billing-auth")
        log.info("toss billing-auth card=%s -> %s", card.masked, _describe(outcome))
        return outcome

    @staticmethod
    def _billing_key(body: Any, card: CardData) -> BillingKeyIssued | InDoubt:
        if not isinstance(body, dict):
            return InDoubt("unparsable_reply")
        billing_key = body.get("billingKey")
        customer_key = body.get("customerKey")
        authenticated_at = _parse_time(body.get("authenticatedAt"))
        if not isinstance(billing_key, str) or not isinstance(customer_key, str) or (
            authenticated_at is None
        ):
            return InDoubt("malformed_billing_key")
        card_info = body.get("card") if isinstance(body.get("card"), dict) else {}
        issuer = ISSUER_CODES.get(str(card_info.get("issuerCode")), card.issuer)
        return BillingKeyIssued(
            billing_key=billing_key,
            customer_key=customer_key,
            issuer=issuer,
            brand=card.brand,
            masked_number=card.masked,
            authenticated_at=authenticated_at,
        )

    async def charge_billing_key(
        self, billing_key: str, customer_key: str, order: Order, installment_months: int
    ) -> PaymentOutcome:
        check_installment(installment_months)
        body: dict[str, Any] = {
            "customerKey": customer_key,
            "amount": order.amount,
            "orderId": order.order_id,
            "orderName": order.order_name,
            "cardInstallmentPlan": installment_months,
        }
        if order.customer_name:
            body["customerName"] = order.customer_name
        reply = await self._post(f"/v1/billing/{_segment(billing_key)}",
                                 "POST /v1/billing/{billingKey}", body, order.idempotency_key)
        return self._payment_result(reply, order, None, "billing-charge")

    async def cancel(
        self, payment_ref: str, amount: int | None, reason: str, idempotency_key: str
    ) -> CancelOutcome:
        if amount is not None and (isinstance(amount, bool) or amount <= 0):
            raise ValueError("cancel amount must be positive (None = full cancel)")
        if not reason:
            raise ValueError("a cancel reason is required")
        body: dict[str, Any] = {"cancelReason": reason}
        if amount is not None:
            body["cancelAmount"] = amount
        reply = await self._post(f"/v1/payments/{_segment(payment_ref)}/cancel",
                                 "POST /v1/payments/{paymentKey}/cancel", body, idempotency_key)
        outcome: CancelOutcome
        if isinstance(reply, HttpReply) and 200 <= reply.status < 300:
            outcome = self._cancelled(reply.body, payment_ref)
        else:
            outcome = failure_outcome(reply, op="cancel")
        log.info("toss cancel payment=%s amount=%s -> %s", payment_ref, amount,
                 _describe(outcome))
        return outcome

    @staticmethod
    def _cancelled(body: Any, payment_ref: str) -> Cancelled | InDoubt:
        state = payment_outcome(body)
        if not isinstance(state, Cancelled) or state.payment_ref != payment_ref:
            return InDoubt("unexpected_cancel_reply")
        cancels = body.get("cancels")
        last = cancels[-1] if isinstance(cancels, list) and cancels else None
        this_cancel = _int(last.get("cancelAmount")) if isinstance(last, dict) else None
        if this_cancel is None:
            return InDoubt("unexpected_cancel_reply")
        return Cancelled(payment_ref, this_cancel, state.remaining_amount, state.status)

    async def lookup_payment(self, order_id: str) -> PaymentStateOutcome:
        return await self._lookup(order_id, cancelled_as_approved=False)

    async def lookup(self, order_id: str) -> LookupOutcome:
        # A charged-then-refunded payment reads as the approval it was.
        return await self._lookup(order_id, cancelled_as_approved=True)  # type: ignore[return-value]

    async def _lookup(self, order_id: str, *, cancelled_as_approved: bool) -> PaymentStateOutcome:
        reply = await self._http.request(
            "GET", f"/v1/payments/orders/{_segment(order_id)}",
            route="GET /v1/payments/orders/{orderId}", headers=self._headers(None),
        )
        outcome: PaymentStateOutcome
        if isinstance(reply, TransportFailure):
            outcome = InDoubt(f"lookup_{reply.reason}")
        elif 200 <= reply.status < 300:
            outcome = payment_outcome(reply.body, cancelled_as_approved=cancelled_as_approved)
            if isinstance(outcome, Approved | Cancelled) and (
                reply.body.get("orderId") != order_id
            ):
                outcome = InDoubt("reply_does_not_match_order")
        elif reply.status == 404 and isinstance(reply.body, dict) and (
            reply.body.get("code") == NOT_FOUND_PAYMENT
        ):
            outcome = NotFound()
        else:
            # A lookup cannot decline anything: any other answer leaves the question open.
            code = reply.body.get("code") if isinstance(reply.body, dict) else None
            outcome = InDoubt(f"lookup_http_{reply.status}" + (f":{code}" if code else ""))
        log.info("toss lookup order=%s -> %s", order_id, _describe(outcome))
        return outcome

    async def close(self) -> None:
        await self._http.close()


def _describe(outcome: object) -> str:
    """One safe log word for an outcome (no billing keys, no card data)."""
    if isinstance(outcome, Approved):
        return f"approved ref={outcome.payment_ref}"
    if isinstance(outcome, Declined):
        return f"declined code={outcome.code} category={outcome.category}"
    if isinstance(outcome, InDoubt):
        return f"in_doubt reason={outcome.reason} maybe_charged={outcome.maybe_charged}"
    if isinstance(outcome, Cancelled):
        return f"cancelled {outcome.status} remaining={outcome.remaining_amount}"
    if isinstance(outcome, BillingKeyIssued):
        return f"billing_key_issued customer={outcome.customer_key}"
    return type(outcome).__name__.lower()
