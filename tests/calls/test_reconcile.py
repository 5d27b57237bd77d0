"""Requests stuck in ``authorizing`` are settled by asking the PG (start-up / periodic)."""

from __future__ import annotations

from ivr.reconcile import reconcile_authorizing
from pg_client.base import Order, idempotency_key_for, order_id_for
from pg_client.card import CardData
from pg_client.outcomes import Approved
from tests.calls.callkit import CARD, charges, status_of
from tests.conftest import RunningServer, create_request


async def _stuck_in_authorizing(arspay: RunningServer, *, charge: bool) -> str:
    services = arspay.server.services
    req = await create_request(arspay, delivery="display")
    request = await services.store.get(req["id"])
    request, _call_id = await services.ars.claim_for_call(request)
    request = await services.ars.begin_authorization(request)
    if charge:  # the PG charged, but the worker died before recording it
        client = services.pg_clients["toss"]
        order = Order(order_id_for(request.id, 1), "커피", request.amount, "홍길동",
                      idempotency_key_for(request.id, 1, "authorize"))
        card = CardData.create(CARD, "1230", identity="880229", pin2="47")
        assert isinstance(await client.authorize_keyed(order, card, 0), Approved)
    return req["id"]


async def test_a_charged_order_is_recorded_approved(arspay: RunningServer):
    request_id = await _stuck_in_authorizing(arspay, charge=True)
    services = arspay.server.services
    counts = await reconcile_authorizing(services.settings, services.ars, services.pg_clients,
                                         older_than_ms=0, backoff=0.01)
    assert counts["approved"] == 1
    got = await status_of(arspay, request_id)
    assert got["status"] == "approved" and got["payment"]["card"]["masked"].startswith("433028")
    assert len(charges(arspay)) == 1


async def test_an_order_the_pg_never_saw_goes_back_to_pending(arspay: RunningServer):
    request_id = await _stuck_in_authorizing(arspay, charge=False)
    services = arspay.server.services
    counts = await reconcile_authorizing(services.settings, services.ars, services.pg_clients,
                                         older_than_ms=0, backoff=0.01)
    assert counts["not_charged"] == 1
    got = await status_of(arspay, request_id)
    assert got["status"] == "pending"
    # the number still leads to the request
    assert await services.pool.lookup(got["virtual_number"]["e164"], got["payer_phone"]) == \
        request_id


async def test_young_authorizations_are_left_to_their_live_call(arspay: RunningServer):
    request_id = await _stuck_in_authorizing(arspay, charge=True)
    services = arspay.server.services
    counts = await reconcile_authorizing(services.settings, services.ars, services.pg_clients,
                                         older_than_ms=60_000)
    assert sum(counts.values()) == 0
    assert (await status_of(arspay, request_id))["status"] == "authorizing"
