"""Message texts: byte counting, SMS/LMS boundary, unsafe characters, the number on its line."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime

import pytest

from sms.encoding import (
    euckr_length,
    lms_subject,
    make_euckr_safe,
    message_type,
    truncate_euckr,
)
from sms.templates import (
    billing_register_sms,
    billing_sms,
    cancel_sms,
    charge_sms,
    format_krw,
    receipt_sms,
)

DEADLINE = datetime(2025, 11, 29, 9, 30, tzinfo=UTC)  # 18:30 in Korea, a Saturday
APPROVED_AT = datetime(2025, 11, 22, 9, 30, 5, tzinfo=UTC)
PHONE_LINE = re.compile(r"^\d{2,4}-\d{3,5}-?\d{0,4}$")


def lines_of(text: str) -> list[str]:
    return text.split("\n")


@pytest.mark.parametrize(
    ("amount", "shown"),
    [(0, "0원"), (100, "100원"), (28_500, "28,500원"), (1_000_000, "1,000,000원")],
)
def test_format_krw(amount: int, shown: str) -> None:
    assert format_krw(amount) == shown


def test_format_krw_rejects_bad_amounts() -> None:
    with pytest.raises(ValueError):
        format_krw(-1)
    with pytest.raises(TypeError):
        format_krw(True)
    with pytest.raises(TypeError):
        format_krw(28.5)  # type: ignore[arg-type]


def test_byte_lengths() -> None:
    assert euckr_length("가") == 2
    assert euckr_length("똠") == 2  # beyond EUC-KR's 2,350 syllables, still 2 bytes in CP949
    assert euckr_length("a\n1") == 3
    assert euckr_length("28,500원") == 8
    assert euckr_length("😀") == 0  # dropped before counting


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("가" * 45, "SMS"),
        ("가" * 46, "LMS"),
        ("a" * 90, "SMS"),
        ("a" * 91, "LMS"),
        ("가" * 44 + "ab", "SMS"),
        ("가" * 44 + "abc", "LMS"),
        ("가" * 45 + "😀", "SMS"),
        ("가" * 44 + "\n" + "a", "SMS"),
        ("가" * 44 + "\n" + "ab", "LMS"),
    ],
)
def test_sms_lms_boundary_is_90_bytes(text: str, kind: str) -> None:
    assert message_type(text) == kind


def test_unsafe_characters_are_replaced_or_dropped() -> None:
    assert make_euckr_safe("“결제” — 완료 😀") == '"결제" - 완료 '
    assert make_euckr_safe("Café ‘Ōsaka’") == "Cafe 'Osaka'"
    assert make_euckr_safe("a\u00a0b\u200bc\r\nd") == "a bc\nd"
    assert make_euckr_safe("₩5,000 • 특가 ✔") == "￦5,000 · 특가 V"
    assert make_euckr_safe("👨‍👩‍👧 가족") == " 가족"
    assert make_euckr_safe("丼 漢") == " 漢"  # rare hanja dropped, common kept
    assert make_euckr_safe("ｗｉｄｅ") == "ｗｉｄｅ"  # fullwidth Latin is in KS X 1001


def test_make_safe_never_crashes_and_always_encodes() -> None:
    rng = random.Random(7)
    for _ in range(300):
        text = "".join(chr(rng.randrange(0, 0x110000)) for _ in range(40))
        safe = make_euckr_safe(text)
        safe.encode("cp949")
        assert euckr_length(text) == len(safe.encode("cp949"))


def test_truncate_respects_bytes_and_characters() -> None:
    text = "가나다라마바사" * 10
    cut = truncate_euckr(text, 21)
    assert len(cut.encode("cp949")) <= 21
    assert cut.endswith("…") and cut[:-1] == "가나다라마바사가나"
    assert truncate_euckr("short", 40) == "short"
    assert truncate_euckr("a😀b", 40) == "ab"


def test_lms_subject_is_at_most_40_bytes() -> None:
    subject = lms_subject("\n[아주아주아주 긴 가맹점 이름의 스마트스토어] 결제 요청\n상품: x")
    assert len(subject.encode("cp949")) <= 40
    assert subject.startswith("[아주아주")


def test_billing_sms() -> None:
    text = billing_sms("스타커피 강남점", "아메리카노 2잔", 28_500, "1600-5001", DEADLINE)
    lines = lines_of(text)
    assert lines[0] == "[스타커피 강남점] 결제 요청"
    assert "상품: 아메리카노 2잔" in lines
    assert "금액: 28,500원" in lines
    assert "1600-5001" in lines  # alone on its own line
    assert [line for line in lines if PHONE_LINE.match(line)] == ["1600-5001"]
    assert lines[-1] == "결제 기한: 11월 29일(토) 18:30까지"
    assert "이 휴대폰" in text  # the payer must call from the phone that got the SMS
    assert message_type(text) == "LMS"


def test_billing_sms_formats_an_e164_number_and_naive_korean_time() -> None:
    text = billing_sms("가게", "상품", 1000, "+825071234000", datetime(2025, 12, 1, 9, 5))
    assert "050-7123-4000" in lines_of(text)
    assert lines_of(text)[-1] == "결제 기한: 12월 1일(월) 09:05까지"


def test_billing_sms_rejects_a_number_that_is_not_one() -> None:
    with pytest.raises(ValueError):
        billing_sms("가게", "상품", 1000, "call 1600-5001", DEADLINE)


def test_names_cannot_forge_lines() -> None:
    text = billing_sms("가게\n1588-0000", "상품\r\n02-999-9999", 1000, "1600-5001", DEADLINE)
    assert [line for line in lines_of(text) if PHONE_LINE.match(line)] == ["1600-5001"]
    assert len(lines_of(text)) == 6


def test_long_names_are_cut_and_the_message_stays_an_lms() -> None:
    text = billing_sms("상" * 300, "품" * 3000 + "😀" * 100, 10**9, "1600-5001", DEADLINE)
    lines = lines_of(text)
    assert len(lines[0].encode("cp949")) <= len("[] 결제 요청".encode("cp949")) + 40
    assert lines[1].startswith("상품: ") and lines[1].endswith("…")
    assert len(lines[1].encode("cp949")) <= len("상품: ".encode("cp949")) + 80
    assert euckr_length(text) <= 2000 and "1600-5001" in lines


def test_emoji_in_names_are_dropped() -> None:
    text = billing_sms("🍰케이크집", "생일 케이크 🎂", 35_000, "1600-5001", DEADLINE)
    text.encode("cp949")
    assert text.startswith("[케이크집] 결제 요청")
    assert "상품: 생일 케이크" in lines_of(text)


def test_receipt_sms() -> None:
    text = receipt_sms("스타커피", 28_500, "30001234", "536510******1234", APPROVED_AT, 0)
    assert lines_of(text) == [
        "[스타커피] 카드결제 승인",
        "금액: 28,500원 (일시불)",
        "승인번호: 30001234",
        "카드: 536510******1234",
        "승인일시: 2025-11-22 18:30:05",
    ]
    installments = receipt_sms("스타커피", 90_000, "1", "5365-10**-****-1234", APPROVED_AT, 3)
    assert "금액: 90,000원 (3개월 할부)" in lines_of(installments)


def test_receipt_refuses_a_full_card_number() -> None:
    with pytest.raises(ValueError) as err:
        receipt_sms("가게", 1000, "1", "5365101234561234", APPROVED_AT, 0)
    assert "5365101234561234" not in str(err.value)


def test_cancel_sms_partial_and_full() -> None:
    partial = cancel_sms("스타커피", 10_000, 18_500, "536510******1234", APPROVED_AT)
    assert "취소 금액: 10,000원" in lines_of(partial)
    assert "남은 결제 금액: 18,500원" in lines_of(partial)
    full = cancel_sms("스타커피", 28_500, 0, "536510******1234", APPROVED_AT)
    assert "전액 취소되었습니다." in lines_of(full)
    assert lines_of(full)[-1] == "취소일시: 2025-11-22 18:30:05"


def test_billing_register_and_charge_sms() -> None:
    register = billing_register_sms("넷플", "월 구독", "050-1234-5678", DEADLINE)
    assert "050-1234-5678" in lines_of(register)
    assert lines_of(register)[0] == "[넷플] 자동결제 카드 등록 요청"
    charge = charge_sms("넷플", "12월 구독료", 13_500, "1600-5002", DEADLINE, "신한카드", "1234")
    assert "등록 카드: 신한카드 끝자리 1234" in lines_of(charge)
    assert "1600-5002" in lines_of(charge) and "금액: 13,500원" in lines_of(charge)
    with pytest.raises(ValueError):
        charge_sms("넷플", "x", 1, "1600-5002", DEADLINE, "신한", "12345")
