"""Numbers as prompt ids: amounts, digit strings and installment months.

Korean follows shared/reference/call-script.md ("Reading numbers in Korean"): Sino-Korean
numerals with myriad grouping (만 10⁴, 억 10⁸, 조 10¹²). A leading 일 is dropped before 십, 백
and 천, and before 만 when the 만 group is exactly one (10,000 → 만, 110,000 → 십일만,
210,000 → 이십일만). The call script names no other case, and spoken Korean keeps 일 before 억
and 조, so 100,000,000 → 일억 and 10¹² → 일조.

Prompt ids are the same names in every language (`num/<value>`, `digit/<d>`, `won`, `months`,
`month`); what each one says lives in the language's sound directory, so the English
`num/100` says "hundred" where the Korean one says 백.
"""

from __future__ import annotations

from collections.abc import Sequence

KO_DIGITS = ("영", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구")
KO_DIGIT_READING = ("공", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구")
KO_SMALL_UNITS = ((1000, "천"), (100, "백"), (10, "십"))
KO_BIG_UNITS = ((10**12, "조"), (10**8, "억"), (10**4, "만"))
KO_MAX = 10**16 - 1

EN_ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
)  # fmt: skip
EN_TENS = {20: "twenty", 30: "thirty", 40: "forty", 50: "fifty", 60: "sixty", 70: "seventy",
           80: "eighty", 90: "ninety"}  # fmt: skip
EN_BIG_UNITS = ((10**9, "billion"), (10**6, "million"), (10**3, "thousand"))
EN_MAX = 10**12 - 1

LANGUAGES = ("ko", "en")


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}; expected one of {LANGUAGES}")


