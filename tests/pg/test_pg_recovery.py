"""Reliability: in-doubt payments end as exactly one charge or provably none.

All against the real simulator; its fault amounts (…7771-…7774) make the PG fail at the
chosen moment, and its ledger counts what was really charged.
"""

from __future__ import annotations

from pg_helpers import CLIENT_TIMEOUT, SECRET, Simulator, card, closed_port, new_order

from pg_client.outcomes import NOT_CHARGED, Approved, Cancelled, Declined, InDoubt
from pg_client.recovery import (
    authorize_with_recovery,
    cancel_with_retry,
    lookup_delays,
    resolve_in_doubt,
)
from pg_client.simulator import (
    ROUTE_BILLING_CHARGE,
    ROUTE_CANCEL,
    ROUTE_KEY_IN,
    ROUTE_LOOKUP_ORDER,
    start_simulator,
)
from pg_client.simulator import cards as sim_cards
from pg_client.toss import TossClient

FAST = {"lookups": 4, "backoff": 0.01}


async def pay(toss: TossClient, amount: int, number: str = sim_cards.APPROVE,
              months: int = 0) -> tuple[str, Approved | Declined | InDoubt]:
    order = new_order(amount)
    outcome = await authorize_with_recovery(
        toss, lambda: toss.authorize_keyed(order, card(number), months), order.order_id, **FAST)
    return order.order_id, outcome


async def test_charge_then_dropped_connection_ends_approved_with_one_charge(
    toss: TossClient, simulator: Simulator
) -> None:
    order_id, outcome = await pay(toss, 17_773)
    assert isinstance(outcome, Approved) and outcome.order_id == order_id
    assert simulator.ledger.charge_count(order_id) == 1
    assert simulator.ledger.request_count(ROUTE_KEY_IN) == 1
    assert simulator.ledger.request_count(ROUTE_LOOKUP_ORDER) == 1
    assert outcome.payment_ref == simulator.ledger.payment_for_order(order_id).payment_key


async def test_timeout_after_the_charge_ends_approved_via_lookup(
    toss: TossClient, simulator: Simulator
) -> None:
    order_id, outcome = await pay(toss, 57_774, months=3)
    assert isinstance(outcome, Approved)
    assert outcome.installment_months == 3
    assert simulator.ledger.charge_count(order_id) == 1
    assert simulator.ledger.request_count(ROUTE_KEY_IN) == 1  # never re-sent


async def test_timeout_before_the_charge_ends_not_charged(
    toss: TossClient, simulator: Simulator
) -> None:
    order_id, outcome = await pay(toss, 17_772)
    assert isinstance(outcome, Declined) and outcome.not_charged
    assert outcome.code == NOT_CHARGED
    assert simulator.ledger.charge_count(order_id) == 0
    assert simulator.ledger.request_count(ROUTE_KEY_IN) == 1


async def test_500_ends_not_charged_after_a_lookup(
    toss: TossClient, simulator: Simulator
) -> None:
    order_id, outcome = await pay(toss, 17_771)
    assert isinstance(outcome, Declined) and outcome.not_charged
    assert simulator.ledger.charge_count(order_id) == 0
    assert simulator.ledger.request_count(ROUTE_LOOKUP_ORDER) == 1


async def test_definite_decline_is_never_retried_nor_looked_up(
    toss: TossClient, simulator: Simulator
) -> None:
    _order_id, outcome = await pay(toss, 15_000, sim_cards.INSUFFICIENT_LIMIT)
    assert isinstance(outcome, Declined) and not outcome.not_charged
    assert outcome.code == "REJECT_CARD_PAYMENT"
    assert simulator.ledger.request_count(ROUTE_KEY_IN) == 1
    assert simulator.ledger.request_count(ROUTE_LOOKUP_ORDER) == 0
    assert simulator.ledger.request_count() == 1


async def test_approval_is_returned_without_lookups(toss: TossClient,
                                                    simulator: Simulator) -> None:
    _order_id, outcome = await pay(toss, 15_000)
    assert isinstance(outcome, Approved)
    assert simulator.ledger.request_count() == 1


async def test_retry_with_the_same_idempotency_key_never_charges_twice(
    toss: TossClient, simulator: Simulator
) -> None:
    order = new_order(17_773)  # charged, then the connection drops
    first = await toss.authorize_keyed(order, card(), 0)
    assert isinstance(first, InDoubt) and first.maybe_charged
    second = await toss.authorize_keyed(order, card(), 0)  # same order, same key
    assert isinstance(second, Approved)
    third = await toss.authorize_keyed(order, card(), 0)
    assert third == second
    assert simulator.ledger.charge_count(order.order_id) == 1
    assert simulator.ledger.request_count(ROUTE_KEY_IN) == 3


