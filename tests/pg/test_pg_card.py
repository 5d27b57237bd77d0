"""CardData and the per-field validators the IVR runs after each DTMF field."""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import pickle
from collections.abc import Callable

import pytest

from pg_client.card import (
    CardData,
    CardDataError,
    business_number_ok,
    check_card_number,
    check_expiry,
    check_identity,
    check_pin2,
    luhn_ok,
)

TODAY = dt.date(2025, 3, 15)
SHINHAN_VISA = "4330280000000019"


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        ("4330280000000019", True),
        ("4111111111111111", True),
        ("5409260000000014", True),
        ("378200000000000", True),  # 15-digit AMEX
        ("4222222222222", True),  # 13 digits
        ("6011000990139424", True),
        ("4111111111111112", False),
        ("4330280000000018", False),
        ("79927398713", True),  # the classic Luhn example
        ("79927398710", False),
    ],
)
def test_luhn_table(digits: str, valid: bool) -> None:
    assert luhn_ok(digits) is valid


@pytest.mark.parametrize(
    ("digits", "reason"),
    [
        ("4330280000000019", None),
        ("378200000000000", None),
        ("4222222222222", None),
        ("", "empty"),
        ("43302800000000a9", "not_digits"),
        ("4330 2800 0000 0019", "not_digits"),
        ("４３３０２８００００００００１９", "not_digits"),  # full-width digits are not DTMF
        ("422222222222", "too_short"),  # 12 digits
        ("4" * 19 + "1", "too_long"),  # 20 digits
        ("4330280000000018", "luhn"),
    ],
)
def test_check_card_number(digits: str, reason: str | None) -> None:
    assert check_card_number(digits) == reason


@pytest.mark.parametrize(
    ("mmyy", "reason"),
    [
        ("0325", None),  # this month is still valid
        ("0225", "expired"),  # last month is not
        ("1224", "expired"),  # last year
        ("0425", None),
        ("1299", "too_far"),
        ("0145", None),  # 20 years ahead is the limit
        ("0046", "month"),
        ("1325", "month"),
        ("0000", "month"),
        ("325", "length"),
        ("03255", "length"),
        ("03a5", "not_digits"),
        ("", "empty"),
    ],
)
def test_check_expiry(mmyy: str, reason: str | None) -> None:
    assert check_expiry(mmyy, TODAY) == reason


def test_expiry_month_boundary_is_the_end_of_the_month() -> None:
    last_day = dt.date(2025, 3, 31)
    first_of_next = dt.date(2025, 4, 1)
    assert check_expiry("0325", last_day) is None
    assert check_expiry("0325", first_of_next) == "expired"


@pytest.mark.parametrize(
    ("digits", "reason"),
    [
        ("900101", None),
        ("000229", None),  # 2000 was a leap year
        ("960229", None),  # 1996 leap year
        ("240229", None),  # 2024 leap year
        ("970229", "date"),  # 1997 not leap (and 2097 is in the future)
        ("230229", "date"),  # 2023 and 1923 not leap
        ("901301", "date"),  # 13th month
        ("900001", "date"),  # month 0
        ("900132", "date"),  # 32nd day
        ("900431", "date"),  # April has 30 days
        ("900100", "date"),
        ("250315", None),  # today
        ("250316", None),  # tomorrow in 2025 → read as 1925, a real past date
        ("9001011", "length"),
        ("90010", "length"),
        ("9o0101", "not_digits"),
        ("", "empty"),
    ],
)
def test_check_identity_birthdates(digits: str, reason: str | None) -> None:
    assert check_identity(digits, TODAY) == reason


def test_leap_day_depends_on_the_inferred_century() -> None:
    # "000229" in 1999 can only mean 1900-02-29, which never existed.
    assert check_identity("000229", dt.date(1999, 6, 1)) == "date"
    assert check_identity("000229", dt.date(2000, 3, 1)) is None


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        ("1018197016", True),
        ("2208162517", True),
        ("1248100998", True),
        ("1208147521", True),
        ("1018197012", False),
        ("2208162510", False),
        ("0000000000", True),  # weights give 0 → check digit 0
    ],
)
def test_business_number_check_digit(digits: str, valid: bool) -> None:
    assert business_number_ok(digits) is valid
    assert check_identity(digits, TODAY) == (None if valid else "checksum")


@pytest.mark.parametrize(
    ("digits", "reason"),
    [("12", None), ("00", None), ("1", "length"), ("123", "length"), ("1a", "not_digits"),
     ("", "empty")],
)
def test_check_pin2(digits: str, reason: str | None) -> None:
    assert check_pin2(digits) == reason


def test_validator_reasons_never_contain_the_digits() -> None:
    number = "4330280000000018"
    for reason in (check_card_number(number), check_expiry("1399", TODAY),
                   check_identity("901399", TODAY), check_pin2("123")):
        assert reason is not None and not any(ch.isdigit() for ch in reason)


# ---------------------------------------------------------------- CardData


