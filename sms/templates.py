"""Korean message texts: the billing SMS with the number to call, receipts, cancellations.

Every text is EUC-KR safe (sms.encoding) and well under the 2,000-byte LMS limit: names are
squeezed onto one line and cut to a fixed byte budget. The number to call stands alone on its
own line in hyphenated national form, so handsets make it tappable.

Card numbers: only the masked form (BIN 6 + last 4) may appear; a `masked_card` with more
than 10 digits is refused.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from sms.encoding import (
    LMS_MAX_BYTES,
    euckr_length,
    lms_subject,
    make_euckr_safe,
    message_type,
    truncate_euckr,
)
from sms.phones import national_display

__all__ = [
    "billing_register_sms",
    "billing_sms",
    "cancel_sms",
    "charge_sms",
    "euckr_length",
    "format_krw",
    "lms_subject",
    "make_euckr_safe",
    "message_type",
    "receipt_sms",
    "truncate_euckr",
]

KST = timezone(timedelta(hours=9), "KST")
MERCHANT_MAX_BYTES = 40
PRODUCT_MAX_BYTES = 80
_WEEKDAYS = "월화수목금토일"
_DIAL_NUMBER = re.compile(r"^[0-9][0-9-]{6,18}[0-9]$")
_MAX_MASKED_DIGITS = 10


def format_krw(amount: int) -> str:
    """28500 → '28,500원'."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError("amount must be an int (KRW)")
    if amount < 0:
        raise ValueError("amount must not be negative")
    return f"{amount:,}원"


def one_line(text: str, max_bytes: int) -> str:
    """Free text (names) on one line: whitespace collapsed, safe, cut to `max_bytes`."""
    flat = " ".join(make_euckr_safe(text).split())
    return truncate_euckr(flat, max_bytes) or "-"


def _kst(moment: datetime) -> datetime:
    """Aware datetimes are shown in Korean time; naive ones are taken as Korean time already."""
    return moment.astimezone(KST) if moment.tzinfo is not None else moment


def format_deadline(moment: datetime) -> str:
    """'11월 29일(토) 18:30'."""
    m = _kst(moment)
    return f"{m.month}월 {m.day}일({_WEEKDAYS[m.weekday()]}) {m:%H:%M}"


def format_timestamp(moment: datetime) -> str:
    """'2025-11-22 18:30:05'."""
    return f"{_kst(moment):%Y-%m-%d %H:%M:%S}"


def dial_line(number: str) -> str:
    """The number to call, alone and hyphenated: E.164 is converted, national forms kept."""
    text = number.strip()
    if text.startswith("+"):
        text = national_display(text)
    if not _DIAL_NUMBER.match(text):
        raise ValueError("virtual number must be digits and hyphens, e.g. 1600-5001")
    return text


def _masked_card(masked_card: str) -> str:
    card = one_line(masked_card, 30)
    if sum(c.isdigit() for c in card) > _MAX_MASKED_DIGITS:
        raise ValueError("masked_card shows too many digits; pass the masked form (BIN 6 + last 4)")
    return card


def _installments(months: int) -> str:
    if isinstance(months, bool) or not isinstance(months, int) or months < 0:
        raise ValueError("installment_months must be an int >= 0")
    return "일시불" if months in (0, 1) else f"{months}개월 할부"


def _finish(lines: list[str]) -> str:
    text = "\n".join(lines)
    if euckr_length(text) > LMS_MAX_BYTES:  # cannot happen with the budgets above
        raise ValueError("message exceeds the 2,000-byte LMS limit")
    return text


def billing_sms(
    merchant_name: str,
    product_name: str,
    amount: int,
    virtual_number_display: str,
    expires_at: datetime,
) -> str:
    """The payment request: what, how much, the number to call from this phone, deadline."""
    return _finish([
        f"[{one_line(merchant_name, MERCHANT_MAX_BYTES)}] 결제 요청",
        f"상품: {one_line(product_name, PRODUCT_MAX_BYTES)}",
        f"금액: {format_krw(amount)}",
        "이 휴대폰으로 아래 번호에 전화하시면 카드로 결제하실 수 있습니다.",
        dial_line(virtual_number_display),
        f"결제 기한: {format_deadline(expires_at)}까지",
    ])  # fmt: skip


def receipt_sms(
    merchant_name: str,
    amount: int,
    approval_number: str,
    masked_card: str,
    approved_at: datetime,
    installment_months: int = 0,
) -> str:
    """매출전표: merchant, amount, installments, approval number, masked card, date-time."""
    approval = one_line(approval_number, 20)
    return _finish([
        f"[{one_line(merchant_name, MERCHANT_MAX_BYTES)}] 카드결제 승인",
        f"금액: {format_krw(amount)} ({_installments(installment_months)})",
        f"승인번호: {approval}",
        f"카드: {_masked_card(masked_card)}",
        f"승인일시: {format_timestamp(approved_at)}",
    ])  # fmt: skip


def cancel_sms(
    merchant_name: str,
    refunded_amount: int,
    remaining_amount: int,
    masked_card: str,
    cancelled_at: datetime,
) -> str:
    """A full or partial cancellation."""
    remaining = (
        "전액 취소되었습니다."
        if remaining_amount == 0
        else f"남은 결제 금액: {format_krw(remaining_amount)}"
    )
    return _finish([
        f"[{one_line(merchant_name, MERCHANT_MAX_BYTES)}] 카드결제 취소",
        f"취소 금액: {format_krw(refunded_amount)}",
        remaining,
        f"카드: {_masked_card(masked_card)}",
        f"취소일시: {format_timestamp(cancelled_at)}",
    ])  # fmt: skip


def billing_register_sms(
    merchant_name: str,
    product_name: str,
    virtual_number_display: str,
    expires_at: datetime,
) -> str:
    """Request to register a card for automatic payments (billing key)."""
    return _finish([
        f"[{one_line(merchant_name, MERCHANT_MAX_BYTES)}] 자동결제 카드 등록 요청",
        f"서비스: {one_line(product_name, PRODUCT_MAX_BYTES)}",
        "이 휴대폰으로 아래 번호에 전화하시면 자동결제에 사용할 카드를 등록하실 수 있습니다.",
        dial_line(virtual_number_display),
        f"등록 기한: {format_deadline(expires_at)}까지",
    ])  # fmt: skip


def charge_sms(
    merchant_name: str,
    product_name: str,
    amount: int,
    virtual_number_display: str,
    expires_at: datetime,
    card_brand: str | None = None,
    card_last4: str | None = None,
) -> str:
    """A charge on a registered card that the payer confirms by calling (billing_charge)."""
    lines = [
        f"[{one_line(merchant_name, MERCHANT_MAX_BYTES)}] 결제 요청",
        f"상품: {one_line(product_name, PRODUCT_MAX_BYTES)}",
        f"금액: {format_krw(amount)}",
    ]
    if card_last4 is not None:
        if not re.fullmatch(r"\d{4}", card_last4):
            raise ValueError("card_last4 must be exactly 4 digits")
        brand = one_line(card_brand, 20) + " " if card_brand else ""
        lines.append(f"등록 카드: {brand}끝자리 {card_last4}")
    lines += [
        "이 휴대폰으로 아래 번호에 전화하시면 결제를 진행하실 수 있습니다.",
        dial_line(virtual_number_display),
        f"결제 기한: {format_deadline(expires_at)}까지",
    ]
    return _finish(lines)
