"""A local PG speaking the Toss Payments v1 subset arspay uses.

Same paths, Basic auth, error JSON `{code, message}` with realistic HTTP statuses,
Idempotency-Key replay, a ledger, documented test cards and fault-injection amounts
(see cards.py and README.md).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import hmac
import json
import logging
import re
import secrets
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from pg_client.bins import lookup_bin
from pg_client.card import luhn_ok
from pg_client.simulator.cards import TEST_CARDS, Fault, Stage, TestCard, fault_for
from pg_client.simulator.ledger import (
    KST,
    Ledger,
    SimBillingKey,
    SimPayment,
    now_kst,
    toss_masked,
)
from pg_client.toss_codes import ISSUER_CODES

log = logging.getLogger("pg_client.simulator")

ROUTE_KEY_IN = "POST /v1/payments/key-in"
ROUTE_BILLING_AUTH = "POST /v1/billing/authorizations/card"
ROUTE_BILLING_CHARGE = "POST /v1/billing/{billingKey}"
ROUTE_CANCEL = "POST /v1/payments/{paymentKey}/cancel"
ROUTE_LOOKUP_ORDER = "GET /v1/payments/orders/{orderId}"
ROUTE_LOOKUP_PAYMENT = "GET /v1/payments/{paymentKey}"

MIN_AMOUNT = 100
MIN_INSTALLMENT_AMOUNT = 50_000
MAX_IDEMPOTENCY_KEY = 300
MAX_BODY_BYTES = 64 * 1024

ORDER_ID_RE = re.compile(r"[A-Za-z0-9_-]{6,64}")
CUSTOMER_KEY_RE = re.compile(r"[A-Za-z0-9_\-=.@]{2,300}")

LEDGER = web.AppKey("ledger", Ledger)
CONFIG: web.AppKey[SimConfig] = web.AppKey("sim_config")
CLOSING = web.AppKey("sim_closing", asyncio.Event)

_ISSUER_CODE_BY_NAME = {name: code for code, name in reversed(ISSUER_CODES.items())}


@dataclass(frozen=True, slots=True)
class SimConfig:
    secret_key: str
    latency_delay: float
    hang_delay: float


class TossError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message


@dataclass(slots=True)
class Reply:
    status: int
    body: dict[str, Any]
    after: Fault | None = None  # charge_then_drop / charge_then_hang, applied after recording


def _error_body(code: str, message: str) -> dict[str, Any]:
    return {"code": code, "message": message}


def _invalid(message: str = "잘못된 요청입니다.") -> TossError:
    return TossError(400, "INVALID_REQUEST", message)


# ---------------------------------------------------------------- field readers


def _int_field(body: dict[str, Any], name: str, *, required: bool = True) -> int | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(f"{name} 값이 올바르지 않습니다.")
    return value


def _str_field(body: dict[str, Any], name: str, *, required: bool = True,
               max_len: int = 100) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise _invalid(f"{name} 값이 올바르지 않습니다.")
    return value


def _amount(body: dict[str, Any]) -> int:
    amount = _int_field(body, "amount")
    assert amount is not None
    if amount < MIN_AMOUNT:
        raise TossError(400, "BELOW_MINIMUM_AMOUNT",
                        "신용카드는 결제금액이 100원 이상, 계좌는 200원이상부터 결제가 가능합니다.")
    return amount


def _order_id(body: dict[str, Any]) -> str:
    order_id = body.get("orderId")
    if not isinstance(order_id, str) or not ORDER_ID_RE.fullmatch(order_id):
        raise _invalid("orderId는 영문 대소문자, 숫자, 특수문자(-, _)로 이루어진 6자 이상 64자 "
                       "이하의 문자열이어야 합니다.")
    return order_id


def _installment(body: dict[str, Any], amount: int) -> int:
    months = _int_field(body, "cardInstallmentPlan", required=False) or 0
    if months != 0 and not 2 <= months <= 12:
        raise TossError(400, "INVALID_CARD_INSTALLMENT_PLAN", "할부 개월 정보가 잘못되었습니다.")
    if months and amount < MIN_INSTALLMENT_AMOUNT:
        raise TossError(400, "NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN_BELOW_AMOUNT",
                        "5만원 이하의 결제는 할부가 불가능해서 결제에 실패했습니다.")
    return months


@dataclass(frozen=True, slots=True)
class KeyedCard:
    masked: str
    issuer_code: str
    test_card: TestCard | None


def _card(body: dict[str, Any]) -> KeyedCard:
    """Validate the card fields of a key-in / billing-auth request; keep only what a PG shows."""
    number = body.get("cardNumber")
    if not isinstance(number, str) or not number.isascii() or not number.isdigit() or not (
        13 <= len(number) <= 20
    ):
        raise TossError(400, "INVALID_CARD_NUMBER", "카드번호를 다시 확인해주세요.")
    if not luhn_ok(number):
        raise TossError(400, "INVALID_CARD_NUMBER", "카드번호를 다시 확인해주세요.")
    year, month = body.get("cardExpirationYear"), body.get("cardExpirationMonth")
    if not (isinstance(year, str) and isinstance(month, str) and len(year) == 2
            and len(month) == 2 and year.isdigit() and month.isdigit()
            and 1 <= int(month) <= 12):
        raise _invalid("카드 유효기간 형식이 올바르지 않습니다.")
    today = dt.datetime.now(KST).date()
    if (2000 + int(year), int(month)) < (today.year, today.month):
        raise TossError(400, "INVALID_CARD_EXPIRATION", "카드 정보를 다시 확인해주세요. (유효기간)")
    identity = body.get("customerIdentityNumber")
    if identity is not None and not (
        isinstance(identity, str) and identity.isdigit() and len(identity) in (6, 10)
    ):
        raise TossError(400, "INVALID_BIRTH_DAY_FORMAT",
                        "생년월일 정보는 6자리의 `yyMMdd` 형식이어야 합니다. "
                        "사업자등록번호는 10자리의 숫자여야 합니다.")
    password = body.get("cardPassword")
    if password is not None and not (
        isinstance(password, str) and password.isdigit() and len(password) == 2
    ):
        raise _invalid("카드 비밀번호 앞 2자리가 올바르지 않습니다.")
    issuer = lookup_bin(number).issuer
    return KeyedCard(
        masked=toss_masked(number),
        issuer_code=_ISSUER_CODE_BY_NAME.get(issuer or "", "31"),
        test_card=TEST_CARDS.get(number),
    )


def _refuse_if(test_card: TestCard | None, stages: set[Stage]) -> None:
    if test_card is not None and test_card.code is not None and test_card.stage in stages:
        raise TossError(test_card.http_status, test_card.code, test_card.message)


def _approve_no() -> str:
    return f"{secrets.randbelow(10**8):08d}"


# ---------------------------------------------------------------- the application


class Simulator:
    """Handlers; one instance per application."""

    def __init__(self, config: SimConfig, ledger: Ledger, closing: asyncio.Event) -> None:
        self.config = config
        self.ledger = ledger
        self.closing = closing
        self._auth = "Basic " + base64.b64encode(f"{config.secret_key}:".encode()).decode()

    # -- plumbing ---------------------------------------------------------------

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake at once when the server shuts down (tests stay fast)."""
        try:
            await asyncio.wait_for(self.closing.wait(), timeout=seconds)
        except TimeoutError:
            pass

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            base64.b64decode(header[6:], validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(header.encode(), self._auth.encode())

    @web.middleware
    async def auth_middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if not self._authorized(request):
            message = "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다."
            return web.json_response(_error_body("UNAUTHORIZED_KEY", message), status=401)
        return await handler(request)

    async def _json(self, request: web.Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            raise _invalid("요청 본문이 올바른 JSON이 아닙니다.") from None
        if not isinstance(body, dict):
            raise _invalid("요청 본문이 올바른 JSON 객체가 아닙니다.")
        return body

    async def _mutating(
        self,
        request: web.Request,
        route: str,
        core: Callable[[web.Request, dict[str, Any]], Awaitable[Reply]],
    ) -> web.StreamResponse:
        self.ledger.requests.append((request.method, route))
        key = request.headers.get("Idempotency-Key")
        slot = (request.path, key) if key is not None else None
        if slot is not None:
            if not 1 <= len(key or "") <= MAX_IDEMPOTENCY_KEY:
                return web.json_response(
                    _error_body("INVALID_IDEMPOTENCY_KEY", "멱등키는 300자 이하여야 합니다."),
                    status=400,
                )
            if slot in self.ledger.replies:
                status, body = self.ledger.replies[slot]
                log.info("%s replayed for a repeated Idempotency-Key", route)
                return web.json_response(body, status=status)
            if slot in self.ledger.in_flight:
                return web.json_response(
                    _error_body("IDEMPOTENT_REQUEST_PROCESSING", "이전 멱등 요청이 처리중입니다."),
                    status=409,
                )
            self.ledger.in_flight.add(slot)
        try:
            try:
                reply = await core(request, await self._json(request))
            except TossError as exc:
                reply = Reply(exc.status, _error_body(exc.code, exc.message))
            if slot is not None and reply.status < 500:
                self.ledger.replies[slot] = (reply.status, reply.body)
        finally:
            if slot is not None:
                self.ledger.in_flight.discard(slot)
        log.info("%s -> %d %s", route, reply.status, reply.body.get("code", "OK"))
        if reply.after is Fault.charge_then_drop:
            return self._drop(request)
        if reply.after is Fault.charge_then_hang:
            await self._sleep(self.config.hang_delay)
        return web.json_response(reply.body, status=reply.status)

    @staticmethod
    def _drop(request: web.Request) -> web.StreamResponse:
        """Close the connection without a reply (the PG charged; the client never hears)."""
        transport = request.transport
        if transport is not None:
            transport.abort()
        raise asyncio.CancelledError  # aiohttp treats this as "client went away"

    async def _pre_charge_fault(self, fault: Fault | None) -> Reply | None:
        if fault is Fault.latency:
            await self._sleep(self.config.latency_delay)
        elif fault is Fault.error_500:
            message = "내부 시스템 처리 작업이 실패했습니다. 잠시 후 다시 시도해주세요."
            return Reply(500, _error_body("FAILED_INTERNAL_SYSTEM_PROCESSING", message))
        elif fault is Fault.hang:
            await self._sleep(self.config.hang_delay)
            return Reply(500, _error_body("FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING",
                                          "결제가 완료되지 않았어요. 다시 시도해주세요."))
        return None

    def _check_new_order(self, order_id: str) -> None:
        if order_id in self.ledger.by_order:
            raise TossError(400, "DUPLICATED_ORDER_ID",
                            "이미 승인 및 취소가 진행된 중복된 주문번호 입니다. "
                            "다른 주문번호로 진행해주세요.")

    async def _charge(
        self,
        *,
        body: dict[str, Any],
        payment_type: str,
        card_masked: str,
        issuer_code: str,
        test_card: TestCard | None,
    ) -> Reply:
        amount = _amount(body)
        order_id = _order_id(body)
        order_name = _str_field(body, "orderName")
        assert order_name is not None
        customer_name = _str_field(body, "customerName", required=False)
        months = _installment(body, amount)
        self._check_new_order(order_id)
        fault = fault_for(amount)
        early = await self._pre_charge_fault(fault)
        if early is not None:
            return early
        stages = {Stage.charge, Stage.installment} if months else {Stage.charge}
        if payment_type == "NORMAL":
            stages.add(Stage.auth)
        _refuse_if(test_card, stages)
        self._check_new_order(order_id)  # again: another request may have won meanwhile
        payment = SimPayment(
            payment_key="sim" + secrets.token_hex(16),
            order_id=order_id,
            order_name=order_name,
            amount=amount,
            payment_type=payment_type,
            card_masked=card_masked,
            issuer_code=issuer_code,
            installment_months=months,
            approve_no=_approve_no(),
            customer_name=customer_name,
        )
        self.ledger.record_charge(payment)
        after = fault if fault in (Fault.charge_then_drop, Fault.charge_then_hang) else None
        return Reply(200, payment.to_json(), after=after)

    # -- routes ---------------------------------------------------------------

    async def key_in(self, request: web.Request) -> web.StreamResponse:
        async def core(_request: web.Request, body: dict[str, Any]) -> Reply:
            card = _card(body)
            return await self._charge(body=body, payment_type="NORMAL", card_masked=card.masked,
                                      issuer_code=card.issuer_code, test_card=card.test_card)

        return await self._mutating(request, ROUTE_KEY_IN, core)

    async def billing_auth(self, request: web.Request) -> web.StreamResponse:
        async def core(_request: web.Request, body: dict[str, Any]) -> Reply:
            customer_key = body.get("customerKey")
            if not isinstance(customer_key, str) or not CUSTOMER_KEY_RE.fullmatch(customer_key):
                raise _invalid("customerKey 값이 올바르지 않습니다.")
            card = _card(body)
            _refuse_if(card.test_card, {Stage.auth})
            key = SimBillingKey(
                billing_key="bk" + secrets.token_urlsafe(24),
                customer_key=customer_key,
                card_masked=card.masked,
                issuer_code=card.issuer_code,
                test_card=card.test_card.number if card.test_card else None,
                authenticated_at=now_kst(),
            )
            self.ledger.billing_keys[key.billing_key] = key
            return Reply(200, {
                "mId": "arspay_sim",
                "customerKey": key.customer_key,
                "authenticatedAt": key.authenticated_at,
                "method": "카드",
                "billingKey": key.billing_key,
                "card": {"issuerCode": key.issuer_code, "acquirerCode": key.issuer_code,
                         "number": key.card_masked, "cardType": "신용", "ownerType": "개인"},
                "cardCompany": ISSUER_CODES.get(key.issuer_code, "BC카드"),
                "cardNumber": key.card_masked,
            })

        return await self._mutating(request, ROUTE_BILLING_AUTH, core)

    async def billing_charge(self, request: web.Request) -> web.StreamResponse:
        async def core(request: web.Request, body: dict[str, Any]) -> Reply:
            key = self.ledger.billing_keys.get(request.match_info["billing_key"])
            if key is None:
                raise TossError(400, "INVALID_BILL_KEY_REQUEST", "유효하지 않은 빌링키입니다.")
            if body.get("customerKey") != key.customer_key:
                raise TossError(403, "NOT_MATCHES_CUSTOMER_KEY",
                                "빌링 인증 고객키와 결제 요청 고객키가 일치하지 않습니다.")
            test_card = TEST_CARDS.get(key.test_card) if key.test_card else None
            return await self._charge(body=body, payment_type="BILLING",
                                      card_masked=key.card_masked, issuer_code=key.issuer_code,
                                      test_card=test_card)

        return await self._mutating(request, ROUTE_BILLING_CHARGE, core)

    async def cancel(self, request: web.Request) -> web.StreamResponse:
        async def core(request: web.Request, body: dict[str, Any]) -> Reply:
            payment = self.ledger.payments.get(request.match_info["payment_key"])
            if payment is None:
                raise TossError(404, "NOT_FOUND_PAYMENT", "존재하지 않는 결제 정보 입니다.")
            reason = _str_field(body, "cancelReason", max_len=200)
            if payment.status == "CANCELED":
                raise TossError(400, "ALREADY_CANCELED_PAYMENT", "이미 취소된 결제 입니다.")
            amount = _int_field(body, "cancelAmount", required=False)
            if amount is None:
                amount = payment.balance
            if not 0 < amount <= payment.balance:
                raise TossError(403, "NOT_CANCELABLE_AMOUNT", "취소 할 수 없는 금액 입니다.")
            fault = fault_for(payment.amount)  # a payment's fault amount also hits its cancels
            early = await self._pre_charge_fault(fault)
            if early is not None:
                return early
            if not 0 < amount <= payment.balance:  # re-check: another cancel may have run
                raise TossError(403, "NOT_CANCELABLE_AMOUNT", "취소 할 수 없는 금액 입니다.")
            payment.balance -= amount
            payment.status = "CANCELED" if payment.balance == 0 else "PARTIAL_CANCELED"
            payment.cancels.append({
                "transactionKey": secrets.token_hex(16),
                "cancelReason": reason,
                "cancelAmount": amount,
                "taxFreeAmount": 0,
                "refundableAmount": payment.balance,
                "canceledAt": now_kst(),
                "cancelStatus": "DONE",
            })
            self.ledger.refunds[payment.payment_key] += 1
            after = fault if fault in (Fault.charge_then_drop, Fault.charge_then_hang) else None
            return Reply(200, payment.to_json(), after=after)

        return await self._mutating(request, ROUTE_CANCEL, core)

    async def lookup_order(self, request: web.Request) -> web.StreamResponse:
        self.ledger.requests.append(("GET", ROUTE_LOOKUP_ORDER))
        return self._payment_or_404(self.ledger.payment_for_order(request.match_info["order_id"]))

    async def lookup_payment(self, request: web.Request) -> web.StreamResponse:
        self.ledger.requests.append(("GET", ROUTE_LOOKUP_PAYMENT))
        return self._payment_or_404(self.ledger.payments.get(request.match_info["payment_key"]))

    @staticmethod
    def _payment_or_404(payment: SimPayment | None) -> web.StreamResponse:
        if payment is None:
            return web.json_response(
                _error_body("NOT_FOUND_PAYMENT", "존재하지 않는 결제 정보 입니다."), status=404
            )
        return web.json_response(payment.to_json())


def create_app(
    secret_key: str, *, latency_delay: float = 2.0, hang_delay: float = 30.0
) -> web.Application:
    """The simulator application. `app["ledger"]` is the live Ledger."""
    if not secret_key:
        raise ValueError("secret_key is required")
    config = SimConfig(secret_key, latency_delay, hang_delay)
    ledger = Ledger()
    closing = asyncio.Event()
    sim = Simulator(config, ledger, closing)
    app = web.Application(middlewares=[sim.auth_middleware], client_max_size=MAX_BODY_BYTES)
    app[LEDGER] = ledger
    app[CONFIG] = config
    app[CLOSING] = closing
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # plain-string key kept for convenient test access
        app["ledger"] = ledger

    async def wake_sleepers(_app: web.Application) -> None:
        closing.set()

    app.on_shutdown.append(wake_sleepers)
    app.router.add_post("/v1/payments/key-in", sim.key_in)
    app.router.add_post("/v1/billing/authorizations/card", sim.billing_auth)
    app.router.add_post("/v1/billing/{billing_key}", sim.billing_charge)
    app.router.add_post("/v1/payments/{payment_key}/cancel", sim.cancel)
    app.router.add_get("/v1/payments/orders/{order_id}", sim.lookup_order)
    app.router.add_get("/v1/payments/{payment_key}", sim.lookup_payment)
    return app


async def start_simulator(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    secret_key: str = "test_sk_arspay_simulator",
    latency_delay: float = 2.0,
    hang_delay: float = 30.0,
) -> tuple[web.AppRunner, str]:
    """Start on host:port (0 = a free port). Returns the runner (call `.cleanup()`) and the
    base URL. The application is `runner.app`."""
    app = create_app(secret_key, latency_delay=latency_delay, hang_delay=hang_delay)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_host, bound_port = runner.addresses[0][:2]
    return runner, f"http://{bound_host}:{bound_port}"
