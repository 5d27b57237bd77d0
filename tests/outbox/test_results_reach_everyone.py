"""A paid call ends in a signed callback to the merchant and a receipt SMS to the payer; every
terminal status calls back; the billing SMS goes through the outbox too."""

from __future__ import annotations

import json
import re

from tests.conftest import RunningServer, create_request
from tests.outbox.conftest import (
    CARD,
    PIN,
    CallbackReceiver,
    deliveries_of,
    eventually,
    pay_by_phone,
    sms_of,
)


async def test_approval_calls_the_merchant_back_and_texts_a_receipt(
    arspay: RunningServer, receiver: CallbackReceiver
):
    paid = await pay_by_phone(arspay, order_id="order-77", amount=28_500)
    await eventually(lambda: receiver.payloads("approved"))
    [callback] = receiver.payloads("approved")
    assert callback["type"] == "ars_request.approved"
    data = callback["data"]
    payment = paid["payment"]
    assert data["id"] == paid["id"] and data["order_id"] == "order-77"
    assert data["kind"] == "payment" and data["status"] == "approved"
    assert data["amount"] == data["approved_amount"] == 28_500
    assert data["refunded_amount"] == 0 and data["remaining_amount"] == 28_500
    assert data["approval_number"] == payment["approval_number"]
    assert data["pg_payment_ref"] == payment["pg_payment_ref"]
    assert data["card"] == payment["card"]
    assert data["card"]["masked"].startswith(CARD[:6]) and data["card"]["masked"].endswith("0019")
    assert data["installment_months"] == 0
    assert data["approved_at"] == payment["approved_at"] and data["created_at"]
    # signed, with a stable id derived from the status change
    [hit] = [r for r in receiver.received if r.answered == 200]
    assert hit.verify_error is None and hit.webhook_id.startswith(f"msg_{paid['id']}_")

    await eventually(lambda: sms_of(arspay, "receipt"))
    [receipt] = sms_of(arspay, "receipt")
    assert receipt["to"] == "+821012345678"
    text = receipt["text"]
    assert "행복상점" in text and "28,500원" in text
    assert payment["approval_number"] in text and data["card"]["masked"] in text
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", text)  # date and time

    # nothing of the card beyond BIN + last 4, nor the PIN, left in a callback or SMS
    everything = b"".join(r.body for r in receiver.received).decode() + json.dumps(
        arspay.sms_outbox(), ensure_ascii=False
    )
    assert CARD not in everything and CARD[6:12] not in everything
    assert f'"{PIN}"' not in everything

    async def both_done() -> bool:
        items = await deliveries_of(arspay, paid["id"])
        return {(d["kind"], d["state"]) for d in items} >= {
            ("callback", "delivered"),
            ("receipt_sms", "sent"),
        }

    await eventually(both_done)
    items = {d["kind"]: d for d in await deliveries_of(arspay, paid["id"])}
    assert items["callback"]["payload"] == callback
    assert items["callback"]["webhook_id"] == hit.webhook_id
    assert [h["outcome"] for h in items["callback"]["history"]] == ["delivered"]
    assert items["callback"]["history"][0]["http_status"] == 200


async def test_cancel_and_expiry_call_back_with_their_details(
    arspay: RunningServer, receiver: CallbackReceiver
):
    one = await create_request(arspay, order_id="c-1", delivery="display")
    two = await create_request(arspay, order_id="c-2", delivery="display",
                               payer_phone="010-2222-3333", expires_in=60)
    await arspay.post(f"/v1/ars-requests/{one['id']}/cancel",
                      {"reason": "고객 변심", "cancelled_by": "agent-7"})
    request = await arspay.server.services.store.get(two["id"])
    await arspay.server.services.ars.expire_due(now=request.expires_at + 1)
    await eventually(lambda: len(receiver.applied) == 2)
    [cancelled] = receiver.payloads("cancelled")
    assert cancelled["data"]["id"] == one["id"]
    assert cancelled["data"]["cancellation"] == {
        "cancelled_by": "merchant:shop1/agent-7", "reason": "고객 변심"
    }
    assert cancelled["data"]["approval_number"] is None and cancelled["data"]["card"] is None
    [expired] = receiver.payloads("expired")
    assert expired["data"]["order_id"] == "c-2" and expired["data"]["approved_amount"] == 0


async def test_per_request_callback_url_wins_over_the_merchants(
    arspay: RunningServer, receiver: CallbackReceiver
):
    other = CallbackReceiver(secrets=receiver.secrets)
    await other.up()
    try:
        made = await create_request(arspay, delivery="display", callback_url=other.url)
        await arspay.post(f"/v1/ars-requests/{made['id']}/cancel", {})
        await eventually(lambda: other.payloads("cancelled"))
        assert receiver.received == []
    finally:
        await other.down()


async def test_billing_sms_leaves_through_the_outbox_and_is_recorded(arspay: RunningServer):
    made = await create_request(arspay)

    async def sent() -> bool:
        _, got = await arspay.get(f"/v1/ars-requests/{made['id']}")
        return got["sms"]["status"] == "sent"

    await eventually(sent)
    [billing] = sms_of(arspay, "billing")
    assert billing["request_id"] == made["id"]
    [delivery] = [d for d in await deliveries_of(arspay, made["id"]) if d["kind"] == "billing_sms"]
    assert delivery["state"] == "sent" and delivery["message_id"] == billing["id"]
    events = [e.type for e in await arspay.server.services.store.events(made["id"])]
    assert events[:2] == ["created", "sms_sent"]
