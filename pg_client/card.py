"""Card data captured by the IVR: validation and a type that cannot leak.

`CardData` holds the digits in bytearrays (so `wipe()` can zero them), prints only its masked
form (BIN 6 + last 4), refuses pickling/copying, and hands the digits out only through
`reveal_*()` methods, whose name marks every place the raw digits are used.

The `check_*` validators are what the call flow runs after each DTMF field; they return None
when the field is fine, or a short reason code that never contains the digits.
"""

from __future__ import annotations

import datetime as dt
from types import TracebackType
from typing import Any, NoReturn

from pg_client.bins import BinInfo, lookup_bin

MIN_CARD_DIGITS = 13
MAX_CARD_DIGITS = 19
MAX_EXPIRY_YEARS_AHEAD = 20

# Reason codes (stable strings the flow can switch on).
R_EMPTY = "empty"
R_NOT_DIGITS = "not_digits"
R_TOO_SHORT = "too_short"
R_TOO_LONG = "too_long"
R_LENGTH = "length"
R_LUHN = "luhn"
R_MONTH = "month"
R_EXPIRED = "expired"
R_TOO_FAR = "too_far"
R_DATE = "date"
R_CHECKSUM = "checksum"
R_WIPED = "wiped"

FIELD_NUMBER = "card_number"
FIELD_EXPIRY = "expiry"
FIELD_IDENTITY = "identity"
FIELD_PIN2 = "pin"

_BUSINESS_NO_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)


