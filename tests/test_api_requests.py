"""The merchant API: create, read, list, cancel, idempotency."""

from __future__ import annotations

import asyncio

from tests.conftest import OTHER_MERCHANT_KEY, RunningServer, payment_body


async def wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_create_payment_request_allocates_number_and_texts_payer(arspay: RunningServer):
    status, body = await arspay.post("/v1/ars-requests", payment_body())
    assert status == 201, body
    assert body["status"] == "pending"
    assert body["payer_phone"] == "+821012345678"
    assert body["virtual_number"]["e164"].startswith("+82160050")
    assert body["virtual_number"]["display"].startswith("1600-50")
    assert body["expires_at"].endswith("Z")
    assert body["sms"]["status"] == "queued"

    async def sms_recorded() -> bool:
        _, got = await arspay.get(f"/v1/ars-requests/{body['id']}")
        return got["sms"]["status"] == "sent"

    await wait_for(sms_recorded)
    [sms] = arspay.sms_outbox()
    assert sms["to"] == "+821012345678"
    lines = sms["text"].splitlines()
    assert body["virtual_number"]["display"] in lines  # the number alone on its own line
    assert "28,500원" in sms["text"] and "행복상점" in sms["text"]


async def test_display_delivery_sends_no_sms_and_accepts_landline(arspay: RunningServer):
    status, body = await arspay.post(
        "/v1/ars-requests", payment_body(delivery="display", payer_phone="02-123-4567")
    )
    assert status == 201, body
    assert body["sms"]["status"] == "not_sent"
    await asyncio.sleep(0.05)
    assert arspay.sms_outbox() == []


async def test_get_is_scoped_to_the_merchant(arspay: RunningServer):
    _, created = await arspay.post("/v1/ars-requests", payment_body())
    status, got = await arspay.get(f"/v1/ars-requests/{created['id']}")
    assert status == 200 and got["id"] == created["id"]
    status, err = await arspay.get(f"/v1/ars-requests/{created['id']}", key=OTHER_MERCHANT_KEY)
    assert status == 404 and err["error"]["code"] == "not_found"
    status, err = await arspay.get("/v1/ars-requests/ars_doesnotexist")
    assert status == 404


async def test_duplicate_order_id_names_the_existing_request(arspay: RunningServer):
    _, first = await arspay.post("/v1/ars-requests", payment_body())
    status, err = await arspay.post("/v1/ars-requests", payment_body(amount=1000))
    assert status == 409
    assert err["error"]["code"] == "duplicate_order_id"
    assert err["error"]["existing_request_id"] == first["id"]
    assert first["id"] in err["error"]["message"]
    # another merchant may use the same order id
    status, _ = await arspay.post(
        "/v1/ars-requests", payment_body(payer_phone="010-2222-3333"), key=OTHER_MERCHANT_KEY
    )
    assert status == 201


async def test_idempotency_key_replays_and_detects_a_different_body(arspay: RunningServer):
    headers = {"Idempotency-Key": "create-abc"}
    s1, b1 = await arspay.post("/v1/ars-requests", payment_body(), headers=headers)
    s2, b2 = await arspay.post("/v1/ars-requests", payment_body(), headers=headers)
    assert (s1, s2) == (201, 201)
    assert b1["id"] == b2["id"]
    s3, b3 = await arspay.post("/v1/ars-requests", payment_body(amount=999), headers=headers)
    assert s3 == 422 and b3["error"]["code"] == "idempotency_key_reused"
    assert b3["error"]["field"] == "Idempotency-Key"
    # an error answer is replayed too
    s4, b4 = await arspay.post(
        "/v1/ars-requests", payment_body(), headers={"Idempotency-Key": "other"}
    )
    s5, b5 = await arspay.post(
        "/v1/ars-requests", payment_body(), headers={"Idempotency-Key": "other"}
    )
    assert s4 == s5 == 409 and b4 == b5
    _, page = await arspay.get("/v1/ars-requests")
    assert len(page["items"]) == 1


