"""PortOneClient against a PortOne-shaped HTTP server: tokens, paid vs failed, cancels."""

from __future__ import annotations

import pytest
from pg_helpers import EXPIRY, card, closed_port, new_order
from pg_portone_server import PortOneServer

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
from pg_client.portone import PortOneClient, category_for_reason, format_card_number
from pg_client.recovery import authorize_with_recovery, cancel_with_retry
from pg_client.simulator import cards as sim_cards

C = DeclineCategory


async def test_keyed_payment_paid(portone: PortOneClient, portone_server: PortOneServer) -> None:
    order = new_order(60_000)
    outcome = await portone.authorize_keyed(order, card(), 3)
    assert isinstance(outcome, Approved)
    assert (outcome.order_id, outcome.amount, outcome.installment_months) == (
        order.order_id, 60_000, 3)
    assert outcome.payment_ref.startswith("imp_") and len(outcome.approval_number) == 8
    assert (outcome.issuer, outcome.brand, outcome.masked_number) == (
        "신한카드", "Visa", "433028******0019")
    assert portone_server.charges[order.order_id] == 1
    sent = portone_server.last_card_fields
    assert sent["card_number"] == "4330-2800-0000-0019"
    assert sent["expiry"] == f"20{EXPIRY[2:]}-{EXPIRY[:2]}"
    assert (sent["birth"], sent["pwd_2digit"], sent["pg"]) == ("900101", "12", "nice.iamport00m")


def test_card_number_formatting() -> None:
    assert format_card_number("4330280000000019") == "4330-2800-0000-0019"
    assert format_card_number("378200000000000") == "3782-000000-00000"
    assert format_card_number("4222222222222") == "4222-2222-2222-2"


async def test_amex_is_sent_in_its_own_grouping(portone: PortOneClient,
                                                portone_server: PortOneServer) -> None:
    outcome = await portone.authorize_keyed(new_order(), card(sim_cards.APPROVE_AMEX), 0)
    assert isinstance(outcome, Approved)
    assert portone_server.last_card_fields["card_number"] == "3782-000000-00000"


@pytest.mark.parametrize(
    ("number", "category"),
    [
        (sim_cards.INSUFFICIENT_LIMIT, C.insufficient_limit),
        (sim_cards.INVALID_CARD, C.invalid_card),
        (sim_cards.EXPIRED_CARD, C.expired_card),
        (sim_cards.WRONG_PIN, C.wrong_pin),
        (sim_cards.WRONG_IDENTITY, C.wrong_identity),
        (sim_cards.STOPPED_CARD, C.stopped_or_lost),
        (sim_cards.AMOUNT_NOT_ALLOWED, C.amount_not_allowed),
        (sim_cards.REJECTED_OTHER, C.other),
    ],
)
async def test_code_zero_with_status_failed_is_a_decline(
    portone: PortOneClient, portone_server: PortOneServer, number: str,
    category: DeclineCategory
) -> None:
    order = new_order(60_000)
    outcome = await portone.authorize_keyed(order, card(number), 0)
    assert isinstance(outcome, Declined), outcome
    assert outcome.code == "PAYMENT_FAILED" and outcome.category is category
    assert portone_server.charges[order.order_id] == 0


async def test_installment_refusal(portone: PortOneClient) -> None:
    card_ = card(sim_cards.NO_INSTALLMENTS)
    refused = await portone.authorize_keyed(new_order(60_000), card_, 3)
    assert isinstance(refused, Declined)
    assert refused.category is C.installment_not_allowed
    assert isinstance(await portone.authorize_keyed(new_order(60_000), card_, 0), Approved)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("[8326] 한도초과", C.insufficient_limit),
        ("잔액부족", C.insufficient_limit),
        ("Insufficient balance", C.insufficient_limit),
        ("유효기간 오류", C.expired_card),
        ("카드 비밀번호 오류", C.wrong_pin),
        ("주민번호 불일치", C.wrong_identity),
        ("사업자번호 오류", C.wrong_identity),
        ("분실카드", C.stopped_or_lost),
        ("도난 신고 카드", C.stopped_or_lost),
        ("할부 불가 카드", C.installment_not_allowed),
        ("할부 금액 제한", C.installment_not_allowed),
        ("최소 결제금액 미만", C.amount_not_allowed),
        ("카드번호 오류", C.invalid_card),
        ("카드사 승인거절", C.other),
        ("", C.other),
    ],
)
def test_fail_reason_categories(text: str, category: DeclineCategory) -> None:
    assert category_for_reason(text) is category


