"""Korean and English number reading: the call script's rules, as prompt ids and as text."""

from __future__ import annotations

import random

import pytest

from prompts.catalogue import all_prompt_ids, display_text, text_for
from prompts.numbers import (
    amount_prompts,
    digit_prompts,
    english_reading,
    korean_reading,
    months_prompts,
    number_prompts,
)

# (number, reading). Leading 일 is dropped before 십/백/천 and before a lone 만; it is kept
# before 억 and 조 (the call script names no exception there, and speech says 일억).
KOREAN_READINGS = [
    (0, "영"),
    (1, "일"),
    (2, "이"),
    (9, "구"),
    (10, "십"),
    (11, "십일"),
    (19, "십구"),
    (20, "이십"),
    (99, "구십구"),
    (100, "백"),
    (101, "백일"),
    (110, "백십"),
    (111, "백십일"),
    (200, "이백"),
    (999, "구백구십구"),
    (1_000, "천"),
    (1_001, "천일"),
    (1_010, "천십"),
    (2_000, "이천"),
    (9_999, "구천구백구십구"),
    (10_000, "만"),
    (10_001, "만 일"),
    (11_000, "만 천"),
    (15_000, "만 오천"),
    (20_000, "이만"),
    (28_500, "이만 팔천오백"),
    (50_000, "오만"),
    (100_000, "십만"),
    (110_000, "십일만"),
    (210_000, "이십일만"),
    (1_000_000, "백만"),
    (1_010_000, "백일만"),
    (1_250_000, "백이십오만"),
    (10_000_000, "천만"),
    (12_345_678, "천이백삼십사만 오천육백칠십팔"),
    (100_000_000, "일억"),
    (100_000_001, "일억 일"),
    (110_000_000, "일억 천만"),
    (300_000_000, "삼억"),
    (100_010_000, "일억 만"),
    (1_0000_0000_0000, "일조"),
    (1_0001_0000_0000, "일조 일억"),
    (1_0000_0001_0000, "일조 만"),
    (9999_9999_9999_9999, "구천구백구십구조 구천구백구십구억 구천구백구십구만 구천구백구십구"),
]


@pytest.mark.parametrize(("n", "reading"), KOREAN_READINGS)
def test_korean_reading(n: int, reading: str) -> None:
    assert korean_reading(n) == reading


@pytest.mark.parametrize(("n", "reading"), KOREAN_READINGS)
def test_korean_prompt_ids_say_the_reading(n: int, reading: str) -> None:
    ids = number_prompts(n, "ko")
    assert all(text_for(i, "ko") for i in ids)
    assert display_text(ids, "ko") == reading


def test_call_script_example_ids() -> None:
    assert amount_prompts(28_500) == [
        "num/2", "num/10000", "num/8", "num/1000", "num/5", "num/100", "won",
    ]  # fmt: skip
    assert number_prompts(10_000) == ["num/10000"]
    assert number_prompts(210_000) == ["num/2", "num/10", "num/1", "num/10000"]
    assert display_text(amount_prompts(28_500), "ko") == "이만 팔천오백원"


@pytest.mark.parametrize(
    ("n", "reading"),
    [
        (0, "zero"),
        (7, "seven"),
        (15, "fifteen"),
        (21, "twenty one"),
        (100, "one hundred"),
        (105, "one hundred five"),
        (1_000, "one thousand"),
        (28_500, "twenty eight thousand five hundred"),
        (50_000, "fifty thousand"),
        (1_250_000, "one million two hundred fifty thousand"),
        (100_000_000, "one hundred million"),
        (2_000_000_001, "two billion one"),
    ],
)
def test_english_reading_and_ids(n: int, reading: str) -> None:
    assert english_reading(n) == reading
    assert display_text(number_prompts(n, "en"), "en") == reading


def test_english_amount_ends_in_won() -> None:
    assert display_text(amount_prompts(28_500, "en"), "en").endswith("five hundred won")


def test_every_composed_id_is_a_built_prompt() -> None:
    rng = random.Random(20241122)
    samples = [rng.randrange(0, 10**rng.randrange(1, 16)) for _ in range(2_000)]
    for language in ("ko", "en"):
        known = set(all_prompt_ids(language))
        for n in samples:
            if language == "en" and n >= 10**12:
                continue
            assert set(amount_prompts(n, language)) <= known, n
        assert set(digit_prompts("0123456789", language)) <= known
        assert set(months_prompts(1, language) + months_prompts(12, language)) <= known


def test_digits_read_one_by_one_with_gong_for_zero() -> None:
    assert digit_prompts("0827") == ["digit/0", "digit/8", "digit/2", "digit/7"]
    assert display_text(digit_prompts("0827"), "ko") == "공팔이칠"
    assert display_text(digit_prompts("305", "en"), "en") == "three zero five"
    assert digit_prompts("12-34 56") == [f"digit/{d}" for d in "123456"]


@pytest.mark.parametrize("bad", ["", "12a4", "１２", "+82", "--"])
def test_digits_reject_non_digits_without_echoing_them(bad: str) -> None:
    with pytest.raises(ValueError) as err:
        digit_prompts(bad)
    if bad.strip("-"):
        assert bad not in str(err.value)


def test_months() -> None:
    assert months_prompts(3) == ["num/3", "months"]
    assert display_text(months_prompts(3), "ko") == "삼 개월"
    assert display_text(months_prompts(12), "ko") == "십이 개월"
    assert display_text(months_prompts(1, "en"), "en") == "one month"
    assert display_text(months_prompts(6, "en"), "en") == "six months"
    for bad in (0, 100, -3):
        with pytest.raises(ValueError):
            months_prompts(bad)


@pytest.mark.parametrize("bad", [-1, 10**16])
def test_korean_range(bad: int) -> None:
    with pytest.raises(ValueError):
        number_prompts(bad)


def test_english_range_and_types() -> None:
    with pytest.raises(ValueError):
        number_prompts(10**12, "en")
    with pytest.raises(TypeError):
        number_prompts(True)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        number_prompts(1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        number_prompts(5, "ja")
