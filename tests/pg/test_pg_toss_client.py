"""TossClient against the real simulator: every operation and every test card."""

from __future__ import annotations

import logging
import re

import aiohttp
import pytest
from pg_helpers import SECRET, Simulator, card, closed_port, new_order

from pg_client.base import Order
from pg_client.outcomes import (
    Approved,
    BillingKeyIssued,
    Cancelled,
    DeclineCategory,
    Declined,
    InDoubt,
    NotFound,
)
from pg_client.simulator import ROUTE_KEY_IN, TEST_CARDS, Stage
from pg_client.simulator import cards as sim_cards
from pg_client.toss import TossClient


async def test_keyed_payment_is_approved(toss: TossClient, simulator: Simulator) -> None:
    order = new_order(60_000)
    outcome = await toss.authorize_keyed(order, card(), 3)
    assert isinstance(outcome, Approved)
    assert outcome.order_id == order.order_id and outcome.amount == 60_000
    assert re.fullmatch(r"\d{8}", outcome.approval_number)
    assert outcome.installment_months == 3
    assert (outcome.brand, outcome.issuer) == ("Visa", "신한카드")
    assert outcome.masked_number == "433028******0019"
    assert outcome.approved_at.tzinfo is not None
    assert simulator.ledger.payment_for_order(order.order_id).payment_key == outcome.payment_ref


@pytest.mark.parametrize(
    ("number", "brand", "issuer"),
    [(sim_cards.APPROVE_MASTERCARD, "Mastercard", "KB국민카드"),
     (sim_cards.APPROVE_AMEX, "AMEX", "현대카드"),
     (sim_cards.APPROVE_BC_DOMESTIC, "BC", "BC카드")],
)
async def test_other_approving_cards(toss: TossClient, number: str, brand: str,
                                     issuer: str) -> None:
    outcome = await toss.authorize_keyed(new_order(), card(number), 0)
    assert isinstance(outcome, Approved) and (outcome.brand, outcome.issuer) == (brand, issuer)


@pytest.mark.parametrize("number", [n for n, c in TEST_CARDS.items() if c.code])
async def test_each_decline_card_maps_to_its_category(
    toss: TossClient, simulator: Simulator, number: str
) -> None:
    test_card = TEST_CARDS[number]
    months = 3 if test_card.stage is Stage.installment else 0
    outcome = await toss.authorize_keyed(new_order(60_000), card(number), months)
    assert outcome == Declined(test_card.code, test_card.message,  # type: ignore[arg-type]
                               DeclineCategory(test_card.category))
    assert not simulator.ledger.charges


async def test_installments_below_50000_are_refused(toss: TossClient) -> None:
    outcome = await toss.authorize_keyed(new_order(49_999), card(), 2)
    assert isinstance(outcome, Declined)
    assert outcome.category is DeclineCategory.installment_not_allowed


async def test_invalid_installment_plan_is_a_programming_error(toss: TossClient,
                                                               simulator: Simulator) -> None:
    with pytest.raises(ValueError):
        await toss.authorize_keyed(new_order(60_000), card(), 1)
    assert simulator.ledger.request_count() == 0


async def test_same_idempotency_key_returns_the_same_payment(
    toss: TossClient, simulator: Simulator
) -> None:
    order = new_order()
    first = await toss.authorize_keyed(order, card(), 0)
    second = await toss.authorize_keyed(order, card(), 0)
    assert isinstance(first, Approved) and first == second
    assert simulator.ledger.charge_count(order.order_id) == 1
    assert simulator.ledger.request_count(ROUTE_KEY_IN) == 2


async def test_reused_order_id_with_a_new_key_is_in_doubt_not_declined(
    toss: TossClient, simulator: Simulator
) -> None:
    order = new_order()
    assert isinstance(await toss.authorize_keyed(order, card(), 0), Approved)
    again = Order(order.order_id, order.order_name, order.amount, None, "other-key")
    outcome = await toss.authorize_keyed(again, card(), 0)
    assert outcome == InDoubt("duplicated_order_id")
    assert simulator.ledger.charge_count(order.order_id) == 1


async def test_billing_key_issue_and_charge(toss: TossClient, simulator: Simulator) -> None:
    issued = await toss.issue_billing_key("cust-001", card())
    assert isinstance(issued, BillingKeyIssued)
    assert issued.customer_key == "cust-001" and issued.masked_number == "433028******0019"
    assert (issued.brand, issued.issuer) == ("Visa", "신한카드")
    order = new_order(9_900)
    paid = await toss.charge_billing_key(issued.billing_key, "cust-001", order, 0)
    assert isinstance(paid, Approved) and paid.amount == 9_900
    assert paid.masked_number == "43302800****001*"  # as the PG shows it
    assert simulator.ledger.charge_count(order.order_id) == 1


