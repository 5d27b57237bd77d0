"""Phone numbers per shared/reference/sms-and-phones.md: parse to E.164, show national form."""

from __future__ import annotations

import pytest

from sms.phones import (
    is_mobile,
    national_digits,
    national_display,
    normalize_phone,
    sender_digits,
)

MOBILE_FORMS = [
    "010-1234-5678",
    "01012345678",
    "+821012345678",
    "821012345678",
    "1012345678",
    "+82 (0)10-1234-5678",
    " 010 1234 5678 ",
    "sip:01012345678@10.0.0.1:5060;user=phone",
    "sips:+821012345678@carrier.example",
    '"Payer" <sip:010-1234-5678@pbx.example>',
    "tel:+82-10-1234-5678",
]


@pytest.mark.parametrize("raw", MOBILE_FORMS)
def test_mobile_forms_parse_to_one_e164(raw: str) -> None:
    assert normalize_phone(raw) == "+821012345678"


@pytest.mark.parametrize(
    "raw",
    ["anonymous", "Anonymous", "Restricted", "", "   ", "unknown", "private", None,
     "sip:anonymous@anonymous.invalid", "<sip:restricted@host>", "abc", "12",
     "0501234567", "1" * 300],
)  # fmt: skip
def test_withheld_or_unusable_caller_ids_are_none(raw: str | None) -> None:
    assert normalize_phone(raw) is None


@pytest.mark.parametrize(
    ("raw", "e164", "display", "mobile"),
    [
        ("010-1234-5678", "+821012345678", "010-1234-5678", True),
        ("1600-5001", "+8216005001", "1600-5001", False),
        ("16005001", "+8216005001", "1600-5001", False),
        ("1588-1234", "+8215881234", "1588-1234", False),
        ("02-123-4567", "+8221234567", "02-123-4567", False),
        ("0212345678", "+82212345678", "02-1234-5678", False),
        ("031-123-4567", "+82311234567", "031-123-4567", False),
        ("050-1234-5678", "+825012345678", "050-1234-5678", False),
        ("0507-1234-5678", "+8250712345678", "0507-1234-5678", False),
        ("070-1234-5678", "+827012345678", "070-1234-5678", False),
    ],
)
def test_kinds_of_korean_numbers(raw: str, e164: str, display: str, mobile: bool) -> None:
    assert normalize_phone(raw) == e164
    assert national_display(e164) == display
    assert is_mobile(e164) is mobile


def test_foreign_numbers_keep_their_country() -> None:
    e164 = normalize_phone("+1 650 253 0000")
    assert e164 == "+16502530000"
    assert national_display(e164) == "+1 650-253-0000"
    with pytest.raises(ValueError):
        national_digits(e164)


def test_display_of_garbage_is_unchanged() -> None:
    assert national_display("not a number") == "not a number"


def test_provider_digit_forms() -> None:
    assert national_digits("+821012345678") == "01012345678"
    assert national_digits("+8216005001") == "16005001"
    assert sender_digits("1600-5000") == "16005000"
    assert sender_digits("+8221234567") == "021234567"
    with pytest.raises(ValueError):
        sender_digits("call me")
