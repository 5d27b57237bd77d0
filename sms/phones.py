"""Phone numbers: caller IDs and payer numbers to E.164, E.164 to what people read.

Per shared/reference/sms-and-phones.md: always parse with region KR, store E.164, show the
hyphenated national form. Withheld or unusable caller IDs (`anonymous`, `Restricted`, empty,
SIP URIs of such) normalise to None.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

_WITHHELD = {
    "anonymous", "restricted", "private", "unknown", "unavailable", "withheld", "blocked",
    "asterisk", "s",
}  # fmt: skip
_URI = re.compile(r"^(?:sips?|tel):([^@;>]*)", re.IGNORECASE)
_MAX_RAW_LENGTH = 200
_MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)


def _user_part(raw: str) -> str:
    """`"Payer" <sip:010…@host;user=phone>` → `010…`; anything else unchanged."""
    text = raw.strip()
    if "<" in text and ">" in text:
        text = text[text.index("<") + 1 : text.index(">")]
    match = _URI.match(text.strip())
    if match:
        return match.group(1)
    return text


def _parse(raw: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def normalize_phone(raw: str | None, region: str = "KR") -> str | None:
    """E.164 (`+821012345678`) or None for withheld, empty or invalid numbers."""
    if not raw or len(raw) > _MAX_RAW_LENGTH:
        return None
    user = _user_part(raw).strip()
    if not user or user.lower() in _WITHHELD:
        return None
    if not any(c.isdigit() for c in user):
        return None
    number = _parse(user, region)
    if number is None:
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def national_display(e164: str) -> str:
    """`+821012345678` → `010-1234-5678`, `+8216005001` → `1600-5001`.

    Korean numbers in national form, others in international form; anything unparseable is
    returned unchanged (this is for display only).
    """
    number = _parse(e164, "KR")
    if number is None:
        return e164
    if number.country_code != 82:
        return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    national = str(number.national_number)
    # 0504/0505/0507… safe numbers have 12 digits; the metadata groups them oddly (050-71234-…).
    if national.startswith("50") and len(national) == 11:
        return f"0{national[:3]}-{national[3:7]}-{national[7:]}"
    return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)


def national_digits(e164: str) -> str:
    """`+821012345678` → `01012345678` (what Korean SMS providers take); ValueError if invalid."""
    number = _parse(e164, "KR")
    if number is None or number.country_code != 82:
        raise ValueError("not a valid Korean phone number")
    return re.sub(r"\D", "", phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL))


def is_mobile(e164: str) -> bool:
    number = _parse(e164, "KR")
    return number is not None and phonenumbers.number_type(number) in _MOBILE_TYPES


def sender_digits(number: str) -> str:
    """A registered sender number as providers take it: `1600-5000` → `16005000`,
    `+8221234567` → `021234567`. ValueError when it cannot be a Korean number."""
    text = number.strip()
    if text.startswith("+"):
        return national_digits(text)
    digits = re.sub(r"[\s\-()]", "", text)
    if not digits.isdigit() or not 8 <= len(digits) <= 12:
        raise ValueError("sender number must be a registered Korean number, e.g. 1600-5000")
    return digits
