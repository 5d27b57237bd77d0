"""Phone numbers for the domain: payer phones and caller IDs (see ``sms.phones``, the one place
that parses them) and virtual numbers (DIDs), which need a looser rule."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException

from sms.phones import is_mobile, national_display, normalize_phone

__all__ = ["is_mobile", "national_display", "normalize_did", "normalize_phone"]


def normalize_did(raw: str) -> str | None:
    """A virtual number as configured or dialled (``1600-5001``, ``16005001``) → E.164.

    Special-service numbers such as 1600-xxxx are not "valid" in every metadata version, so a
    DID only has to parse as a Korean number of 7–11 national digits.
    """
    valid = normalize_phone(raw)
    if valid:
        return valid
    try:
        number = phonenumbers.parse(raw.strip(), "KR")
    except NumberParseException:
        return None
    national = str(number.national_number)
    if number.country_code != 82 or not 7 <= len(national) <= 11:
        return None
    return f"+82{national}"