async def test_one_token_serves_many_calls(portone: PortOneClient,
                                           portone_server: PortOneServer) -> None:
    for _ in range(3):
        assert isinstance(await portone.authorize_keyed(new_order(), card(), 0), Approved)
    assert portone_server.token_requests == 1


async def test_token_near_expiry_is_replaced_before_use(
    portone: PortOneClient, portone_server: PortOneServer
) -> None:
    portone_server.token_ttl = 30  # inside the client's 60 s refresh margin
    for _ in range(2):
        assert isinstance(await portone.authorize_keyed(new_order(), card(), 0), Approved)
    assert portone_server.token_requests == 2
    assert portone_server.unauthorized_replies == 0  # renewed *before* it was refused


async def test_401_renews_the_token_once_and_resends(
    portone: PortOneClient, portone_server: PortOneServer
) -> None:
    assert isinstance(await portone.authorize_keyed(new_order(), card(), 0), Approved)
    portone_server.revoke_tokens()
    order = new_order()
    outcome = await portone.authorize_keyed(order, card(), 0)
    assert isinstance(outcome, Approved)
    assert portone_server.unauthorized_replies == 1
    assert portone_server.token_requests == 2
    assert portone_server.charges[order.order_id] == 1


async def test_wrong_credentials_are_never_charged(portone_server: PortOneServer) -> None:
    client = PortOneClient(portone_server.base_url, "imp_test_key", "wrong-secret", "nice")
    try:
        order = new_order()
        outcome = await client.authorize_keyed(order, card(), 0)
        assert outcome == InDoubt("token_refused", maybe_charged=False)
        recovered = await authorize_with_recovery(
            client, lambda: client.authorize_keyed(order, card(), 0), order.order_id,
            backoff=0.01)
        assert isinstance(recovered, Declined) and recovered.not_charged
        assert sum(portone_server.calls.values()) == 0
    finally:
        await client.close()


async def test_duplicate_merchant_uid_is_in_doubt(portone: PortOneClient,
                                                  portone_server: PortOneServer) -> None:
    order = new_order()
    assert isinstance(await portone.authorize_keyed(order, card(), 0), Approved)
    again = await portone.authorize_keyed(order, card(), 0)
    assert again == InDoubt("duplicate_merchant_uid")
    recovered = await authorize_with_recovery(
        portone, lambda: portone.authorize_keyed(order, card(), 0), order.order_id,
        backoff=0.01)
    assert isinstance(recovered, Approved)
    assert portone_server.charges[order.order_id] == 1


async def test_code_nonzero_is_a_definite_decline(portone: PortOneClient,
                                                 portone_server: PortOneServer) -> None:
    order = Order("order-small-1", "x", 99, None, "k")  # the server refuses < 100 KRW
    outcome = await portone.authorize_keyed(order, card(), 0)
    assert outcome == Declined("PORTONE_-1", "결제 최소금액 미만입니다.", C.amount_not_allowed)
    assert portone_server.charges[order.order_id] == 0


async def test_connection_dropped_after_paying_recovers_by_lookup(
    portone: PortOneClient, portone_server: PortOneServer
) -> None:
    order = new_order(17_773)
    outcome = await authorize_with_recovery(
        portone, lambda: portone.authorize_keyed(order, card(), 0), order.order_id,
        backoff=0.01)
    assert isinstance(outcome, Approved)
    assert portone_server.charges[order.order_id] == 1
    assert portone_server.calls["onetime"] == 1 and portone_server.calls["find"] == 1


async def test_500_and_timeouts_are_in_doubt_then_not_charged(
    portone: PortOneClient, portone_server: PortOneServer
) -> None:
    for amount, reason in ((17_771, "http_500"), (17_772, "timeout")):
        order = new_order(amount)
        direct = await portone.authorize_keyed(order, card(), 0)
        assert direct == InDoubt(reason)
        resolved = await authorize_with_recovery(
            portone, lambda order=order: portone.authorize_keyed(order, card(), 0),
            order.order_id, backoff=0.01)
        assert isinstance(resolved, Declined) and resolved.not_charged