class CardDataError(ValueError):
    """A card field failed validation. The message names the field and reason only."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"invalid {field}: {reason}")
        self.field = field
        self.reason = reason


# ---------------------------------------------------------------- validators


def _ascii_digits(value: str) -> bool:
    return value.isascii() and value.isdigit()


def luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        d = ord(char) - 48
        if position % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def check_card_number(digits: str) -> str | None:
    """13–19 ASCII digits with a valid Luhn check digit."""
    if not digits:
        return R_EMPTY
    if not _ascii_digits(digits):
        return R_NOT_DIGITS
    if len(digits) < MIN_CARD_DIGITS:
        return R_TOO_SHORT
    if len(digits) > MAX_CARD_DIGITS:
        return R_TOO_LONG
    if not luhn_ok(digits):
        return R_LUHN
    return None


def check_expiry(mmyy: str, today: dt.date | None = None) -> str | None:
    """MMYY as printed on the card; valid through the last day of that month."""
    if not mmyy:
        return R_EMPTY
    if not _ascii_digits(mmyy):
        return R_NOT_DIGITS
    if len(mmyy) != 4:
        return R_LENGTH
    month, year = int(mmyy[:2]), 2000 + int(mmyy[2:])
    if not 1 <= month <= 12:
        return R_MONTH
    today = today or dt.date.today()
    if (year, month) < (today.year, today.month):
        return R_EXPIRED
    if year > today.year + MAX_EXPIRY_YEARS_AHEAD:
        return R_TOO_FAR
    return None


def _birthdate(yymmdd: str, today: dt.date) -> dt.date | None:
    """The most recent real date YYMMDD can be (2000s if not in the future, else 1900s)."""
    yy, mm, dd = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    for century in (2000, 1900):
        try:
            born = dt.date(century + yy, mm, dd)
        except ValueError:
            continue
        if born <= today:
            return born
    return None


def business_number_ok(digits: str) -> bool:
    """Korean business registration number (10 digits) check digit."""
    d = [ord(c) - 48 for c in digits]
    total = sum(x * w for x, w in zip(d[:9], _BUSINESS_NO_WEIGHTS, strict=True))
    total += (d[8] * 5) // 10
    return (10 - total % 10) % 10 == d[9]


def check_identity(digits: str, today: dt.date | None = None) -> str | None:
    """Birthdate YYMMDD (a real, past date) or a 10-digit business registration number."""
    if not digits:
        return R_EMPTY
    if not _ascii_digits(digits):
        return R_NOT_DIGITS
    if len(digits) == 6:
        return None if _birthdate(digits, today or dt.date.today()) else R_DATE
    if len(digits) == 10:
        return None if business_number_ok(digits) else R_CHECKSUM
    return R_LENGTH


def check_pin2(digits: str) -> str | None:
    """The first two digits of the card PIN."""
    if not digits:
        return R_EMPTY
    if not _ascii_digits(digits):
        return R_NOT_DIGITS
    if len(digits) != 2:
        return R_LENGTH
    return None


def mask_number(number: str) -> str:
    """BIN 6 + last 4, everything between as '*' (433028******1234)."""
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


# ---------------------------------------------------------------- CardData


def _as_text(value: str | bytes | bytearray, field: str) -> str:
    if isinstance(value, bytes | bytearray):
        # No decode inside try/except: a UnicodeDecodeError would carry the bytes.
        if not value.isascii():
            raise CardDataError(field, R_NOT_DIGITS)
        return value.decode("ascii")
    if isinstance(value, str):
        return value
    raise CardDataError(field, "type")


class CardData:
    """Card number, expiry and optional identity/PIN digits, held for one authorization."""

    __slots__ = ("_bin6", "_brand", "_expiry", "_identity", "_issuer", "_last4", "_number",
                 "_pin2", "_wiped")

    def __init__(
        self,
        number: str,
        expiry_month: str,
        expiry_year: str,
        identity: str | None = None,
        pin2: str | None = None,
        *,
        today: dt.date | None = None,
    ) -> None:
        """Validate every field; raises CardDataError (field + reason, never digits)."""
        for field, reason in (
            (FIELD_NUMBER, check_card_number(number)),
            (FIELD_EXPIRY, check_expiry(f"{expiry_month}{expiry_year}", today)
             if len(expiry_month) == 2 and len(expiry_year) == 2 else R_LENGTH),
            (FIELD_IDENTITY, None if identity is None else check_identity(identity, today)),
            (FIELD_PIN2, None if pin2 is None else check_pin2(pin2)),
        ):
            if reason is not None:
                raise CardDataError(field, reason)
        self._number = bytearray(number.encode("ascii"))
        self._expiry = bytearray(f"{expiry_month}{expiry_year}".encode("ascii"))
        self._identity = None if identity is None else bytearray(identity.encode("ascii"))
        self._pin2 = None if pin2 is None else bytearray(pin2.encode("ascii"))
        self._bin6 = number[:6]
        self._last4 = number[-4:]
        info = lookup_bin(number)
        self._brand = info.brand
        self._issuer = info.issuer
        self._wiped = False

    @classmethod
    def create(
        cls,
        number: str | bytes | bytearray,
        expiry_mmyy: str | bytes | bytearray,
        identity: str | bytes | bytearray | None = None,
        pin2: str | bytes | bytearray | None = None,
        *,
        today: dt.date | None = None,
    ) -> CardData:
        """Build from the fields as keyed on the phone (expiry as MMYY)."""
        number_s = _as_text(number, FIELD_NUMBER)
        expiry_s = _as_text(expiry_mmyy, FIELD_EXPIRY)
        reason = check_expiry(expiry_s, today)
        if reason is not None:
            raise CardDataError(FIELD_EXPIRY, reason)
        return cls(
            number_s,
            expiry_s[:2],
            expiry_s[2:],
            None if identity is None else _as_text(identity, FIELD_IDENTITY),
            None if pin2 is None else _as_text(pin2, FIELD_PIN2),
            today=today,
        )

    # -- safe to show ------------------------------------------------------

    @property
    def bin6(self) -> str:
        return self._bin6

    @property
    def last4(self) -> str:
        return self._last4

    @property
    def masked(self) -> str:
        return self._bin6 + "*" * (len(self._number) - 10) + self._last4

    @property
    def brand(self) -> str:
        return self._brand

    @property
    def issuer(self) -> str | None:
        return self._issuer

    @property
    def bin_info(self) -> BinInfo:
        return BinInfo(self._brand, self._issuer)

    @property
    def has_identity(self) -> bool:
        return self._identity is not None

    @property
    def has_pin2(self) -> bool:
        return self._pin2 is not None

    @property
    def wiped(self) -> bool:
        return self._wiped

    def __repr__(self) -> str:
        return f"CardData({self.masked})"

    __str__ = __repr__

    def __format__(self, format_spec: str) -> str:
        return format(repr(self), format_spec)

    # -- radioactive: only for building the PG request ---------------------

    def _reveal(self, field: str, value: bytearray | None) -> str | None:
        if self._wiped:
            raise CardDataError(field, R_WIPED)
        return None if value is None else value.decode("ascii")

    def reveal_number(self) -> str:
        return self._reveal(FIELD_NUMBER, self._number)  # type: ignore[return-value]

    def reveal_expiry_month(self) -> str:
        return self._reveal(FIELD_EXPIRY, self._expiry[:2])  # type: ignore[return-value]

    def reveal_expiry_year(self) -> str:
        """Two digits, e.g. "27"."""
        return self._reveal(FIELD_EXPIRY, self._expiry[2:])  # type: ignore[return-value]

    def reveal_identity(self) -> str | None:
        return self._reveal(FIELD_IDENTITY, self._identity)

    def reveal_pin2(self) -> str | None:
        return self._reveal(FIELD_PIN2, self._pin2)

    # -- lifetime ------------------------------------------------------------

    def wipe(self) -> None:
        """Zero the digit buffers (best effort: str copies made by reveal_* are not reachable)."""
        for buf in (self._number, self._expiry, self._identity, self._pin2):
            if buf is not None:
                buf[:] = b"\x00" * len(buf)
        self._wiped = True

    def __enter__(self) -> CardData:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.wipe()

    def __del__(self) -> None:
        try:
            self.wipe()
        except AttributeError:  # half-built instance (constructor raised)
            pass

    # -- no persistence, no copies ------------------------------------------

    def _refuse(self, *_args: Any) -> NoReturn:
        raise TypeError("CardData cannot be pickled, copied or serialized")

    __reduce__ = _refuse
    __reduce_ex__ = _refuse
    __getstate__ = _refuse
    __copy__ = _refuse
    __deepcopy__ = _refuse