def make(**overrides: object) -> CardData:
    fields: dict[str, object] = {"number": SHINHAN_VISA, "expiry_mmyy": "0827",
                                 "identity": "900101", "pin2": "12", "today": TODAY}
    fields.update(overrides)
    return CardData.create(**fields)  # type: ignore[arg-type]


def test_create_keeps_fields_and_reveals_them_for_the_pg() -> None:
    card = make()
    assert card.reveal_number() == SHINHAN_VISA
    assert card.reveal_expiry_month() == "08"
    assert card.reveal_expiry_year() == "27"
    assert card.reveal_identity() == "900101"
    assert card.reveal_pin2() == "12"
    assert (card.bin6, card.last4, card.masked) == ("433028", "0019", "433028******0019")
    assert (card.brand, card.issuer) == ("Visa", "신한카드")


def test_optional_identity_and_pin() -> None:
    card = make(identity=None, pin2=None)
    assert card.reveal_identity() is None and card.reveal_pin2() is None
    assert not card.has_identity and not card.has_pin2


def test_create_accepts_bytes_from_the_channel() -> None:
    card = make(number=bytearray(SHINHAN_VISA.encode()), expiry_mmyy=b"0827")
    assert card.reveal_number() == SHINHAN_VISA


def test_masked_form_for_15_and_19_digit_cards() -> None:
    assert make(number="378200000000000").masked == "378200*****0000"
    nineteen = "6250940000000000" + "000"
    nineteen = nineteen[:-1] + next(d for d in "0123456789" if luhn_ok(nineteen[:-1] + d))
    assert make(number=nineteen).masked == nineteen[:6] + "*" * 9 + nineteen[-4:]


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"number": "4330280000000018"}, "card_number", "luhn"),
        ({"number": "12345"}, "card_number", "too_short"),
        ({"expiry_mmyy": "0225"}, "expiry", "expired"),
        ({"expiry_mmyy": "1327"}, "expiry", "month"),
        ({"identity": "901301"}, "identity", "date"),
        ({"identity": "1018197012"}, "identity", "checksum"),
        ({"pin2": "1"}, "pin", "length"),
        ({"number": "４３３０２８"}, "card_number", "not_digits"),
        ({"number": "４３３０２８".encode()}, "card_number", "not_digits"),
    ],
)
def test_create_rejects_bad_fields_without_leaking_digits(
    overrides: dict[str, object], field: str, reason: str
) -> None:
    with pytest.raises(CardDataError) as info:
        make(**overrides)
    assert info.value.field == field and info.value.reason == reason
    assert isinstance(info.value, ValueError)
    assert not any(ch.isdigit() for ch in str(info.value))
    assert not any(ch.isdigit() for ch in repr(info.value))


def test_repr_str_and_format_are_masked() -> None:
    card = make()
    expected = "CardData(433028******0019)"
    assert repr(card) == expected
    assert str(card) == expected
    assert f"{card}" == expected
    assert f"{card!r:>40}".strip() == expected
    assert "%s / %r" % (card, card) == f"{expected} / {expected}"  # noqa: UP031
    assert SHINHAN_VISA not in repr([card, {"card": card}])


def test_logging_a_card_shows_only_the_masked_form(caplog: pytest.LogCaptureFixture) -> None:
    card = make()
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").info("card %s %r", card, card)
        logging.getLogger("test").info(f"card {card}")
    assert "433028******0019" in caplog.text
    assert SHINHAN_VISA not in caplog.text and "900101" not in caplog.text


@pytest.mark.parametrize(
    "attempt",
    [
        lambda c: pickle.dumps(c),
        lambda c: pickle.dumps(c, protocol=0),
        lambda c: copy.copy(c),
        lambda c: copy.deepcopy(c),
        lambda c: json.dumps(c),
        lambda c: json.dumps({"card": c}),
    ],
)
def test_persistence_and_copies_are_refused(attempt: Callable[[CardData], object]) -> None:
    card = make()
    with pytest.raises(TypeError) as info:
        attempt(card)
    assert SHINHAN_VISA not in str(info.value)


def test_json_with_default_str_still_gets_only_the_masked_form() -> None:
    assert json.dumps({"card": make()}, default=str) == '{"card": "CardData(433028******0019)"}'


def test_no_instance_dict_to_dump() -> None:
    card = make()
    assert not hasattr(card, "__dict__")
    with pytest.raises(TypeError):
        vars(card)


def test_wipe_zeroes_buffers_and_blocks_reveal() -> None:
    card = make()
    buffers = [card._number, card._expiry, card._identity, card._pin2]
    card.wipe()
    assert card.wiped
    for buf in buffers:
        assert buf is not None and set(buf) == {0}
    with pytest.raises(CardDataError) as info:
        card.reveal_number()
    assert info.value.reason == "wiped"
    assert card.masked == "433028******0019"  # what may be kept survives


def test_context_manager_wipes_on_exit() -> None:
    with make() as card:
        assert card.reveal_pin2() == "12"
    assert card.wiped
    with pytest.raises(CardDataError):
        card.reveal_pin2()