def _check_number(n: int, maximum: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError("number must be an int")
    if n < 0 or n > maximum:
        raise ValueError(f"number out of range 0..{maximum}")


# --- Korean -----------------------------------------------------------------------------------


def _ko_group_values(n: int) -> list[int]:
    """Values of the spoken pieces of 1..9999, e.g. 8500 → [8, 1000, 5, 100]."""
    pieces: list[int] = []
    for unit, _name in KO_SMALL_UNITS:
        digit, n = divmod(n, unit)
        if digit:
            if digit != 1:
                pieces.append(digit)
            pieces.append(unit)
    if n:
        pieces.append(n)
    return pieces


def _ko_groups(n: int) -> list[tuple[list[int], int | None]]:
    """[(pieces of the group, big unit or None), ...] from the top, zero groups skipped."""
    groups: list[tuple[list[int], int | None]] = []
    for unit, _name in KO_BIG_UNITS:
        group, n = divmod(n, unit)
        if group:
            # 만 alone drops its 일; 일억 and 일조 keep it.
            pieces = [] if (group == 1 and unit == 10**4) else _ko_group_values(group)
            groups.append((pieces, unit))
    if n:
        groups.append((_ko_group_values(n), None))
    return groups


def _ko_piece_text(value: int) -> str:
    if value < 10:
        return KO_DIGITS[value]
    for unit, name in (*KO_BIG_UNITS, *KO_SMALL_UNITS):
        if value == unit:
            return name
    raise ValueError(f"no Korean prompt for {value}")


def korean_reading(n: int) -> str:
    """Hangul reading, groups separated by spaces: 28500 → '이만 팔천오백', 0 → '영'."""
    _check_number(n, KO_MAX)
    if n == 0:
        return KO_DIGITS[0]
    words = []
    for pieces, unit in _ko_groups(n):
        word = "".join(_ko_piece_text(p) for p in pieces)
        if unit is not None:
            word += _ko_piece_text(unit)
        words.append(word)
    return " ".join(words)


def _ko_number_prompts(n: int) -> list[str]:
    _check_number(n, KO_MAX)
    if n == 0:
        return ["num/0"]
    ids: list[str] = []
    for pieces, unit in _ko_groups(n):
        ids.extend(f"num/{p}" for p in pieces)
        if unit is not None:
            ids.append(f"num/{unit}")
    return ids


# --- English ----------------------------------------------------------------------------------


def _en_below_thousand(n: int) -> list[int]:
    pieces: list[int] = []
    hundreds, n = divmod(n, 100)
    if hundreds:
        pieces += [hundreds, 100]
    if n >= 20:
        tens, n = divmod(n, 10)
        pieces.append(tens * 10)
    if n:
        pieces.append(n)
    return pieces


def _en_piece_values(n: int) -> list[int]:
    if n == 0:
        return [0]
    pieces: list[int] = []
    for unit, _name in EN_BIG_UNITS:
        group, n = divmod(n, unit)
        if group:
            pieces += [*_en_below_thousand(group), unit]
    return pieces + _en_below_thousand(n)


def _en_piece_text(value: int) -> str:
    if value < 20:
        return EN_ONES[value]
    if value in EN_TENS:
        return EN_TENS[value]
    if value == 100:
        return "hundred"
    for unit, name in EN_BIG_UNITS:
        if value == unit:
            return name
    raise ValueError(f"no English prompt for {value}")


def english_reading(n: int) -> str:
    """28500 → 'twenty eight thousand five hundred'."""
    _check_number(n, EN_MAX)
    return " ".join(_en_piece_text(v) for v in _en_piece_values(n))


# --- public composers -------------------------------------------------------------------------


def number_prompts(n: int, language: str = "ko") -> list[str]:
    """Prompt ids reading the number: 28500 (ko) → num/2 num/10000 num/8 num/1000 num/5 num/100."""
    _check_language(language)
    if language == "ko":
        return _ko_number_prompts(n)
    _check_number(n, EN_MAX)
    return [f"num/{v}" for v in _en_piece_values(n)]


def amount_prompts(n: int, language: str = "ko") -> list[str]:
    """An amount in won: the number, then `won`."""
    return [*number_prompts(n, language), "won"]


def digit_prompts(s: str, language: str = "ko") -> list[str]:
    """A digit string read digit by digit (approval numbers, card endings); 0 reads 공 in Korean.

    Spaces and hyphens are skipped. The error message never repeats the input: a caller could
    pass card data by mistake.
    """
    _check_language(language)
    digits = [c for c in s if c not in " -"]
    if not digits or not all(c in "0123456789" for c in digits):
        raise ValueError("digit string must contain only digits 0-9")
    return [f"digit/{c}" for c in digits]


def months_prompts(n: int, language: str = "ko") -> list[str]:
    """Installment months: 3 → 삼 개월 (num/3 months); English 1 → 'one month'."""
    _check_language(language)
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 99:
        raise ValueError("months must be an int in 1..99")
    unit = "month" if (language == "en" and n == 1) else "months"
    return [*number_prompts(n, language), unit]


# --- the set of pieces, for building and display ----------------------------------------------


def number_piece_ids(language: str) -> list[str]:
    """Every `num/…` id the composer can produce for the language."""
    _check_language(language)
    if language == "ko":
        values = [*range(10), 10, 100, 1000, *(u for u, _ in reversed(KO_BIG_UNITS))]
    else:
        values = [*range(20), *EN_TENS, 100, *(u for u, _ in reversed(EN_BIG_UNITS))]
    return [f"num/{v}" for v in values]


def digit_piece_ids() -> list[str]:
    return [f"digit/{d}" for d in range(10)]


UNIT_TEXTS: dict[str, dict[str, str]] = {
    "ko": {"won": "원", "months": "개월", "month": "개월"},
    "en": {"won": "won", "months": "months", "month": "month"},
}


def piece_text(prompt_id: str, language: str) -> str | None:
    """Display text of a number, digit or unit id; None when it is not one."""
    if language not in LANGUAGES:
        return None
    if prompt_id in UNIT_TEXTS[language]:
        return UNIT_TEXTS[language][prompt_id]
    kind, _, rest = prompt_id.partition("/")
    if kind == "digit" and len(rest) == 1 and rest.isdigit():
        d = int(rest)
        return KO_DIGIT_READING[d] if language == "ko" else EN_ONES[d]
    if kind == "num" and prompt_id in number_piece_ids(language):
        value = int(rest)
        return _ko_piece_text(value) if language == "ko" else _en_piece_text(value)
    return None


def reading_of(prompt_ids: Sequence[str], language: str) -> str:
    """Concatenated display text of number pieces (used by tests and the softphone)."""
    texts = [piece_text(p, language) or f"<{p}>" for p in prompt_ids]
    return " ".join(texts)
