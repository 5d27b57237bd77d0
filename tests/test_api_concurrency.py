"""Many simultaneous creations through the API: numbers never collide, all end freed."""

from __future__ import annotations

import asyncio

from tests.conftest import RunningServer, payment_body


async def test_simultaneous_creations_then_all_end(arspay: RunningServer):
    phones = [f"010-7000-{1000 + n}" for n in range(6)]
    bodies = [
        payment_body(order_id=f"c-{p[-4:]}-{k}", payer_phone=p, delivery="display")
        for p in phones
        for k in range(13)  # pool has 10 numbers: 3 per phone must get 409
    ]
    results = await asyncio.gather(*[arspay.post("/v1/ars-requests", b) for b in bodies])
    statuses = [s for s, _ in results]
    assert set(statuses) <= {201, 409}
    created = [b for s, b in results if s == 201]
    assert len(created) == 60
    pairs = {(b["virtual_number"]["e164"], b["payer_phone"]) for b in created}
    assert len(pairs) == len(created)
    refusals = [b for s, b in results if s == 409]
    assert all(b["error"]["code"] == "pool_exhausted" for b in refusals)
    assert all(b["error"]["pending_requests"] == 10 for b in refusals)
    await asyncio.gather(*[arspay.post(f"/v1/ars-requests/{b['id']}/cancel", {}) for b in created])
    assert await arspay.server.services.pool.allocated_total() == 0
