"""The PG simulator over real HTTP: auth, validation, idempotency, ledger, faults, CLI."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import re
import sys
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from pg_helpers import EXPIRY, SECRET, Simulator

from pg_client.simulator import (
    ROUTE_KEY_IN,
    ROUTE_LOOKUP_ORDER,
    TEST_CARDS,
    Stage,
    start_simulator,
)
from pg_client.simulator import cards as sim_cards

AUTH = {"Authorization": "Basic " + base64.b64encode(f"{SECRET}:".encode()).decode()}


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def key_in_body(order_id: str = "order-sim-1", amount: int = 15_000, **extra: Any) -> dict:
    body = {
        "amount": amount, "orderId": order_id, "orderName": "테스트",
        "cardNumber": sim_cards.APPROVE, "cardExpirationYear": EXPIRY[2:],
        "cardExpirationMonth": EXPIRY[:2], "customerIdentityNumber": "900101",
        "cardPassword": "12", "cardInstallmentPlan": 0,
    }
    body.update(extra)
    return body


async def post(http: aiohttp.ClientSession, sim: Simulator, path: str, body: Any,
               headers: dict[str, str] | None = None, limit: float = 5.0
               ) -> tuple[int, dict[str, Any]]:
    async with http.post(sim.base_url + path, json=body, headers={**AUTH, **(headers or {})},
                         timeout=aiohttp.ClientTimeout(total=limit)) as resp:
        return resp.status, await resp.json()


async def get(http: aiohttp.ClientSession, sim: Simulator, path: str) -> tuple[int, dict]:
    async with http.get(sim.base_url + path, headers=AUTH) as resp:
        return resp.status, await resp.json()


@pytest.mark.parametrize("header", [None, "Basic " + base64.b64encode(b"wrong:").decode(),
                                    "Bearer " + SECRET, "Basic !!!notbase64"])
async def test_requests_without_the_secret_are_refused(
    simulator: Simulator, http: aiohttp.ClientSession, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}
    async with http.post(simulator.base_url + "/v1/payments/key-in", json=key_in_body(),
                         headers=headers) as resp:
        assert resp.status == 401
        assert (await resp.json())["code"] == "UNAUTHORIZED_KEY"
    assert simulator.ledger.request_count() == 0 and not simulator.ledger.charges


async def test_key_in_approves_and_answers_a_toss_payment(
    simulator: Simulator, http: aiohttp.ClientSession
) -> None:
    status, body = await post(http, simulator, "/v1/payments/key-in", key_in_body())
    assert status == 200
    assert body["status"] == "DONE" and body["orderId"] == "order-sim-1"
    assert body["totalAmount"] == body["balanceAmount"] == 15_000
    assert re.fullmatch(r"\d{8}", body["card"]["approveNo"])
    assert body["card"]["number"] == "43302800****001*"
    assert sim_cards.APPROVE not in str(body)
    assert dt.datetime.fromisoformat(body["approvedAt"]).utcoffset() == dt.timedelta(hours=9)
    assert simulator.ledger.charge_count("order-sim-1") == 1
    status, found = await get(http, simulator, "/v1/payments/orders/order-sim-1")
    assert status == 200 and found["paymentKey"] == body["paymentKey"]
    status, by_key = await get(http, simulator, f"/v1/payments/{body['paymentKey']}")
    assert status == 200 and by_key["orderId"] == "order-sim-1"


async def test_payment_keys_and_approval_numbers_are_random(
    simulator: Simulator, http: aiohttp.ClientSession
) -> None:
    bodies = [(await post(http, simulator, "/v1/payments/key-in",
                          key_in_body(f"order-rand-{i}")))[1] for i in range(3)]
    assert len({b["paymentKey"] for b in bodies}) == 3


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"orderId": "abc"}, 400, "INVALID_REQUEST"),
        ({"orderId": "주문-123456"}, 400, "INVALID_REQUEST"),
        ({"orderId": "o" * 65}, 400, "INVALID_REQUEST"),
        ({"amount": 99}, 400, "BELOW_MINIMUM_AMOUNT"),
        ({"amount": "15000"}, 400, "INVALID_REQUEST"),
        ({"orderName": ""}, 400, "INVALID_REQUEST"),
        ({"cardInstallmentPlan": 3}, 400, "NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN_BELOW_AMOUNT"),
        ({"amount": 60_000, "cardInstallmentPlan": 1}, 400, "INVALID_CARD_INSTALLMENT_PLAN"),
        ({"amount": 60_000, "cardInstallmentPlan": 13}, 400, "INVALID_CARD_INSTALLMENT_PLAN"),
        ({"cardNumber": "4330280000000018"}, 400, "INVALID_CARD_NUMBER"),
        ({"cardNumber": "433028000000001a"}, 400, "INVALID_CARD_NUMBER"),
        ({"cardNumber": "4" * 21}, 400, "INVALID_CARD_NUMBER"),
        ({"cardExpirationYear": "2030"}, 400, "INVALID_REQUEST"),
        ({"cardExpirationMonth": "13"}, 400, "INVALID_REQUEST"),
        ({"cardExpirationYear": "20", "cardExpirationMonth": "01"}, 400,
         "INVALID_CARD_EXPIRATION"),
        ({"customerIdentityNumber": "90010"}, 400, "INVALID_BIRTH_DAY_FORMAT"),
        ({"cardPassword": "123"}, 400, "INVALID_REQUEST"),
    ],
)
async def test_key_in_validation(
    simulator: Simulator, http: aiohttp.ClientSession, overrides: dict, status: int, code: str
) -> None:
    got_status, body = await post(http, simulator, "/v1/payments/key-in",
                                  key_in_body(**overrides))
    assert (got_status, body["code"]) == (status, code)
    assert body["message"]
    assert not simulator.ledger.charges


async def test_malformed_json_and_oversized_keys(
    simulator: Simulator, http: aiohttp.ClientSession
) -> None:
    async with http.post(simulator.base_url + "/v1/payments/key-in", data=b"{not json",
                         headers=AUTH) as resp:
        assert resp.status == 400 and (await resp.json())["code"] == "INVALID_REQUEST"
    status, body = await post(http, simulator, "/v1/payments/key-in", [1, 2])
    assert (status, body["code"]) == (400, "INVALID_REQUEST")
    status, body = await post(http, simulator, "/v1/payments/key-in", key_in_body(),
                              headers={"Idempotency-Key": "k" * 301})
    assert (status, body["code"]) == (400, "INVALID_IDEMPOTENCY_KEY")
    assert not simulator.ledger.charges


async def test_duplicate_order_id_is_refused_like_toss(
    simulator: Simulator, http: aiohttp.ClientSession
) -> None:
    assert (await post(http, simulator, "/v1/payments/key-in", key_in_body()))[0] == 200
    status, body = await post(http, simulator, "/v1/payments/key-in", key_in_body())
    assert (status, body["code"]) == (400, "DUPLICATED_ORDER_ID")
    assert simulator.ledger.charge_count("order-sim-1") == 1


async def test_idempotency_key_replays_the_first_answer(
    simulator: Simulator, http: aiohttp.ClientSession
) -> None:
    headers = {"Idempotency-Key": "idem-replay-1"}
    first = await post(http, simulator, "/v1/payments/key-in", key_in_body(), headers)
    second = await post(http, simulator, "/v1/payments/key-in", key_in_body(), headers)
    assert first[0] == second[0] == 200
    assert first[1]["paymentKey"] == second[1]["paymentKey"]
    assert simulator.ledger.charge_count("order-sim-1") == 1
    assert simulator.ledger.request_count(ROUTE_KEY_IN) == 2
    # declines replay too
    decline_headers = {"Idempotency-Key": "idem-decline"}
    body = key_in_body("order-sim-2", cardNumber=sim_cards.WRONG_PIN)
    a = await post(http, simulator, "/v1/payments/key-in", body, decline_headers)
    b = await post(http, simulator, "/v1/payments/key-in", body, decline_headers)
    assert a == b and a[1]["code"] == "INVALID_CARD_PASSWORD"


async def test_same_key_while_the_first_request_runs_gets_409(
    simulator: Simulator, http: aiohttp.ClientSession
) -> None:
    headers = {"Idempotency-Key": "idem-hang"}
    hanging = asyncio.create_task(post(http, simulator, "/v1/payments/key-in",
                                       key_in_body(amount=17_772), headers))
    while simulator.ledger.request_count(ROUTE_KEY_IN) == 0:  # noqa: ASYNC110 - server state
        await asyncio.sleep(0.005)
    status, body = await post(http, simulator, "/v1/payments/key-in",
                              key_in_body(amount=17_772), headers)
    assert (status, body["code"]) == (409, "IDEMPOTENT_REQUEST_PROCESSING")
    hanging.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await hanging
    assert not simulator.ledger.charges


@pytest.mark.parametrize("number", [n for n, c in TEST_CARDS.items() if c.code])
async def test_each_decline_card_answers_its_code(
    simulator: Simulator, http: aiohttp.ClientSession, number: str
) -> None:
    card = TEST_CARDS[number]
    months = 3 if card.stage is Stage.installment else 0
    status, body = await post(http, simulator, "/v1/payments/key-in",
                              key_in_body(amount=60_000, cardNumber=number,
                                          cardInstallmentPlan=months))
    assert (status, body["code"], body["message"]) == (card.http_status, card.code, card.message)
    assert not simulator.ledger.charges


async def test_installment_refusing_card_approves_a_lump_sum(
    simulator: Simulator, http: aiohttp.ClientSession
) -> None:
    status, body = await post(http, simulator, "/v1/payments/key-in",
                              key_in_body(amount=60_000, cardNumber=sim_cards.NO_INSTALLMENTS))
    assert status == 200 and body["card"]["installmentPlanMonths"] == 0


async def test_500_amount_charges_nothing_and_is_not_replayed(
    simulator: Simulator, http: aiohttp.ClientSession
) -> None:
    headers = {"Idempotency-Key": "idem-500"}
    for _ in range(2):
        status, body = await post(http, simulator, "/v1/payments/key-in",
                                  key_in_body(amount=17_771), headers)
        assert (status, body["code"]) == (500, "FAILED_INTERNAL_SYSTEM_PROCESSING")
    assert simulator.ledger.request_count(ROUTE_KEY_IN) == 2
    assert not simulator.ledger.charges


async def test_charge_then_drop_records_the_charge_but_sends_nothing(
    simulator: Simulator, http: aiohttp.ClientSession
) -> None:
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await post(http, simulator, "/v1/payments/key-in", key_in_body(amount=17_773))
    assert simulator.ledger.charge_count("order-sim-1") == 1
    status, _ = await get(http, simulator, "/v1/payments/orders/order-sim-1")
    assert status == 200


async def test_latency_amount_is_slow_but_approves() -> None:
    runner, base_url = await start_simulator(secret_key=SECRET, latency_delay=0.5)
    try:
        sim = Simulator(runner, base_url)
        async with aiohttp.ClientSession() as http:
            with pytest.raises(TimeoutError):
                await post(http, sim, "/v1/payments/key-in", key_in_body(amount=17_777),
                           limit=0.1)
            status, body = await post(http, sim, "/v1/payments/key-in",
                                      key_in_body("order-slow-2", amount=27_777))
            assert status == 200 and body["status"] == "DONE"
    finally:
        await runner.cleanup()


async def test_cancels_partial_then_full_then_refused(
    simulator: Simulator, http: aiohttp.ClientSession
) -> None:
    _, paid = await post(http, simulator, "/v1/payments/key-in", key_in_body())
    path = f"/v1/payments/{paid['paymentKey']}/cancel"
    status, body = await post(http, simulator, path, {"cancelReason": "고객 요청",
                                                      "cancelAmount": 5_000})
    assert status == 200 and body["status"] == "PARTIAL_CANCELED"
    assert body["balanceAmount"] == 10_000 and body["cancels"][-1]["cancelAmount"] == 5_000
    status, body = await post(http, simulator, path, {"cancelReason": "x",
                                                      "cancelAmount": 10_001})
    assert (status, body["code"]) == (403, "NOT_CANCELABLE_AMOUNT")
    status, body = await post(http, simulator, path, {"cancelReason": "고객 요청"})
    assert status == 200 and body["status"] == "CANCELED" and body["balanceAmount"] == 0
    status, body = await post(http, simulator, path, {"cancelReason": "again"})
    assert (status, body["code"]) == (400, "ALREADY_CANCELED_PAYMENT")
    status, body = await post(http, simulator, path, {"cancelAmount": 1})
    assert (status, body["code"]) == (400, "INVALID_REQUEST")
    status, body = await post(http, simulator, "/v1/payments/nope/cancel",
                              {"cancelReason": "x"})
    assert (status, body["code"]) == (404, "NOT_FOUND_PAYMENT")
    assert simulator.ledger.refunds[paid["paymentKey"]] == 2


async def test_lookup_of_unknown_order_is_404(
    simulator: Simulator, http: aiohttp.ClientSession
) -> None:
    status, body = await get(http, simulator, "/v1/payments/orders/order-none")
    assert (status, body["code"]) == (404, "NOT_FOUND_PAYMENT")
    assert simulator.ledger.request_count(ROUTE_LOOKUP_ORDER) == 1


async def test_billing_key_issue_and_charge(
    simulator: Simulator, http: aiohttp.ClientSession
) -> None:
    auth_body = {k: v for k, v in key_in_body().items()
                 if k.startswith("card") and k != "cardInstallmentPlan"}
    status, issued = await post(http, simulator, "/v1/billing/authorizations/card",
                                {"customerKey": "cust-1", **auth_body})
    assert status == 200 and issued["customerKey"] == "cust-1"
    assert issued["card"]["number"] == "43302800****001*"
    path = f"/v1/billing/{issued['billingKey']}"
    charge = {"customerKey": "cust-1", "amount": 9_900, "orderId": "order-bill-1",
              "orderName": "월 구독"}
    status, paid = await post(http, simulator, path, charge)
    assert status == 200 and paid["type"] == "BILLING" and paid["status"] == "DONE"
    status, body = await post(http, simulator, path,
                              {**charge, "customerKey": "cust-2", "orderId": "order-bill-2"})
    assert (status, body["code"]) == (403, "NOT_MATCHES_CUSTOMER_KEY")
    status, body = await post(http, simulator, "/v1/billing/bk_unknown",
                              {**charge, "orderId": "order-bill-3"})
    assert (status, body["code"]) == (400, "INVALID_BILL_KEY_REQUEST")
    status, body = await post(http, simulator, "/v1/billing/authorizations/card",
                              {"customerKey": "c", **auth_body})
    assert (status, body["code"]) == (400, "INVALID_REQUEST")
    assert simulator.ledger.charges == {"order-bill-1": 1}


async def test_charge_stage_card_registers_then_fails_to_charge(
    simulator: Simulator, http: aiohttp.ClientSession
) -> None:
    auth_body = {k: v for k, v in key_in_body(cardNumber=sim_cards.INSUFFICIENT_LIMIT).items()
                 if k.startswith("card") and k != "cardInstallmentPlan"}
    status, issued = await post(http, simulator, "/v1/billing/authorizations/card",
                                {"customerKey": "cust-9", **auth_body})
    assert status == 200
    status, body = await post(http, simulator, f"/v1/billing/{issued['billingKey']}",
                              {"customerKey": "cust-9", "amount": 9_900,
                               "orderId": "order-bill-9", "orderName": "월 구독"})
    assert (status, body["code"]) == (403, "REJECT_CARD_PAYMENT")


async def test_standalone_entry_point_serves_requests() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pg_client.simulator", "--port", "0", "--secret-key", SECRET,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
        match = re.search(r"http://\S+", line)
        assert match is not None, line
        async with aiohttp.ClientSession() as http:
            async with http.get(match.group(0) + "/v1/payments/orders/order-none",
                                headers=AUTH) as resp:
                assert resp.status == 404
                assert (await resp.json())["code"] == "NOT_FOUND_PAYMENT"
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 5)