async def test_billing_key_issue_charge_and_refusal(
    portone: PortOneClient, portone_server: PortOneServer
) -> None:
    issued = await portone.issue_billing_key("cust_portone_1", card())
    assert isinstance(issued, BillingKeyIssued)
    assert issued.billing_key == issued.customer_key == "cust_portone_1"
    assert (issued.issuer, issued.masked_number) == ("신한카드", "433028******0019")
    order = new_order(9_900)
    paid = await portone.charge_billing_key(issued.billing_key, issued.customer_key, order, 0)
    assert isinstance(paid, Approved) and paid.order_id == order.order_id
    assert paid.brand == "Visa"
    refused = await portone.issue_billing_key("cust_portone_2", card(sim_cards.WRONG_PIN))
    assert isinstance(refused, Declined) and refused.category is C.wrong_pin
    limit_card = await portone.issue_billing_key("cust_portone_3",
                                                 card(sim_cards.INSUFFICIENT_LIMIT))
    assert isinstance(limit_card, BillingKeyIssued)
    declined = await portone.charge_billing_key("cust_portone_3", "cust_portone_3",
                                                new_order(), 0)
    assert isinstance(declined, Declined) and declined.category is C.insufficient_limit
    unknown = await portone.charge_billing_key("nobody", "nobody", new_order(), 0)
    assert isinstance(unknown, Declined) and unknown.category is C.other


async def test_cancels_and_lookups(portone: PortOneClient,
                                   portone_server: PortOneServer) -> None:
    order = new_order(30_000)
    paid = await portone.authorize_keyed(order, card(), 0)
    assert isinstance(paid, Approved)
    partial = await portone.cancel(paid.payment_ref, 10_000, "부분 환불", "p-cancel-1")
    assert partial == Cancelled(paid.payment_ref, 10_000, 20_000, "PARTIAL_CANCELED")
    assert await portone.lookup_payment(order.order_id) == Cancelled(
        paid.payment_ref, 10_000, 20_000, "PARTIAL_CANCELED")
    full = await portone.cancel(paid.payment_ref, None, "전액 환불", "p-cancel-2")
    assert full == Cancelled(paid.payment_ref, 20_000, 0, "CANCELED")
    looked_up = await portone.lookup(order.order_id)
    assert isinstance(looked_up, Approved) and looked_up.payment_ref == paid.payment_ref
    again = await portone.cancel(paid.payment_ref, None, "또", "p-cancel-3")
    assert isinstance(again, Declined)
    assert await portone.lookup("order-never-made") == NotFound()


async def test_resent_cancel_with_the_same_key_refunds_once(
    portone: PortOneClient, portone_server: PortOneServer
) -> None:
    paid = await portone.authorize_keyed(new_order(30_000), card(), 0)
    assert isinstance(paid, Approved)
    first = await portone.cancel(paid.payment_ref, 10_000, "부분 환불", "same-key")
    # as if the first reply had been lost: resend under the same key
    second = await cancel_with_retry(portone, paid.payment_ref, 10_000, "부분 환불", "same-key")
    assert first == second == Cancelled(paid.payment_ref, 10_000, 20_000, "PARTIAL_CANCELED")
    assert portone_server.payments[paid.payment_ref]["cancel_amount"] == 10_000
    # a new key is a new refund
    third = await portone.cancel(paid.payment_ref, 10_000, "추가 환불", "other-key")
    assert third == Cancelled(paid.payment_ref, 10_000, 10_000, "PARTIAL_CANCELED")


async def test_failed_payment_lookup_is_a_decline(portone: PortOneClient) -> None:
    order = new_order()
    assert isinstance(await portone.authorize_keyed(order, card(sim_cards.WRONG_PIN), 0),
                      Declined)
    found = await portone.lookup(order.order_id)
    assert isinstance(found, Declined) and found.category is C.wrong_pin


async def test_unreachable_portone_is_provably_not_charged() -> None:
    client = PortOneClient(f"http://127.0.0.1:{closed_port()}", "k", "s", "nice", timeout=1)
    try:
        outcome = await client.authorize_keyed(new_order(), card(), 0)
        assert outcome == InDoubt("token_connect_failed", maybe_charged=False)
    finally:
        await client.close()


async def test_cancel_key_reused_for_another_cancel_is_a_programming_error(
    portone: PortOneClient, portone_server: PortOneServer
) -> None:
    paid = await portone.authorize_keyed(new_order(30_000), card(), 0)
    assert isinstance(paid, Approved)
    assert isinstance(await portone.cancel(paid.payment_ref, 1_000, "a", "key-x"), Cancelled)
    with pytest.raises(ValueError):
        await portone.cancel(paid.payment_ref, 2_000, "b", "key-x")
    assert portone_server.payments[paid.payment_ref]["cancel_amount"] == 1_000