async def test_concurrent_identical_idempotent_creates_make_one_request(arspay: RunningServer):
    headers = {"Idempotency-Key": "race-1"}
    results = await asyncio.gather(
        *[arspay.post("/v1/ars-requests", payment_body(), headers=headers) for _ in range(8)]
    )
    created = [b["id"] for s, b in results if s == 201]
    assert created and len(set(created)) == 1
    assert all(s in (201, 409) for s, _ in results)
    _, page = await arspay.get("/v1/ars-requests")
    assert len(page["items"]) == 1


async def test_cancel_frees_the_number_and_records_who(arspay: RunningServer):
    _, created = await arspay.post("/v1/ars-requests", payment_body())
    status, cancelled = await arspay.post(
        f"/v1/ars-requests/{created['id']}/cancel",
        {"reason": "고객 요청", "cancelled_by": "agent-7"},
    )
    assert status == 200
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancellation"] == {
        "cancelled_by": "merchant:shop1/agent-7",
        "reason": "고객 요청",
    }
    pool = arspay.server.services.pool
    assert await pool.lookup(created["virtual_number"]["e164"], "+821012345678") is None
    status, err = await arspay.post(f"/v1/ars-requests/{created['id']}/cancel", {})
    assert status == 409 and err["error"]["code"] == "not_cancellable"
    events = await arspay.server.services.store.events(created["id"])
    assert [e.type for e in events][:1] == ["created"]
    [cancel_event] = [e for e in events if e.type == "cancelled"]
    assert cancel_event.status == "cancelled"
    assert cancel_event.data["cancelled_by"].endswith("agent-7")


async def test_list_filters_and_paginates_without_gaps(arspay: RunningServer):
    ids = []
    for n in range(7):
        _, body = await arspay.post(
            "/v1/ars-requests",
            payment_body(order_id=f"o-{n}", payer_phone=f"010-5555-{1000 + n}", delivery="display"),
        )
        ids.append(body["id"])
    await arspay.post(f"/v1/ars-requests/{ids[2]}/cancel", {})
    seen: list[str] = []
    cursor = None
    while True:
        path = "/v1/ars-requests?limit=3" + (f"&cursor={cursor}" if cursor else "")
        status, page = await arspay.get(path)
        assert status == 200
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))
    _, pending = await arspay.get("/v1/ars-requests?status=pending")
    assert {i["id"] for i in pending["items"]} == set(ids) - {ids[2]}
    _, cancelled = await arspay.get("/v1/ars-requests?status=cancelled")
    assert [i["id"] for i in cancelled["items"]] == [ids[2]]
    _, none_yet = await arspay.get("/v1/ars-requests?created_to=2000-01-01T00:00:00Z")
    assert none_yet["items"] == []
    _, other = await arspay.get("/v1/ars-requests", key=OTHER_MERCHANT_KEY)
    assert other["items"] == []


async def test_expiry_sweeper_expires_and_frees_the_number(arspay: RunningServer):
    _, created = await arspay.post("/v1/ars-requests", payment_body(expires_in=60))
    services = arspay.server.services
    request = await services.store.get(created["id"])
    assert request is not None
    assert await services.ars.expire_due(now=request.expires_at - 1000) == 0
    assert await services.ars.expire_due(now=request.expires_at + 1) == 1
    _, got = await arspay.get(f"/v1/ars-requests/{created['id']}")
    assert got["status"] == "expired"
    assert await services.pool.lookup(created["virtual_number"]["e164"], "+821012345678") is None
    assert "expired" in [e.type for e in await services.store.events(created["id"])]


async def test_health_and_readiness(arspay: RunningServer):
    status, body = await arspay.get("/healthz", key=None)
    assert status == 200 and body == {"status": "ok"}
    status, body = await arspay.get("/readyz", key=None)
    assert status == 200 and body["checks"]["redis"] == "ok"
