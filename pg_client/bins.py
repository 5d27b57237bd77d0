"""BIN (first digits of a card number) → card brand and issuer.

Two layers, looked up longest-prefix first:
  * issuer BINs: 6-digit prefixes of Korean issuers (a small illustrative sample, including
    every test card of the PG simulator); verify against a current BIN file before relying
    on an issuer name in production;
  * network ranges: the international schemes by their published prefix ranges.
Unknown numbers get brand "unknown" and no issuer.
"""

from __future__ import annotations

from dataclasses import dataclass

VISA = "Visa"
MASTERCARD = "Mastercard"
AMEX = "AMEX"
JCB = "JCB"
UNIONPAY = "UnionPay"
DINERS = "Diners"
BC_DOMESTIC = "BC"  # Korean domestic-only cards (BINs starting with 9)
UNKNOWN_BRAND = "unknown"

SHINHAN = "신한카드"
SAMSUNG = "삼성카드"
HYUNDAI = "현대카드"
KB = "KB국민카드"
LOTTE = "롯데카드"
HANA = "하나카드"
WOORI = "우리카드"
BC = "BC카드"
NH = "NH농협카드"

KOREAN_ISSUERS = (SHINHAN, SAMSUNG, HYUNDAI, KB, LOTTE, HANA, WOORI, BC, NH)


@dataclass(frozen=True, slots=True)
class BinInfo:
    brand: str
    issuer: str | None


# 6-digit issuer BINs → (brand, issuer).
ISSUER_BINS: dict[str, tuple[str, str]] = {
    # simulator test cards (see pg_client/simulator/README.md)
    "433028": (VISA, SHINHAN),
    "540926": (MASTERCARD, KB),
    "378200": (AMEX, HYUNDAI),
    "944116": (BC_DOMESTIC, BC),
    # illustrative issuer BINs
    "451842": (VISA, SHINHAN),
    "531070": (MASTERCARD, SAMSUNG),
    "536181": (MASTERCARD, SAMSUNG),
    "433290": (VISA, HYUNDAI),
    "515594": (MASTERCARD, HYUNDAI),
    "457973": (VISA, KB),
    "467309": (VISA, LOTTE),
    "404825": (VISA, HANA),
    "524040": (MASTERCARD, WOORI),
    "356912": (JCB, BC),
    "546112": (MASTERCARD, NH),
    "625804": (UNIONPAY, NH),
}

# Network ranges: (low, high, brand) over prefixes of equal length (inclusive).
NETWORK_RANGES: tuple[tuple[str, str, str], ...] = (
    ("2221", "2720", MASTERCARD),
    ("3528", "3589", JCB),
    ("34", "34", AMEX),
    ("37", "37", AMEX),
    ("36", "36", DINERS),
    ("38", "38", DINERS),
    ("300", "305", DINERS),
    ("51", "55", MASTERCARD),
    ("62", "62", UNIONPAY),
    ("4", "4", VISA),
    ("9", "9", BC_DOMESTIC),
)


def lookup_bin(number_or_prefix: str) -> BinInfo:
    """Brand and issuer for a card number (or any prefix of at least 6 digits).

    Only the leading digits are read; masked numbers ("43302812****123*") work too.
    """
    bin6 = number_or_prefix[:6]
    issuer_entry = ISSUER_BINS.get(bin6)
    if issuer_entry is not None:
        return BinInfo(*issuer_entry)
    for low, high, brand in NETWORK_RANGES:
        head = number_or_prefix[: len(low)]
        if len(head) == len(low) and head.isdigit() and low <= head <= high:
            return BinInfo(brand, None)
    return BinInfo(UNKNOWN_BRAND, None)
