"""Phone numbers: payer phones, caller IDs and virtual numbers (DIDs), region KR.

Stored as E.164; shown to people in hyphenated national form.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

REGION = "KR"
_WITHHELD = {"", "anonymous", "restricted", "unknown", "private", "unavailable", "withheld"}
_SIP_URI = re.compile(r"^(?:sips?:)?([^@;]+)@.*$", re.IGNORECASE)
_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


def _parse(raw: str) -> phonenumbers.PhoneNumber | None:
    text = raw.strip()
    match = _SIP_URI.match(text)
    if match:
        text = match.group(1)
    if text.lower() in _WITHHELD:
        return None
    if text.isdigit() and text.startswith("82") and len(text) >= 11:
        text = "+" + text
    try:
        number = phonenumbers.parse(text, REGION)
    except NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def normalize_phone(raw: str | None) -> str | None:
    """E.164 for a valid Korean-region number; None for withheld, empty or unparseable input."""
    if raw is None:
        return None
    number = _parse(raw)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164) if number else None


def is_mobile(e164: str) -> bool:
    number = _parse(e164)
    return number is not None and phonenumbers.number_type(number) in _MOBILE_TYPES


def national_display(e164: str) -> str:
    """``+8216005001`` → ``1600-5001``; ``+821012345678`` → ``010-1234-5678``."""
    number = _parse(e164)
    if number is None:
        return e164
    return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL).replace(" ", "-")


def normalize_did(raw: str) -> str | None:
    """A virtual number as configured or dialled (``1600-5001``, ``16005001``) → E.164.

    Special-service numbers such as 1600-xxxx are not "valid" in every metadata version,
    so a DID only has to parse and be 8–11 national digits long.
    """
    text = raw.strip()
    match = _SIP_URI.match(text)
    if match:
        text = match.group(1)
    valid = normalize_phone(text)
    if valid:
        return valid
    try:
        number = phonenumbers.parse(text, REGION)
    except NumberParseException:
        return None
    national = str(number.national_number)
    if number.country_code != 82 or not 7 <= len(national) <= 11:
        return None
    return f"+82{national}"
