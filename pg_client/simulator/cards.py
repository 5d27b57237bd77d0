"""The simulator's documented test cards and fault-injection amounts.

Any other Luhn-valid card number approves. The table is repeated in README.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Stage(StrEnum):
    """When a test card's refusal fires."""

    auth = "auth"  # card verification: keyed-in payments and billing-key issuance
    charge = "charge"  # money movement: keyed-in payments and billing-key charges
    installment = "installment"  # only payments asking for installments (months > 0)


@dataclass(frozen=True, slots=True)
class TestCard:
    number: str
    category: str | None  # DeclineCategory value the client should map the code to
    code: str | None
    http_status: int
    message: str
    stage: Stage
    note: str

    __test__ = False  # not a pytest test class


APPROVE = "4330280000000019"
APPROVE_MASTERCARD = "5409260000000014"
APPROVE_AMEX = "378200000000000"
APPROVE_BC_DOMESTIC = "9441160000000018"
INSUFFICIENT_LIMIT = "4330280000000027"
INVALID_CARD = "4330280000000035"
EXPIRED_CARD = "4330280000000043"
WRONG_PIN = "4330280000000050"
WRONG_IDENTITY = "4330280000000068"
STOPPED_CARD = "4330280000000076"
NO_INSTALLMENTS = "4330280000000084"
AMOUNT_NOT_ALLOWED = "4330280000000092"
REJECTED_OTHER = "4330280000000100"


def _ok(number: str, note: str) -> TestCard:
    return TestCard(number, None, None, 200, "", Stage.charge, note)


TEST_CARDS: dict[str, TestCard] = {
    card.number: card
    for card in (
        _ok(APPROVE, "approves (Visa, 신한카드)"),
        _ok(APPROVE_MASTERCARD, "approves (Mastercard, KB국민카드)"),
        _ok(APPROVE_AMEX, "approves (AMEX, 15 digits, 현대카드)"),
        _ok(APPROVE_BC_DOMESTIC, "approves (domestic BC카드)"),
        TestCard(INSUFFICIENT_LIMIT, "insufficient_limit", "REJECT_CARD_PAYMENT", 403,
                 "한도초과 혹은 잔액부족으로 결제에 실패했습니다.", Stage.charge,
                 "limit exceeded; billing key issues fine, charges fail"),
        TestCard(INVALID_CARD, "invalid_card", "INVALID_REJECT_CARD", 400,
                 "카드 사용이 거절되었습니다. 카드사 문의가 필요합니다.", Stage.auth,
                 "card refused by issuer"),
        TestCard(EXPIRED_CARD, "expired_card", "INVALID_CARD_EXPIRATION", 400,
                 "카드 정보를 다시 확인해주세요. (유효기간)", Stage.auth,
                 "issuer says the expiry is wrong, whatever is keyed"),
        TestCard(WRONG_PIN, "wrong_pin", "INVALID_CARD_PASSWORD", 400,
                 "카드 정보를 다시 확인해주세요. (비밀번호)", Stage.auth,
                 "PIN digits never match"),
        TestCard(WRONG_IDENTITY, "wrong_identity", "INVALID_CARD_IDENTITY", 400,
                 "입력하신 주민번호/사업자번호가 카드 소유주 정보와 일치하지 않습니다.", Stage.auth,
                 "birthdate / business number never matches"),
        TestCard(STOPPED_CARD, "stopped_or_lost", "INVALID_STOPPED_CARD", 400,
                 "정지된 카드 입니다.", Stage.auth, "stopped card"),
        TestCard(NO_INSTALLMENTS, "installment_not_allowed",
                 "NOT_SUPPORTED_INSTALLMENT_PLAN_CARD_OR_MERCHANT", 400,
                 "할부가 지원되지 않는 카드 또는 가맹점 입니다.", Stage.installment,
                 "lump sum approves, any installment plan is refused"),
        TestCard(AMOUNT_NOT_ALLOWED, "amount_not_allowed", "EXCEED_MAX_PAYMENT_AMOUNT", 400,
                 "하루 결제 가능 금액을 초과했습니다.", Stage.charge,
                 "amount over the daily payment cap"),
        TestCard(REJECTED_OTHER, "other", "REJECT_CARD_COMPANY", 403,
                 "결제 승인이 거절되었습니다.", Stage.charge,
                 "issuer refuses without a reason"),
    )
}


class Fault(StrEnum):
    latency = "latency"  # wait `latency_delay`, then process normally
    error_500 = "error_500"  # HTTP 500, nothing charged
    hang = "hang"  # wait `hang_delay` (past the client timeout), nothing charged, then 500
    charge_then_drop = "charge_then_drop"  # charge, then close the connection unanswered
    charge_then_hang = "charge_then_hang"  # charge, then wait `hang_delay` before answering


# Keyed on amount % 10_000 (e.g. 17,773 and 1,057,773 both hit 7773).
FAULT_AMOUNTS: dict[int, Fault] = {
    7777: Fault.latency,
    7771: Fault.error_500,
    7772: Fault.hang,
    7773: Fault.charge_then_drop,
    7774: Fault.charge_then_hang,
}


def fault_for(amount: int) -> Fault | None:
    return FAULT_AMOUNTS.get(amount % 10_000)
