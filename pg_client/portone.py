"""PortOne v1 (iamport) REST adapter: keyed-in payments, billing keys, cancels, lookups.

PortOne has no idempotency header: `merchant_uid` (our order id) is unique per payment, and a
cancel carries a `checksum` (the refundable amount before the cancel), which we pin per
idempotency key so a resent cancel cannot refund twice.
Every reply is `{code, message, response}`; code 0 only means the PG was reached — a payment
succeeded only when `response.status == "paid"`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
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
    DeclineCategory,
    Declined,
    InDoubt,
    LookupOutcome,
    NotFound,
    PaymentOutcome,
    PaymentStateOutcome,
)
from pg_client.redact import scrub_text

log = logging.getLogger("pg_client.portone")

KST = dt.timezone(dt.timedelta(hours=9))
TOKEN_REFRESH_MARGIN = 60.0  # seconds before `expired_at` at which a token is replaced
MAX_PINNED_CANCELS = 1024

C = DeclineCategory
# fail_reason / message keywords → category, first match wins (best effort: PortOne passes
# the underlying PG's text through, e.g. "[8326] 한도초과").
FAIL_REASON_CATEGORIES: tuple[tuple[tuple[str, ...], DeclineCategory], ...] = (
    (("할부",  "installment", "quota"), C.installment_not_allowed),
    (("한도", "잔액", "limit", "insufficient", "balance"), C.insufficient_limit),
    (("유효기간", "expir"), C.expired_card),
    (("비밀번호", "password", "pwd"), C.wrong_pin),
    (("생년월일", "주민", "사업자", "birth", "identity"), C.wrong_identity),
    (("분실", "도난", "정지", "lost", "stolen", "stopped", "suspended"), C.stopped_or_lost),
    (("최소", "금액", "amount"), C.amount_not_allowed),
    (("카드번호", "유효하지 않은 카드", "없는 카드", "card number", "invalid card"),
     C.invalid_card),
)
# Messages meaning "this merchant_uid was already used": a previous attempt may have charged.
DUPLICATE_KEYWORDS: tuple[str, ...] = ("중복", "이미 결제", "already paid", "duplicate")


def category_for_reason(text: str) -> DeclineCategory:
    lowered = text.lower()
    for keywords, category in FAIL_REASON_CATEGORIES:
        if any(word in lowered for word in keywords):
            return category
    return C.other


def format_card_number(number: str) -> str:
    """dddd-dddd-dddd-dddd (15-digit AMEX: dddd-dddddd-ddddd; others: groups of 4)."""
    if len(number) == 15:
        return f"{number[:4]}-{number[4:10]}-{number[10:]}"
    return "-".join(number[i : i + 4] for i in range(0, len(number), 4))


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


@dataclass(frozen=True, slots=True)
class _Envelope:
    status: int
    code: int | None
    message: str
    response: Any


def _envelope(reply: HttpReply) -> _Envelope:
    body = reply.body if isinstance(reply.body, dict) else {}
    return _Envelope(reply.status, _int(body.get("code")), scrub_text(body.get("message")),
                     body.get("response"))


def _decline_from_message(env: _Envelope) -> Declined | InDoubt:
    if any(word in env.message.lower() for word in DUPLICATE_KEYWORDS):
        return InDoubt("duplicate_merchant_uid")
    return Declined(f"PORTONE_{env.code}", env.message, category_for_reason(env.message))


def _payment_state(
    resp: Any, *, card: CardData | None, refunds: str = "strict"
) -> Approved | Cancelled | Declined | NotFound | InDoubt:
    """Read a PortOne payment object.

    refunds: "strict" – any refund shows as Cancelled (PortOne keeps a partially refunded
    payment "paid"); "as_approved" – a refunded payment reads as the approval it was.
    """
    if not isinstance(resp, dict):
        return InDoubt("malformed_payment")
    status = resp.get("status")
    imp_uid = resp.get("imp_uid")
    amount = _number(resp.get("amount"))
    if not isinstance(status, str) or not isinstance(imp_uid, str) or amount is None:
        return InDoubt("malformed_payment")
    cancelled = _number(resp.get("cancel_amount")) or 0
    if refunds == "as_approved" and status in ("paid", "cancelled"):
        return _approved(resp, imp_uid, amount, card)
    if status == "paid" and cancelled > 0:
        return Cancelled(imp_uid, cancelled, amount - cancelled, PARTIAL_CANCELED)
    if status == "paid":
        return _approved(resp, imp_uid, amount, card)
    if status == "cancelled":
        return Cancelled(imp_uid, cancelled, amount - cancelled,
                         CANCELED if cancelled >= amount else PARTIAL_CANCELED)
    if status == "failed":
        reason = scrub_text(resp.get("fail_reason"))
        return Declined("PAYMENT_FAILED", reason, category_for_reason(reason))
    if status == "ready":
        return NotFound()
    return InDoubt(f"payment_status_{status}")


def _approved(resp: dict[str, Any], imp_uid: str, amount: int,
              card: CardData | None) -> Approved | InDoubt:
    paid_at = _number(resp.get("paid_at"))
    merchant_uid = resp.get("merchant_uid")
    if not paid_at or not isinstance(merchant_uid, str):
        return InDoubt("malformed_payment")
    pg_masked = resp.get("card_number") if isinstance(resp.get("card_number"), str) else ""
    pg_masked = pg_masked.replace("-", "")
    bin_info = card.bin_info if card is not None else lookup_bin(pg_masked)
    card_name = resp.get("card_name") if isinstance(resp.get("card_name"), str) else None
    return Approved(
        payment_ref=imp_uid,
        approval_number=str(resp.get("apply_num") or ""),
        approved_at=dt.datetime.fromtimestamp(paid_at, tz=KST),
        amount=amount,
        issuer=card_name or bin_info.issuer,
        brand=bin_info.brand,
        masked_number=card.masked if card is not None else pg_masked,
        installment_months=_number(resp.get("card_quota")) or 0,
        order_id=merchant_uid,
    )


class PortOneClient:
    """PgClient for PortOne v1 (iamport)."""

    __slots__ = ("_http", "_imp_key", "_imp_secret", "_pg", "_pinned_cancels", "_token",
                 "_token_deadline", "_token_lock")

    def __init__(
        self,
        base_url: str,
        imp_key: str,
        imp_secret: str,
        pg: str,
        *,
        timeout: float = 10.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        if not imp_key or not imp_secret:
            raise ValueError("imp_key and imp_secret are required")
        self._http = JsonHttp(base_url, timeout=timeout, session=session)
        self._imp_key = imp_key
        self._imp_secret = imp_secret
        self._pg = pg
        self._token: str | None = None
        self._token_deadline = 0.0
        self._token_lock = asyncio.Lock()
        # idempotency_key → (imp_uid, amount, checksum) of the first attempt of a cancel
        self._pinned_cancels: OrderedDict[str, tuple[str, int | None, int]] = OrderedDict()

    def __repr__(self) -> str:
        return f"PortOneClient({self._http.base_url}, pg={self._pg!r})"

    # -- token -----------------------------------------------------------------

    async def _access_token(self, *, rejected: str | None = None) -> str | InDoubt:
        """A valid token; `rejected` is one the PG just answered 401 to (never reused)."""
        async with self._token_lock:
            token_ok = self._token is not None and self._token != rejected
            if token_ok and time.monotonic() < self._token_deadline:
                return self._token  # type: ignore[return-value]
            reply = await self._http.request(
                "POST", "/users/getToken", route="POST /users/getToken", headers={},
                json_body={"imp_key": self._imp_key, "imp_secret": self._imp_secret},
            )
            if isinstance(reply, TransportFailure):
                return InDoubt(f"token_{reply.reason}", maybe_charged=False)
            env = _envelope(reply)
            resp = env.response if isinstance(env.response, dict) else {}
            token = resp.get("access_token")
            expired_at, now = _number(resp.get("expired_at")), _number(resp.get("now"))
            if reply.status != 200 or env.code != 0 or not isinstance(token, str) or (
                expired_at is None
            ):
                log.error("portone refused our API credentials (HTTP %d)", reply.status)
                return InDoubt("token_refused", maybe_charged=False)
            lifetime = expired_at - (now if now is not None else time.time())
            self._token = token
            self._token_deadline = time.monotonic() + lifetime - TOKEN_REFRESH_MARGIN
            log.debug("portone token renewed (valid %.0f s)", lifetime)
            return token

    async def _call(
        self, method: str, path: str, route: str, body: dict[str, Any] | None = None
    ) -> HttpReply | TransportFailure | InDoubt:
        token = await self._access_token()
        if isinstance(token, InDoubt):
            return token
        reply = await self._send(method, path, route, body, token)
        if isinstance(reply, HttpReply) and reply.status == 401:
            # Token revoked or expired early: the request was refused, so resending is safe.
            token = await self._access_token(rejected=token)
            if isinstance(token, InDoubt):
                return token
            reply = await self._send(method, path, route, body, token)
        return reply

    async def _send(self, method: str, path: str, route: str, body: dict[str, Any] | None,
                    token: str) -> HttpReply | TransportFailure:
        return await self._http.request(
            method, path, route=route, headers={"Authorization": f"Bearer {token}"},
            json_body=body,
        )

    # -- payments ------------------------------------------------------------

    @staticmethod
    def _card_fields(card: CardData) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "card_number": format_card_number(card.reveal_number()),
            "expiry": f"20{card.reveal_expiry_year()}-{card.reveal_expiry_month()}",
        }
        identity = card.reveal_identity()
        if identity is not None:
            fields["birth"] = identity
        pin2 = card.reveal_pin2()
        if pin2 is not None:
            fields["pwd_2digit"] = pin2
        return fields

    def _payment_result(self, reply: HttpReply | TransportFailure | InDoubt, order: Order,
                        card: CardData | None, op: str) -> PaymentOutcome:
        outcome: PaymentOutcome
        if isinstance(reply, InDoubt):
            outcome = reply
        elif isinstance(reply, TransportFailure):
            outcome = InDoubt(reply.reason, maybe_charged=reply.maybe_sent)
        elif reply.status >= 500:
            outcome = InDoubt(f"http_{reply.status}")
        elif reply.status == 429:
            outcome = InDoubt("rate_limited", maybe_charged=False)
        else:
            env = _envelope(reply)
            if env.code == 0 and reply.status == 200:
                state = _payment_state(env.response, card=card)
                if isinstance(state, Approved) and (
                    state.order_id != order.order_id or state.amount != order.amount
                ):
                    state = InDoubt("reply_does_not_match_order")
                elif isinstance(state, Cancelled | NotFound):
                    state = InDoubt("unexpected_payment_status")
                outcome = state  # type: ignore[assignment]
            elif env.code is None:
                outcome = (InDoubt(f"unparsable_reply_http_{reply.status}")
                           if reply.status < 400
                           else Declined(f"HTTP_{reply.status}", env.message, C.other))
            else:
                outcome = _decline_from_message(env)
        log.info("portone %s order=%s amount=%d -> %s", op, order.order_id, order.amount,
                 type(outcome).__name__)
        return outcome

    async def authorize_keyed(
        self, order: Order, card: CardData, installment_months: int
    ) -> PaymentOutcome:
        check_installment(installment_months)
        body: dict[str, Any] = {
            "merchant_uid": order.order_id,
            "amount": order.amount,
            **self._card_fields(card),
            "card_quota": installment_months,
            "name": order.order_name,
            "pg": self._pg,
        }
        if order.customer_name:
            body["buyer_name"] = order.customer_name
        reply = await self._call("POST", "/subscribe/payments/onetime",
                                 "POST /subscribe/payments/onetime", body)
        body.clear()
        return self._payment_result(reply, order, card, "onetime")

    async def issue_billing_key(
        self, customer_key: str, card: CardData, *, idempotency_key: str | None = None
    ) -> BillingKeyOutcome:
        # PortOne has no idempotency header; re-issuing under one customer_uid just replaces
        # the stored card, so a resend is harmless and `idempotency_key` is not needed.
        del idempotency_key
        body: dict[str, Any] = {**self._card_fields(card), "pg": self._pg}
        reply = await self._call("POST", f"/subscribe/customers/{quote(customer_key, safe='')}",
                                 "POST /subscribe/customers/{customer_uid}", body)
        body.clear()
        outcome: BillingKeyOutcome
        if isinstance(reply, InDoubt):
            outcome = reply
        elif isinstance(reply, TransportFailure):
            outcome = InDoubt(reply.reason, maybe_charged=reply.maybe_sent)
        elif reply.status >= 500:
            outcome = InDoubt(f"http_{reply.status}")
        else:
            env = _envelope(reply)
            resp = env.response if isinstance(env.response, dict) else None
            if env.code == 0 and resp is not None and resp.get("customer_uid") == customer_key:
                inserted = _number(resp.get("updated")) or _number(resp.get("inserted"))
                card_name = resp.get("card_name")
                outcome = BillingKeyIssued(
                    billing_key=customer_key,
                    customer_key=customer_key,
                    issuer=card_name if isinstance(card_name, str) else card.issuer,
                    brand=card.brand,
                    masked_number=card.masked,
                    authenticated_at=(dt.datetime.fromtimestamp(inserted, tz=KST) if inserted
                                      else dt.datetime.now(KST)),
                )
            elif env.code == 0:
                outcome = InDoubt("malformed_billing_key")
            else:
                decline = _decline_from_message(env)
                outcome = decline if isinstance(decline, Declined) else InDoubt(decline.reason)
        log.info("portone billing-key card=%s -> %s", card.masked, type(outcome).__name__)
        return outcome

    async def charge_billing_key(
        self, billing_key: str, customer_key: str, order: Order, installment_months: int
    ) -> PaymentOutcome:
        # PortOne's billing key *is* the customer_uid it was issued under.
        check_installment(installment_months)
        body: dict[str, Any] = {
            "customer_uid": billing_key,
            "merchant_uid": order.order_id,
            "amount": order.amount,
            "name": order.order_name,
            "card_quota": installment_months,
        }
        if order.customer_name:
            body["buyer_name"] = order.customer_name
        reply = await self._call("POST", "/subscribe/payments/again",
                                 "POST /subscribe/payments/again", body)
        return self._payment_result(reply, order, None, "again")

    # -- cancel ----------------------------------------------------------------

    async def _fetch_payment(self, imp_uid: str) -> dict[str, Any] | InDoubt:
        reply = await self._call("GET", f"/payments/{quote(imp_uid, safe='')}",
                                 "GET /payments/{imp_uid}")
        if isinstance(reply, InDoubt):
            return reply
        if isinstance(reply, TransportFailure):
            return InDoubt(f"fetch_{reply.reason}", maybe_charged=False)
        env = _envelope(reply)
        if reply.status != 200 or env.code != 0 or not isinstance(env.response, dict):
            return InDoubt(f"fetch_http_{reply.status}", maybe_charged=False)
        return env.response

    @staticmethod
    def _refundable(payment: dict[str, Any]) -> int | None:
        amount = _number(payment.get("amount"))
        if amount is None:
            return None
        return amount - (_number(payment.get("cancel_amount")) or 0)

    async def cancel(
        self, payment_ref: str, amount: int | None, reason: str, idempotency_key: str
    ) -> CancelOutcome:
        if amount is not None and (isinstance(amount, bool) or amount <= 0):
            raise ValueError("cancel amount must be positive (None = full cancel)")
        if not reason:
            raise ValueError("a cancel reason is required")
        pinned = self._pinned_cancels.get(idempotency_key)
        if pinned is None:
            payment = await self._fetch_payment(payment_ref)
            if isinstance(payment, InDoubt):
                return payment  # nothing was sent to the cancel endpoint
            checksum = self._refundable(payment)
            if checksum is None:
                return InDoubt("malformed_payment", maybe_charged=False)
            pinned = (payment_ref, amount, checksum)
            self._pinned_cancels[idempotency_key] = pinned
            while len(self._pinned_cancels) > MAX_PINNED_CANCELS:
                self._pinned_cancels.popitem(last=False)
            is_resend = False
        else:
            if pinned[:2] != (payment_ref, amount):
                raise ValueError("idempotency_key already used for a different cancel")
            is_resend = True
        checksum = pinned[2]
        body: dict[str, Any] = {"imp_uid": payment_ref, "reason": reason, "checksum": checksum}
        if amount is not None:
            body["amount"] = amount
        reply = await self._call("POST", "/payments/cancel", "POST /payments/cancel", body)
        outcome = await self._cancel_result(reply, payment_ref, amount, checksum, is_resend)
        log.info("portone cancel payment=%s amount=%s -> %s", payment_ref, amount,
                 type(outcome).__name__)
        return outcome

    async def _cancel_result(
        self, reply: HttpReply | TransportFailure | InDoubt, imp_uid: str, amount: int | None,
        checksum: int, is_resend: bool,
    ) -> CancelOutcome:
        if isinstance(reply, InDoubt):
            return reply
        if isinstance(reply, TransportFailure):
            return InDoubt(reply.reason, maybe_charged=reply.maybe_sent)
        if reply.status >= 500:
            return InDoubt(f"http_{reply.status}")
        env = _envelope(reply)
        refunded = checksum if amount is None else amount
        if env.code == 0 and isinstance(env.response, dict):
            state = _payment_state(env.response, card=None)
            if isinstance(state, Cancelled):
                return Cancelled(imp_uid, refunded, state.remaining_amount, state.status)
            return InDoubt("unexpected_cancel_reply")
        if is_resend:
            # The checksum no longer matches if our first attempt went through: check.
            payment = await self._fetch_payment(imp_uid)
            if isinstance(payment, dict) and self._refundable(payment) == checksum - refunded:
                state = _payment_state(payment, card=None)
                if isinstance(state, Cancelled):
                    return Cancelled(imp_uid, refunded, state.remaining_amount, state.status)
        return Declined(f"PORTONE_{env.code}", env.message, C.other)

    # -- lookups ---------------------------------------------------------------

    async def _lookup(self, order_id: str, *, refunds: str) -> PaymentStateOutcome:
        reply = await self._call("GET", f"/payments/find/{quote(order_id, safe='')}",
                                 "GET /payments/find/{merchant_uid}")
        outcome: PaymentStateOutcome
        if isinstance(reply, InDoubt):
            outcome = InDoubt(f"lookup_{reply.reason}")
        elif isinstance(reply, TransportFailure):
            outcome = InDoubt(f"lookup_{reply.reason}")
        elif reply.status == 404:
            outcome = NotFound()
        else:
            env = _envelope(reply)
            if reply.status == 200 and env.code == 0 and isinstance(env.response, dict):
                outcome = _payment_state(env.response, card=None, refunds=refunds)
                if isinstance(outcome, Approved | Cancelled) and (
                    env.response.get("merchant_uid") != order_id
                ):
                    outcome = InDoubt("reply_does_not_match_order")
            else:
                # A lookup cannot decline anything: any other answer leaves the question open.
                outcome = InDoubt(f"lookup_http_{reply.status}")
        log.info("portone lookup order=%s -> %s", order_id, type(outcome).__name__)
        return outcome

    async def lookup_payment(self, order_id: str) -> PaymentStateOutcome:
        return await self._lookup(order_id, refunds="strict")

    async def lookup(self, order_id: str) -> LookupOutcome:
        return await self._lookup(order_id, refunds="as_approved")  # type: ignore[return-value]

    async def close(self) -> None:
        await self._http.close()
