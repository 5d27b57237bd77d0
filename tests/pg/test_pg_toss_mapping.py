"""The Toss error-code table and Payment-object reading, as pure functions."""

from __future__ import annotations

import pytest

from pg_client.http import HttpReply, TransportFailure
from pg_client.outcomes import Approved, Cancelled, DeclineCategory, Declined, InDoubt
from pg_client.simulator import TEST_CARDS
from pg_client.toss import failure_outcome, payment_outcome
from pg_client.toss_codes import DECLINE_CATEGORIES, IN_DOUBT_CODES

C = DeclineCategory


def reply(status: int, code: str | None, message: str = "메시지") -> HttpReply:
    return HttpReply(status, None if code is None else {"code": code, "message": message})


@pytest.mark.parametrize(
    ("code", "category"),
    [
        # the codes the reference lists
        ("EXCEED_MAX_CARD_INSTALLMENT_PLAN", C.installment_not_allowed),
        ("INVALID_REJECT_CARD", C.invalid_card),
        ("BELOW_MINIMUM_AMOUNT", C.amount_not_allowed),
        ("INVALID_CARD_EXPIRATION", C.expired_card),
        ("INVALID_STOPPED_CARD", C.stopped_or_lost),
        ("NOT_MATCHES_CUSTOMER_KEY", C.other),
        # others seen from the real service
        ("REJECT_CARD_COMPANY", C.other),
        ("REJECT_CARD_PAYMENT", C.insufficient_limit),
        ("NOT_ENOUGH_BALANCE", C.insufficient_limit),
        ("EXCEED_MAX_AMOUNT", C.insufficient_limit),
        ("INVALID_CARD_NUMBER", C.invalid_card),
        ("INVALID_PASSWORD", C.wrong_pin),
        ("INVALID_CARD_PASSWORD", C.wrong_pin),
        ("INVALID_BIRTH_DAY_FORMAT", C.wrong_identity),
        ("INVALID_CARD_IDENTITY", C.wrong_identity),
        ("INVALID_CARD_LOST_OR_STOLEN", C.stopped_or_lost),
        ("NOT_SUPPORTED_INSTALLMENT_PLAN_CARD_OR_MERCHANT", C.installment_not_allowed),
        ("NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN_BELOW_AMOUNT", C.installment_not_allowed),
        ("EXCEED_MAX_PAYMENT_AMOUNT", C.amount_not_allowed),
        ("UNAUTHORIZED_KEY", C.other),
    ],
)
def test_decline_codes_map_to_categories(code: str, category: DeclineCategory) -> None:
    status = 403 if code.startswith("REJECT") else 400
    outcome = failure_outcome(reply(status, code, "카드사 메시지"), op="test")
    assert outcome == Declined(code, "카드사 메시지", category)


@pytest.mark.parametrize("code", ["ALREADY_PROCESSED_PAYMENT", "PROVIDER_ERROR",
                                  "DUPLICATED_ORDER_ID", "IDEMPOTENT_REQUEST_PROCESSING",
                                  "CARD_PROCESSING_ERROR"])
def test_codes_that_may_hide_a_charge_are_in_doubt(code: str) -> None:
    status = 409 if code == "IDEMPOTENT_REQUEST_PROCESSING" else 400
    outcome = failure_outcome(reply(status, code), op="test")
    assert isinstance(outcome, InDoubt) and outcome.maybe_charged


def test_every_table_entry_maps_and_tables_are_disjoint() -> None:
    assert not IN_DOUBT_CODES & DECLINE_CATEGORIES.keys()
    for code, category in DECLINE_CATEGORIES.items():
        assert failure_outcome(reply(400, code), op="t") == Declined(code, "메시지", category)
    for code in IN_DOUBT_CODES:
        assert isinstance(failure_outcome(reply(400, code), op="t"), InDoubt)


def test_simulator_cards_use_codes_that_map_to_their_category() -> None:
    for card in TEST_CARDS.values():
        if card.code is not None:
            outcome = failure_outcome(reply(card.http_status, card.code), op="t")
            assert isinstance(outcome, Declined) and outcome.category == card.category


