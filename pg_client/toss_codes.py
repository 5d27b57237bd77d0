"""Toss Payments error codes → what they mean for us.

`IN_DOUBT_CODES`: answers that do not prove the card was not charged (a previous request with
the same order id or idempotency key may have gone through, or the card company failed in
the middle). Payments ending in one of these are resolved by looking the order up.

`DECLINE_CATEGORIES`: definite refusals and the category the IVR announces. A 4xx whose code is
in neither table is a definite `Declined(other)`.
"""

from __future__ import annotations

from pg_client.outcomes import DeclineCategory as C

IN_DOUBT_CODES: frozenset[str] = frozenset(
    {
        "ALREADY_PROCESSED_PAYMENT",
        "DUPLICATED_ORDER_ID",
        "IDEMPOTENT_REQUEST_PROCESSING",
        "PROVIDER_ERROR",
        "CARD_PROCESSING_ERROR",
        "FAILED_CARD_COMPANY_RESPONSE",
        "FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING",
        "FAILED_INTERNAL_SYSTEM_PROCESSING",
        "UNKNOWN_PAYMENT_ERROR",
        "COMMON_ERROR",
    }
)

DECLINE_CATEGORIES: dict[str, C] = {
    # limit / balance
    "REJECT_CARD_PAYMENT": C.insufficient_limit,  # 한도초과 혹은 잔액부족
    "NOT_ENOUGH_BALANCE": C.insufficient_limit,
    "EXCEED_MAX_AMOUNT": C.insufficient_limit,  # 거래금액 한도 초과
    "EXCEED_MAX_CARD_MONTHLY_AMOUNT": C.insufficient_limit,
    # the card itself
    "INVALID_CARD_NUMBER": C.invalid_card,
    "INVALID_REJECT_CARD": C.invalid_card,
    "INVALID_CARD": C.invalid_card,
    "INVALID_CARD_COMPANY": C.invalid_card,
    "NOT_SUPPORTED_CARD_TYPE": C.invalid_card,
    "NOT_REGISTERED_CARD_COMPANY": C.invalid_card,
    "INVALID_CARD_INFO_RE_REGISTER": C.invalid_card,
    "INVALID_BILL_KEY_REQUEST": C.invalid_card,
    "INVALID_CARD_EXPIRATION": C.expired_card,
    "INVALID_CARD_PASSWORD": C.wrong_pin,
    "INVALID_PASSWORD": C.wrong_pin,
    "EXCEED_MAX_AUTH_COUNT": C.wrong_pin,  # too many failed verifications at the issuer
    "INVALID_CARD_IDENTITY": C.wrong_identity,
    "INVALID_BIRTH_DAY_FORMAT": C.wrong_identity,
    "INVALID_STOPPED_CARD": C.stopped_or_lost,
    "INVALID_CARD_LOST_OR_STOLEN": C.stopped_or_lost,
    # installments
    "EXCEED_MAX_CARD_INSTALLMENT_PLAN": C.installment_not_allowed,
    "NOT_SUPPORTED_INSTALLMENT_PLAN_CARD_OR_MERCHANT": C.installment_not_allowed,
    "INVALID_CARD_INSTALLMENT_PLAN": C.installment_not_allowed,
    "NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN": C.installment_not_allowed,
    "NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN_BELOW_AMOUNT": C.installment_not_allowed,
    "INVALID_CARD_INSTALLMENT_AMOUNT": C.installment_not_allowed,
    # amount policy (PG / merchant / per-transaction rules, not the card's limit)
    "BELOW_MINIMUM_AMOUNT": C.amount_not_allowed,
    "EXCEED_MAX_PAYMENT_AMOUNT": C.amount_not_allowed,
    "EXCEED_MAX_ONE_DAY_AMOUNT": C.amount_not_allowed,
    "EXCEED_MAX_MONTHLY_PAYMENT_AMOUNT": C.amount_not_allowed,
    "INVALID_AMOUNT": C.amount_not_allowed,
    # other definite refusals
    "REJECT_CARD_COMPANY": C.other,  # 결제 승인이 거절되었습니다 (no reason given)
    "EXCEED_MAX_DAILY_PAYMENT_COUNT": C.other,
    "NOT_MATCHES_CUSTOMER_KEY": C.other,
    "FDS_ERROR": C.other,
    "NOT_AVAILABLE_PAYMENT": C.other,
    "INVALID_REQUEST": C.other,
    "UNAUTHORIZED_KEY": C.other,
    "INVALID_API_KEY": C.other,
    "FORBIDDEN_REQUEST": C.other,
}

# Codes that mean our merchant configuration is wrong, not the payer's card.
CONFIGURATION_CODES: frozenset[str] = frozenset(
    {"UNAUTHORIZED_KEY", "INVALID_API_KEY", "FORBIDDEN_REQUEST", "INVALID_IDEMPOTENCY_KEY"}
)

NOT_FOUND_PAYMENT = "NOT_FOUND_PAYMENT"

# Toss card issuer codes (card.issuerCode) → issuer name.
ISSUER_CODES: dict[str, str] = {
    "41": "신한카드",
    "51": "삼성카드",
    "61": "현대카드",
    "11": "KB국민카드",
    "71": "롯데카드",
    "21": "하나카드",
    "33": "우리카드",
    "W1": "우리카드",
    "31": "BC카드",
    "91": "NH농협카드",
}


def category_for(code: str) -> C:
    return DECLINE_CATEGORIES.get(code, C.other)