async def test_same_key_during_a_hung_charge_replays_the_recorded_payment(
    toss: TossClient, simulator: Simulator
) -> None:
    order = new_order(17_774)  # charged, then the PG sits on the answer
    first = await toss.authorize_keyed(order, card(), 0)
    assert first == InDoubt("timeout")
    second = await toss.authorize_keyed(order, card(), 0)
    assert isinstance(second, Approved)
    assert simulator.ledger.charge_count(order.order_id) == 1


async def test_same_key_while_an_uncharged_request_hangs_is_in_doubt(
    toss: TossClient, simulator: Simulator
) -> None:
    order = new_order(17_772)
    assert await toss.authorize_keyed(order, card(), 0) == InDoubt("timeout")
    # the PG is still "processing" the first request under that key
    again = await toss.authorize_keyed(order, card(), 0)
    assert again == InDoubt("idempotent_request_processing")
    assert simulator.ledger.charge_count(order.order_id) == 0


async def test_billing_charge_dropped_after_charging_ends_approved(
    toss: TossClient, simulator: Simulator
) -> None:
    issued = await toss.issue_billing_key("cust-rec-1", card())
    order = new_order(27_773)
    outcome = await authorize_with_recovery(
        toss, lambda: toss.charge_billing_key(issued.billing_key, "cust-rec-1", order, 0),
        order.order_id, **FAST)
    assert isinstance(outcome, Approved)
    assert simulator.ledger.charge_count(order.order_id) == 1
    assert simulator.ledger.request_count(ROUTE_BILLING_CHARGE) == 1


async def test_unreachable_pg_is_not_charged_without_lookups() -> None:
    client = TossClient(f"http://127.0.0.1:{closed_port()}", SECRET, timeout=1)
    try:
        order = new_order()
        outcome = await authorize_with_recovery(
            client, lambda: client.authorize_keyed(order, card(), 0), order.order_id, **FAST)
        assert isinstance(outcome, Declined) and outcome.not_charged
    finally:
        await client.close()


async def test_lookups_that_keep_failing_leave_it_in_doubt() -> None:
    runner, base_url = await start_simulator(secret_key=SECRET, hang_delay=1.0)
    client = TossClient(base_url, SECRET, timeout=CLIENT_TIMEOUT)
    order = new_order(17_774)

    async def charge_then_pg_goes_away() -> Approved | Declined | InDoubt:
        outcome = await client.authorize_keyed(order, card(), 0)
        await runner.cleanup()  # the PG disappears: every lookup now fails to connect
        return outcome

    try:
        outcome = await authorize_with_recovery(client, charge_then_pg_goes_away,
                                                order.order_id, lookups=3, backoff=0.01)
        assert isinstance(outcome, InDoubt) and outcome.reason.startswith("unresolved:")
        assert runner.app["ledger"].charge_count(order.order_id) == 1  # it *was* charged
    finally:
        await client.close()


async def test_resolve_in_doubt_at_start_up(toss: TossClient, simulator: Simulator) -> None:
    charged = new_order(17_773)
    assert isinstance(await toss.authorize_keyed(charged, card(), 0), InDoubt)
    resolved = await resolve_in_doubt(toss, charged.order_id, lookups=2, backoff=0.01)
    assert isinstance(resolved, Approved) and resolved.order_id == charged.order_id
    nothing = await resolve_in_doubt(toss, "order-never-sent", lookups=2, backoff=0.01)
    assert isinstance(nothing, Declined) and nothing.not_charged
    assert simulator.ledger.request_count(ROUTE_LOOKUP_ORDER) == 2


def test_lookups_back_off_exponentially() -> None:
    assert lookup_delays(4, 0.2, 0.2) == [0.2, 0.4, 0.8, 1.6]  # authorize_with_recovery
    assert lookup_delays(3, 0.2, 0.0) == [0.0, 0.4, 0.8]  # resolve_in_doubt at start-up
    assert lookup_delays(0, 0.2, 0.0) == [0.0]  # always at least one lookup


async def test_cancel_dropped_after_refunding_is_resent_and_refunds_once(
    toss: TossClient, simulator: Simulator
) -> None:
    order = new_order(17_773)  # fault amount: its cancels are dropped after refunding too
    paid = await authorize_with_recovery(
        toss, lambda: toss.authorize_keyed(order, card(), 0), order.order_id, **FAST)
    assert isinstance(paid, Approved)
    outcome = await cancel_with_retry(toss, paid.payment_ref, None, "고객 요청", "refund-1",
                                      attempts=3, backoff=0.01)
    assert outcome == Cancelled(paid.payment_ref, 17_773, 0, "CANCELED")
    assert simulator.ledger.refunds[paid.payment_ref] == 1
    assert simulator.ledger.request_count(ROUTE_CANCEL) == 2