async def test_billing_key_refusals(toss: TossClient) -> None:
    refused = await toss.issue_billing_key("cust-002", card(sim_cards.WRONG_PIN))
    assert isinstance(refused, Declined) and refused.category is DeclineCategory.wrong_pin
    issued = await toss.issue_billing_key("cust-003", card(sim_cards.INSUFFICIENT_LIMIT))
    assert isinstance(issued, BillingKeyIssued)
    declined = await toss.charge_billing_key(issued.billing_key, "cust-003", new_order(), 0)
    assert isinstance(declined, Declined)
    assert declined.category is DeclineCategory.insufficient_limit
    mismatch = await toss.charge_billing_key(issued.billing_key, "someone-else", new_order(), 0)
    assert isinstance(mismatch, Declined) and mismatch.code == "NOT_MATCHES_CUSTOMER_KEY"
    unknown = await toss.charge_billing_key("bk/../weird?key", "cust-003", new_order(), 0)
    assert isinstance(unknown, Declined) and unknown.code == "INVALID_BILL_KEY_REQUEST"


async def test_partial_and_full_cancel(toss: TossClient, simulator: Simulator) -> None:
    order = new_order(30_000)
    paid = await toss.authorize_keyed(order, card(), 0)
    assert isinstance(paid, Approved)
    partial = await toss.cancel(paid.payment_ref, 10_000, "부분 환불", "cancel-1")
    assert partial == Cancelled(paid.payment_ref, 10_000, 20_000, "PARTIAL_CANCELED")
    replay = await toss.cancel(paid.payment_ref, 10_000, "부분 환불", "cancel-1")
    assert replay == partial and simulator.ledger.refunds[paid.payment_ref] == 1
    state = await toss.lookup_payment(order.order_id)
    assert state == Cancelled(paid.payment_ref, 10_000, 20_000, "PARTIAL_CANCELED")
    full = await toss.cancel(paid.payment_ref, None, "전액 환불", "cancel-2")
    assert full == Cancelled(paid.payment_ref, 20_000, 0, "CANCELED")
    refused = await toss.cancel(paid.payment_ref, None, "또", "cancel-3")
    assert isinstance(refused, Declined) and refused.code == "ALREADY_CANCELED_PAYMENT"
    # "was it charged?" stays yes after a refund
    looked_up = await toss.lookup(order.order_id)
    assert isinstance(looked_up, Approved) and looked_up.payment_ref == paid.payment_ref


async def test_cancel_of_too_much_or_unknown(toss: TossClient) -> None:
    paid = await toss.authorize_keyed(new_order(1_000), card(), 0)
    assert isinstance(paid, Approved)
    too_much = await toss.cancel(paid.payment_ref, 1_001, "x", "c-1")
    assert isinstance(too_much, Declined) and too_much.code == "NOT_CANCELABLE_AMOUNT"
    unknown = await toss.cancel("no-such-payment", None, "x", "c-2")
    assert isinstance(unknown, Declined) and unknown.code == "NOT_FOUND_PAYMENT"
    with pytest.raises(ValueError):
        await toss.cancel(paid.payment_ref, 0, "x", "c-3")
    with pytest.raises(ValueError):
        await toss.cancel(paid.payment_ref, None, "", "c-4")


async def test_lookup(toss: TossClient) -> None:
    assert await toss.lookup("order-never-made") == NotFound()
    order = new_order()
    paid = await toss.authorize_keyed(order, card(), 0)
    found = await toss.lookup(order.order_id)
    assert isinstance(found, Approved) and isinstance(paid, Approved)
    assert (found.payment_ref, found.approval_number) == (paid.payment_ref, paid.approval_number)


async def test_wrong_secret_is_a_definite_refusal_logged_as_configuration(
    simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    client = TossClient(simulator.base_url, "test_sk_wrong", timeout=1)
    try:
        with caplog.at_level(logging.ERROR, logger="pg_client"):
            outcome = await client.authorize_keyed(new_order(), card(), 0)
        assert isinstance(outcome, Declined) and outcome.code == "UNAUTHORIZED_KEY"
        assert "merchant configuration" in caplog.text
        assert await client.lookup("order-x") == InDoubt("lookup_http_401:UNAUTHORIZED_KEY")
    finally:
        await client.close()
    assert not simulator.ledger.charges


async def test_unreachable_pg_is_in_doubt_but_provably_not_charged() -> None:
    client = TossClient(f"http://127.0.0.1:{closed_port()}", SECRET, timeout=1)
    try:
        outcome = await client.authorize_keyed(new_order(), card(), 0)
        assert outcome == InDoubt("connect_failed", maybe_charged=False)
    finally:
        await client.close()


async def test_external_session_is_not_closed_by_the_client(simulator: Simulator) -> None:
    async with aiohttp.ClientSession() as session:
        client = TossClient(simulator.base_url, SECRET, session=session)
        assert isinstance(await client.authorize_keyed(new_order(), card(), 0), Approved)
        await client.close()
        assert not session.closed
