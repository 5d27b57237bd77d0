"""A small PortOne-v1-shaped HTTP server for the adapter tests (real aiohttp, real sockets).

Envelope `{code, message, response}`, token flow with expiry and revocation, payments that
end `paid` or `failed` with code 0, merchant_uid uniqueness, cancels guarded by `checksum`,
lookups. Card behaviours reuse the simulator's documented test card numbers.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections import Counter
from typing import Any

from aiohttp import web

from pg_client.simulator import cards as sim

FAIL_REASONS = {
    sim.INSUFFICIENT_LIMIT: "[8326] 한도초과",
    sim.INVALID_CARD: "[8001] 카드번호 오류",
    sim.EXPIRED_CARD: "[8003] 유효기간 오류",
    sim.WRONG_PIN: "[8012] 비밀번호 오류",
    sim.WRONG_IDENTITY: "[8014] 생년월일 불일치",
    sim.STOPPED_CARD: "[8042] 거래정지카드",
    sim.AMOUNT_NOT_ALLOWED: "[8350] 거래금액 제한",
    sim.REJECTED_OTHER: "[8999] 카드사 승인거절",
}
NO_INSTALLMENT_REASON = "[8373] 할부개월수 오류"
CARD_NUMBER_RE = re.compile(r"\d{4}-\d{4}-\d{4}-\d{4}|\d{4}-\d{6}-\d{5}")
EXPIRY_RE = re.compile(r"20\d{2}-(0[1-9]|1[0-2])")


def envelope(response: Any = None, *, code: int = 0, message: str = "") -> dict[str, Any]:
    return {"code": code, "message": message, "response": response}


class PortOneServer:
    def __init__(self, imp_key: str, imp_secret: str, *, token_ttl: int = 1800) -> None:
        self.imp_key = imp_key
        self.imp_secret = imp_secret
        self.token_ttl = token_ttl
        self.tokens: dict[str, float] = {}  # token → expires at (epoch seconds)
        self.token_requests = 0
        self.unauthorized_replies = 0
        self.calls: Counter[str] = Counter()
        self.payments: dict[str, dict[str, Any]] = {}
        self.by_merchant_uid: dict[str, str] = {}
        self.customers: dict[str, dict[str, Any]] = {}
        self.charges: Counter[str] = Counter()
        self.last_card_fields: dict[str, Any] = {}
        self.hang_seconds = 1.0
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # -- control --------------------------------------------------------------

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/users/getToken", self.get_token)
        app.router.add_post("/subscribe/payments/onetime", self.onetime)
        app.router.add_post("/subscribe/customers/{customer_uid}", self.customer)
        app.router.add_post("/subscribe/payments/again", self.again)
        app.router.add_post("/payments/cancel", self.cancel)
        app.router.add_get("/payments/find/{merchant_uid}", self.find)
        app.router.add_get("/payments/{imp_uid}", self.get_payment)

        async def wake(_app: web.Application) -> None:
            self._closing.set()

        app.on_shutdown.append(wake)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- helpers --------------------------------------------------------------

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ")
        return self.tokens.get(token, 0) > time.time()

    def _unauthorized(self) -> web.Response:
        self.unauthorized_replies += 1
        return web.json_response(envelope(code=-1, message="Unauthorized"), status=401)

    async def _guard(self, request: web.Request, route: str) -> web.Response | None:
        self.calls[route] += 1
        return None if self._authorized(request) else self._unauthorized()

    def _new_payment(self, body: dict[str, Any], *, card_number: str, status: str,
                     fail_reason: str | None = None) -> dict[str, Any]:
        imp_uid = "imp_" + secrets.token_hex(6)
        digits = card_number.replace("-", "")
        payment = {
            "imp_uid": imp_uid,
            "merchant_uid": body["merchant_uid"],
            "amount": body["amount"],
            "cancel_amount": 0,
            "status": status,
            "fail_reason": fail_reason,
            "apply_num": f"{secrets.randbelow(10**8):08d}" if status == "paid" else "",
            "paid_at": int(time.time()) if status == "paid" else 0,
            "card_name": "신한카드",
            "card_number": digits[:6] + "*" * (len(digits) - 9) + digits[-3:],
            "card_quota": body.get("card_quota", 0),
            "name": body.get("name"),
            "cancel_history": [],
        }
        self.payments[imp_uid] = payment
        self.by_merchant_uid[payment["merchant_uid"]] = imp_uid
        if status == "paid":
            self.charges[payment["merchant_uid"]] += 1
        return payment

    async def _pay(self, request: web.Request, body: dict[str, Any],
                   card_number: str) -> web.StreamResponse:
        if body.get("merchant_uid") in self.by_merchant_uid:
            return web.json_response(envelope(code=1, message="중복된 merchant_uid 입니다."))
        amount = body.get("amount")
        if not isinstance(amount, int) or amount < 100:
            return web.json_response(envelope(code=-1, message="결제 최소금액 미만입니다."))
        digits = card_number.replace("-", "")
        fault = amount % 10_000
        if fault == 7771:
            return web.json_response(envelope(code=-1, message="server error"), status=500)
        if fault == 7772:
            try:
                await asyncio.wait_for(self._closing.wait(), self.hang_seconds)
            except TimeoutError:
                pass
            return web.json_response(envelope(code=-1, message="timeout"), status=504)
        reason = FAIL_REASONS.get(digits)
        if reason is None and digits == sim.NO_INSTALLMENTS and body.get("card_quota", 0) > 0:
            reason = NO_INSTALLMENT_REASON
        payment = self._new_payment(body, card_number=card_number,
                                    status="failed" if reason else "paid", fail_reason=reason)
        if fault == 7773 and request.transport is not None:
            request.transport.abort()
            raise asyncio.CancelledError
        return web.json_response(envelope(payment))

    # -- routes ---------------------------------------------------------------

    async def get_token(self, request: web.Request) -> web.StreamResponse:
        self.token_requests += 1
        body = await request.json()
        if body.get("imp_key") != self.imp_key or body.get("imp_secret") != self.imp_secret:
            return web.json_response(envelope(code=-1, message="Unauthorized"), status=401)
        token = secrets.token_hex(20)
        now = int(time.time())
        self.tokens[token] = now + self.token_ttl
        return web.json_response(envelope({"access_token": token, "now": now,
                                           "expired_at": now + self.token_ttl}))

    async def onetime(self, request: web.Request) -> web.StreamResponse:
        if (refused := await self._guard(request, "onetime")) is not None:
            return refused
        body = await request.json()
        self.last_card_fields = {k: body.get(k) for k in
                                 ("card_number", "expiry", "birth", "pwd_2digit", "pg")}
        card_number = body.get("card_number", "")
        if not CARD_NUMBER_RE.fullmatch(card_number) or not EXPIRY_RE.fullmatch(
            body.get("expiry", "")
        ):
            return web.json_response(envelope(code=-1, message="카드정보 형식 오류"))
        return await self._pay(request, body, card_number)

    async def customer(self, request: web.Request) -> web.StreamResponse:
        if (refused := await self._guard(request, "customer")) is not None:
            return refused
        body = await request.json()
        customer_uid = request.match_info["customer_uid"]
        digits = body.get("card_number", "").replace("-", "")
        if digits in (sim.INVALID_CARD, sim.EXPIRED_CARD, sim.WRONG_PIN, sim.WRONG_IDENTITY,
                      sim.STOPPED_CARD):
            return web.json_response(envelope(code=-1, message=FAIL_REASONS[digits]))
        now = int(time.time())
        self.customers[customer_uid] = {"card_number": body["card_number"], "digits": digits}
        return web.json_response(envelope({
            "customer_uid": customer_uid, "pg_provider": "nice", "card_name": "신한카드",
            "card_code": "366", "card_number": digits[:6] + "******" + digits[-4:],
            "card_type": 0, "inserted": now, "updated": now,
        }))

    async def again(self, request: web.Request) -> web.StreamResponse:
        if (refused := await self._guard(request, "again")) is not None:
            return refused
        body = await request.json()
        customer = self.customers.get(body.get("customer_uid"))
        if customer is None:
            return web.json_response(envelope(code=1, message="등록되지 않은 구매자입니다."))
        return await self._pay(request, body, customer["card_number"])

    async def cancel(self, request: web.Request) -> web.StreamResponse:
        if (refused := await self._guard(request, "cancel")) is not None:
            return refused
        body = await request.json()
        payment = self.payments.get(body.get("imp_uid"))
        if payment is None:
            return web.json_response(envelope(code=1, message="취소할 결제건이 존재하지 않습니다."))
        refundable = payment["amount"] - payment["cancel_amount"]
        if payment["status"] == "cancelled":
            return web.json_response(envelope(code=1, message="이미 전액취소된 주문입니다."))
        if body.get("checksum") != refundable:
            return web.json_response(envelope(
                code=1, message="환불가능금액과 checksum이 일치하지 않습니다."))
        amount = body.get("amount") or refundable
        if amount > refundable:
            return web.json_response(envelope(code=1, message="취소가능 금액을 초과했습니다."))
        payment["cancel_amount"] += amount
        payment["cancel_history"].append({"amount": amount, "reason": body.get("reason")})
        if payment["cancel_amount"] == payment["amount"]:
            payment["status"] = "cancelled"
        return web.json_response(envelope(payment))

    async def find(self, request: web.Request) -> web.StreamResponse:
        if (refused := await self._guard(request, "find")) is not None:
            return refused
        imp_uid = self.by_merchant_uid.get(request.match_info["merchant_uid"])
        if imp_uid is None:
            return web.json_response(envelope(code=1, message="존재하지 않는 결제정보입니다."),
                                     status=404)
        return web.json_response(envelope(self.payments[imp_uid]))

    async def get_payment(self, request: web.Request) -> web.StreamResponse:
        if (refused := await self._guard(request, "get_payment")) is not None:
            return refused
        payment = self.payments.get(request.match_info["imp_uid"])
        if payment is None:
            return web.json_response(envelope(code=1, message="존재하지 않는 결제정보입니다."),
                                     status=404)
        return web.json_response(envelope(payment))
