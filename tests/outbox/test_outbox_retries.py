"""At least once, applied once: a receiver that fails or is down still gets every callback; the
receiver's dedupe on webhook-id makes it count once; the last failure is dead-lettered."""

from __future__ import annotations

from tests.conftest import OTHER_MERCHANT_KEY, RunningServer, create_request, payment_body
from tests.outbox.conftest import CallbackReceiver, deliveries_of, eventually


async def cancelled_request(arspay: RunningServer, **overrides) -> dict:
    made = await create_request(arspay, delivery="display", **overrides)
    status, _ = await arspay.post(f"/v1/ars-requests/{made['id']}/cancel", {"reason": "test"})
    assert status == 200
    return made


async def callback_of(arspay: RunningServer, request_id: str) -> dict:
    """The request's callback delivery ({} before a worker has taken it)."""
    found = [d for d in await deliveries_of(arspay, request_id) if d["kind"] == "callback"]
    assert len(found) <= 1
    return found[0] if found else {}


async def test_receiver_answering_500_three_times_gets_it_on_the_fourth_and_applies_once(
    arspay: RunningServer, receiver: CallbackReceiver
):
    receiver.fail_next(3)
    made = await cancelled_request(arspay)
    await eventually(lambda: receiver.applied)
    assert [r.answered for r in receiver.received] == [500, 500, 500, 200]
    assert len({r.webhook_id for r in receiver.received}) == 1  # the same message each time
    assert len({r.body for r in receiver.received}) == 1  # byte for byte
    assert all(r.verify_error is None for r in receiver.received)
    assert len(receiver.applied) == 1

    async def delivered() -> bool:
        return (await callback_of(arspay, made["id"])).get("state") == "delivered"

    await eventually(delivered)
    callback = await callback_of(arspay, made["id"])
    assert callback["attempts"] == 4
    assert [(h["outcome"], h["http_status"]) for h in callback["history"]] == [
        ("failed", 500), ("failed", 500), ("failed", 500), ("delivered", 200)
    ]
    assert callback["history"][0]["error"] == "HTTP 500"
    events = [e.type for e in await arspay.server.services.store.events(made["id"])]
    assert events.count("callback_delivered") == 1


async def test_receiver_down_for_a_while_gets_it_when_back(
    arspay: RunningServer, receiver: CallbackReceiver
):
    await receiver.down()
    made = await cancelled_request(arspay)

    async def refused_twice() -> bool:
        history = (await callback_of(arspay, made["id"])).get("history", [])
        return len(history) >= 2

    await eventually(refused_twice)
    callback = await callback_of(arspay, made["id"])
    assert callback["state"] in ("retrying", "delivering")
    assert callback["history"][0]["error"].startswith("connection failed")
    assert callback["next_attempt_at"] or callback["state"] == "delivering"
    await receiver.up()
    await eventually(lambda: receiver.applied)
    assert len(receiver.applied) == 1
    [payload] = receiver.payloads("cancelled")
    assert payload["data"]["id"] == made["id"]


async def test_the_last_failure_is_dead_lettered_visible_and_can_be_sent_again(
    arspay: RunningServer, receiver: CallbackReceiver
):
    receiver.fail_next(1000, status=503)
    made = await cancelled_request(arspay)

    async def dead() -> bool:
        return (await callback_of(arspay, made["id"])).get("state") == "dead"

    await eventually(dead)
    callback = await callback_of(arspay, made["id"])
    schedule = arspay.server.settings.outbox.retry_schedule
    assert callback["attempts"] == callback["max_attempts"] == len(schedule) + 1
    assert callback["last_error"] == "HTTP 503" and callback["next_attempt_at"] is None
    status, letters = await arspay.get("/v1/dead-letters")
    assert status == 200
    [letter] = letters["items"]
    assert letter["request_id"] == made["id"] and letter["delivery_id"] == callback["id"]
    assert letter["attempts"] == len(schedule) + 1 and letter["last_error"] == "HTTP 503"
    _, theirs = await arspay.get("/v1/dead-letters", key=OTHER_MERCHANT_KEY)
    assert theirs["items"] == []
    assert not receiver.applied

    receiver.fail_next(0)
    status, queued = await arspay.post(
        f"/v1/ars-requests/{made['id']}/deliveries/{callback['id']}/resend"
    )
    assert status == 202 and queued["state"] == "queued", queued
    await eventually(lambda: receiver.applied)
    ids = {r.webhook_id for r in receiver.received}
    assert ids == {callback["webhook_id"]}

    async def delivered() -> bool:
        return (await callback_of(arspay, made["id"])).get("state") == "delivered"

    await eventually(delivered)
    assert (await callback_of(arspay, made["id"]))["manual_resends"] == 1


async def test_resending_a_delivered_callback_is_deduped_by_the_receiver(
    arspay: RunningServer, receiver: CallbackReceiver
):
    made = await cancelled_request(arspay)

    async def delivered() -> bool:
        return (await callback_of(arspay, made["id"])).get("state") == "delivered"

    await eventually(delivered)
    callback = await callback_of(arspay, made["id"])
    assert len(receiver.received) == 1
    status, _ = await arspay.post(
        f"/v1/ars-requests/{made['id']}/deliveries/{callback['id']}/resend"
    )
    assert status == 202
    await eventually(lambda: len(receiver.received) == 2)
    assert receiver.received[0].webhook_id == receiver.received[1].webhook_id
    assert len(receiver.applied) == 1


async def test_resend_refuses_unknown_deliveries_and_sms(arspay: RunningServer):
    made = await create_request(arspay)

    async def sms_sent() -> bool:
        return any(d["state"] == "sent" for d in await deliveries_of(arspay, made["id"]))

    await eventually(sms_sent)
    [sms] = await deliveries_of(arspay, made["id"])
    status, err = await arspay.post(f"/v1/ars-requests/{made['id']}/deliveries/{sms['id']}/resend")
    assert status == 409 and err["error"]["code"] == "not_resendable"
    status, err = await arspay.post(f"/v1/ars-requests/{made['id']}/deliveries/callback:1-0/resend")
    assert status == 404 and err["error"]["code"] == "not_found"
    status, _ = await arspay.get(f"/v1/ars-requests/{made['id']}/deliveries",
                                 key=OTHER_MERCHANT_KEY)
    assert status == 404


async def test_merchant_without_callback_url_is_skipped_not_dead_lettered(
    arspay: RunningServer, receiver: CallbackReceiver
):
    status, made = await arspay.post(
        "/v1/ars-requests", payment_body(delivery="display"), key=OTHER_MERCHANT_KEY
    )
    assert status == 201
    await arspay.post(f"/v1/ars-requests/{made['id']}/cancel", {}, key=OTHER_MERCHANT_KEY)

    async def skipped() -> list:
        _, body = await arspay.get(f"/v1/ars-requests/{made['id']}/deliveries",
                                   key=OTHER_MERCHANT_KEY)
        return [d for d in body["items"] if d["state"] == "skipped"]

    await eventually(skipped)
    [callback] = await skipped()
    assert callback["last_error"] == "no callback URL" and callback["attempts"] == 1
    _, letters = await arspay.get("/v1/dead-letters", key=OTHER_MERCHANT_KEY)
    assert letters["items"] == []
    assert receiver.received == []