def test_unknown_4xx_code_is_a_definite_other_decline() -> None:
    outcome = failure_outcome(reply(400, "SOMETHING_NEW_FROM_TOSS"), op="t")
    assert outcome == Declined("SOMETHING_NEW_FROM_TOSS", "메시지", C.other)
    assert failure_outcome(reply(404, None), op="t") == Declined("HTTP_404", "", C.other)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_in_doubt_whatever_the_code(status: int) -> None:
    for code in (None, "FAILED_INTERNAL_SYSTEM_PROCESSING", "REJECT_CARD_PAYMENT"):
        outcome = failure_outcome(reply(status, code), op="t")
        assert isinstance(outcome, InDoubt) and outcome.maybe_charged


def test_429_means_not_processed() -> None:
    outcome = failure_outcome(reply(429, "TOO_MANY_REQUESTS"), op="t")
    assert isinstance(outcome, InDoubt) and not outcome.maybe_charged


def test_transport_failures_keep_whether_the_request_was_sent() -> None:
    assert failure_outcome(TransportFailure("timeout", True), op="t") == InDoubt("timeout", True)
    assert failure_outcome(TransportFailure("connect_failed", False), op="t") == InDoubt(
        "connect_failed", False)


def test_pg_messages_are_scrubbed_of_digit_runs() -> None:
    outcome = failure_outcome(reply(400, "INVALID_CARD_NUMBER",
                                    "카드 4330-2800-0000-0019 오류, 생년 900101"), op="t")
    assert isinstance(outcome, Declined)
    assert "4330" not in outcome.message and "900101" not in outcome.message
    assert outcome.message.count("[digits]") == 2


def payment(status: str, **extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "paymentKey": "pk_1", "orderId": "order-1", "status": status, "totalAmount": 50_000,
        "balanceAmount": 50_000, "approvedAt": "2025-03-15T10:00:00+09:00",
        "card": {"issuerCode": "41", "number": "43302800****001*", "approveNo": "12345678",
                 "installmentPlanMonths": 3},
    }
    body.update(extra)
    return body


def test_done_payment_is_approved() -> None:
    outcome = payment_outcome(payment("DONE"))
    assert isinstance(outcome, Approved)
    assert (outcome.payment_ref, outcome.approval_number, outcome.amount) == (
        "pk_1", "12345678", 50_000)
    assert (outcome.issuer, outcome.brand, outcome.installment_months) == ("신한카드", "Visa", 3)
    assert outcome.approved_at.utcoffset().total_seconds() == 9 * 3600  # type: ignore[union-attr]


def test_cancelled_payments() -> None:
    assert payment_outcome(payment("CANCELED", balanceAmount=0)) == Cancelled(
        "pk_1", 50_000, 0, "CANCELED")
    assert payment_outcome(payment("PARTIAL_CANCELED", balanceAmount=30_000)) == Cancelled(
        "pk_1", 20_000, 30_000, "PARTIAL_CANCELED")
    as_approved = payment_outcome(payment("CANCELED", balanceAmount=0),
                                  cancelled_as_approved=True)
    assert isinstance(as_approved, Approved)


def test_aborted_payment_is_declined_with_its_failure_code() -> None:
    outcome = payment_outcome(payment("ABORTED", failure={"code": "REJECT_CARD_PAYMENT",
                                                          "message": "한도초과"}))
    assert outcome == Declined("REJECT_CARD_PAYMENT", "한도초과", C.insufficient_limit)


@pytest.mark.parametrize(
    "body",
    [
        None,
        "not json object",
        payment("WAITING_FOR_DEPOSIT"),
        payment("IN_PROGRESS"),
        payment("DONE", totalAmount="50000"),
        payment("DONE", approvedAt="yesterday"),
        {k: v for k, v in payment("DONE").items() if k != "paymentKey"},
    ],
)
def test_unexpected_or_malformed_payment_is_in_doubt(body: object) -> None:
    assert isinstance(payment_outcome(body), InDoubt)
