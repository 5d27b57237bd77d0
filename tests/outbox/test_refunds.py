"""Refunds: partial then full through the PG, each called back and texted; refusals with a
clear 4xx; an Idempotency-Key or a lost PG answer never refunds twice."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from tests.conftest import OTHER_MERCHANT_KEY, RunningServer, create_request, merchant_config
from tests.outbox.conftest import (
    FAST_OUTBOX,
    SECRET,
    CallbackReceiver,
    eventually,
    pay_by_phone,
    sms_of,
)


@pytest.fixture
def settings_overrides(receiver: CallbackReceiver) -> dict[str, Any]:
    # Retries for ~2 s: the receiver may be down for a few hundred milliseconds here.
    return {
        "outbox": {**FAST_OUTBOX, "retry_schedule": [0.05] * 40},
        "merchants": merchant_config(callback_url=receiver.url, callback_secrets=[SECRET]),
    }


def ledger(arspay: RunningServer) -> Any:
    return arspay.server.pg_simulator.app["ledger"]


async def refund(
    arspay: RunningServer, request_id: str, body: dict[str, Any], **kwargs: Any
) -> tuple[int, Any]:
    return await arspay.post(f"/v1/ars-requests/{request_id}/refund", body, **kwargs)


async def test_partial_then_full_refund_each_called_back_as_of_its_moment_and_texted(
    arspay: RunningServer, receiver: CallbackReceiver
):
    await receiver.down()  # every callback waits: they are delivered after all has happened
    paid = await pay_by_phone(arspay, amount=28_500)
    status, partial = await refund(arspay, paid["id"], {"amount": 10_000, "reason": "일부 반품"})
    assert status == 200, partial
    assert partial["status"] == "partially_refunded"
    assert partial["payment"]["refunded_amount"] == 10_000
    assert partial["payment"]["remaining_amount"] == 18_500
    status, full = await refund(arspay, paid["id"], {"reason": "전체 반품"})
    assert status == 200, full
    assert full["status"] == "refunded"
    assert full["payment"]["refunded_amount"] == 28_500
    assert full["payment"]["remaining_amount"] == 0
    payment = ledger(arspay).payments[paid["payment"]["pg_payment_ref"]]
    assert payment.balance == 0 and [c["cancelAmount"] for c in payment.cancels] == [10_000, 18_500]

    await receiver.up()
    await eventually(lambda: len(receiver.applied) == 3)
    [approved] = receiver.payloads("approved")
    assert approved["data"]["refunded_amount"] == 0 and approved["data"]["refund"] is None
    assert approved["data"]["remaining_amount"] == 28_500
    [part] = receiver.payloads("partially_refunded")
    assert part["data"]["refund"]["amount"] == 10_000
    assert part["data"]["refund"]["reason"] == "일부 반품"
    assert (part["data"]["refunded_amount"], part["data"]["remaining_amount"]) == (10_000, 18_500)
    [done] = receiver.payloads("refunded")
    assert done["data"]["refund"]["amount"] == 18_500
    assert (done["data"]["refunded_amount"], done["data"]["remaining_amount"]) == (28_500, 0)
    assert done["data"]["approval_number"] == paid["payment"]["approval_number"]

    await eventually(lambda: len(sms_of(arspay, "cancel")) == 2)
    first, second = sorted(sms_of(arspay, "cancel"), key=lambda m: m["time"])
    assert "취소 금액: 10,000원" in first["text"] and "남은 결제 금액: 18,500원" in first["text"]
    assert "취소 금액: 18,500원" in second["text"] and "전액 취소되었습니다." in second["text"]
    assert paid["payment"]["card"]["masked"] in second["text"]

    status, err = await refund(arspay, paid["id"], {"reason": "again"})
    assert status == 409 and err["error"]["code"] == "not_refundable"
    assert "refunded" in err["error"]["message"]


async def test_refusals_are_clear(arspay: RunningServer):
    pending = await create_request(arspay, delivery="display", order_id="pending-1")
    status, err = await refund(arspay, pending["id"], {"reason": "x"})
    assert status == 409 and err["error"]["code"] == "not_refundable"
    assert "pending" in err["error"]["message"]

    paid = await pay_by_phone(arspay, amount=12_000, order_id="paid-1",
                              payer_phone="010-3333-4444")
    status, err = await refund(arspay, paid["id"], {"amount": 12_001, "reason": "x"})
    assert status == 422 and err["error"]["code"] == "refund_exceeds_remaining"
    assert err["error"]["field"] == "amount" and err["error"]["remaining_amount"] == 12_000
    assert "12,001" in err["error"]["message"] and "12,000" in err["error"]["message"]
    status, err = await refund(arspay, paid["id"], {"amount": 0, "reason": "x"})
    assert status == 422 and err["error"]["field"] == "amount"
    status, err = await refund(arspay, paid["id"], {"amount": 100})
    assert status == 422 and err["error"]["code"] == "missing_field"
    status, err = await refund(arspay, paid["id"], {"reason": "x"}, key=OTHER_MERCHANT_KEY)
    assert status == 404
    _, still = await arspay.get(f"/v1/ars-requests/{paid['id']}")
    assert still["status"] == "approved" and still["payment"]["refunded_amount"] == 0
    assert ledger(arspay).refunds[paid["payment"]["pg_payment_ref"]] == 0


async def test_idempotency_key_replays_the_refund_instead_of_refunding_twice(
    arspay: RunningServer,
):
    paid = await pay_by_phone(arspay, amount=20_000)
    headers = {"Idempotency-Key": "refund-7"}
    body = {"amount": 5_000, "reason": "부분 취소"}
    s1, first = await refund(arspay, paid["id"], body, headers=headers)
    s2, again = await refund(arspay, paid["id"], body, headers=headers)
    assert s1 == s2 == 200 and first == again
    assert again["payment"]["refunded_amount"] == 5_000
    assert ledger(arspay).refunds[paid["payment"]["pg_payment_ref"]] == 1
    s3, err = await refund(arspay, paid["id"], {"amount": 6_000, "reason": "x"}, headers=headers)
    assert s3 == 422 and err["error"]["code"] == "idempotency_key_reused"


async def test_a_lost_pg_answer_is_resent_under_the_same_key_and_refunds_once(
    arspay: RunningServer,
):
    # Amounts ending in 7773: the simulator does the work, then drops the connection unanswered
    # (the authorization is recovered by a lookup; the refund by resending the same key).
    paid = await pay_by_phone(arspay, amount=17_773)
    status, done = await refund(arspay, paid["id"], {"amount": 7_773, "reason": "부분 취소"})
    assert status == 200, done
    assert done["status"] == "partially_refunded"
    assert done["payment"]["refunded_amount"] == 7_773
    payment = ledger(arspay).payments[paid["payment"]["pg_payment_ref"]]
    assert [c["cancelAmount"] for c in payment.cancels] == [7_773]
    assert payment.balance == 10_000
    assert ledger(arspay).request_count("POST /v1/payments/{paymentKey}/cancel") == 2  # resent
    assert ledger(arspay).refunds[paid["payment"]["pg_payment_ref"]] == 1  # refunded once


async def _pg_down(arspay: RunningServer) -> None:
    """The PG stops answering: no listening socket, its open connections closed."""
    runner = arspay.server.pg_simulator
    for site in list(runner.sites):
        await site.stop()
    assert runner.server is not None
    await runner.server.shutdown(0.1)


async def test_pg_unreachable_changes_nothing_and_the_same_refund_can_be_retried(
    arspay: RunningServer,
):
    paid = await pay_by_phone(arspay, amount=30_000)
    runner = arspay.server.pg_simulator
    port = int(arspay.server.pg_simulator_url.rsplit(":", 1)[1])
    await _pg_down(arspay)
    body = {"amount": 10_000, "reason": "부분 취소"}
    headers = {"Idempotency-Key": "r-1"}
    status, err = await refund(arspay, paid["id"], body, headers=headers)
    assert status == 502 and err["error"]["code"] == "refund_in_doubt"
    assert "same amount" in err["error"]["message"]
    _, still = await arspay.get(f"/v1/ars-requests/{paid['id']}")
    assert still["status"] == "approved" and still["payment"]["refunded_amount"] == 0
    status, err = await refund(arspay, paid["id"], {"amount": 5_000, "reason": "x"})
    assert status == 409 and err["error"]["code"] == "refund_in_doubt"
    assert err["error"]["pending_amount"] == 10_000

    site = web.TCPSite(runner, "127.0.0.1", port)  # the PG is back, with its ledger
    await site.start()
    status, done = await refund(arspay, paid["id"], body, headers=headers)  # not a replay
    assert status == 200, done
    assert done["status"] == "partially_refunded" and done["payment"]["refunded_amount"] == 10_000
    assert ledger(arspay).refunds[paid["payment"]["pg_payment_ref"]] == 1
    events = [e.type for e in await arspay.server.services.store.events(paid["id"])]
    assert "refund_in_doubt" in events and events[-1] in ("partially_refunded", "sms_sent",
                                                          "callback_delivered")


async def test_pg_refusal_is_a_422_with_the_pg_code(arspay: RunningServer):
    paid = await pay_by_phone(arspay, amount=15_000)
    pg = arspay.server.services.pg_clients["toss"]
    # cancelled at the PG behind arspay's back (e.g. in the PG's console)
    outside = await pg.cancel(paid["payment"]["pg_payment_ref"], None, "console", "outside-1")
    assert type(outside).__name__ == "Cancelled"
    status, err = await refund(arspay, paid["id"], {"amount": 1_000, "reason": "x"})
    assert status == 422 and err["error"]["code"] == "refund_declined"
    assert err["error"]["pg_code"] == "ALREADY_CANCELED_PAYMENT"
    # the refusal is final: nothing is left waiting, another amount gets the PG's answer too
    status, err = await refund(arspay, paid["id"], {"amount": 2_000, "reason": "x"})
    assert status == 422 and err["error"]["code"] == "refund_declined"
