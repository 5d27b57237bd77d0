"""The prompt catalogue: every step of the call script has its prompt, templates compose."""

from __future__ import annotations

import pytest

from prompts.catalogue import (
    DECLINE_CATEGORIES,
    LANGUAGES,
    PROMPTS,
    all_prompt_ids,
    card_brand_prompt,
    compose,
    decline_reason_prompt,
    display_text,
    fragment_texts,
    slots_of,
    text_for,
)
from prompts.dynamic import dynamic_prompt_id
from prompts.numbers import amount_prompts, digit_prompts

CALL_SCRIPT_IDS = [
    "greet", "no_request", "withheld", "ask_mobile", "in_progress", "announce", "confirm",
    "card_number", "expiry", "identity", "birthdate_only", "pin", "installments", "readback",
    "wait", "approved", "declined", "retry_other_card", "invalid", "timeout", "too_many_tries",
    "cancelled_by_payer", "goodbye", "language_switch", "system_error", "expired",
    "billing_register_terms", "consent", "billing_registered", "billing_charge_announce",
    "registered_card", "use_registered_or_other", "card_number_invalid", "expiry_invalid",
    "identity_invalid", "pin_invalid",
]  # fmt: skip

# Prompts that ask the payer to press keys: polite imperative ending.
ASKING_IDS = [
    "ask_mobile", "confirm", "card_number", "expiry", "identity", "birthdate_only", "pin",
    "installments", "readback", "retry_other_card", "consent", "use_registered_or_other",
]  # fmt: skip

TEMPLATE_SLOTS = {
    "announce": {"merchant", "product", "amount"},
    "readback": {"last4", "amount"},
    "approved": {"approval"},
    "registered_card": {"brand", "last4"},
    "billing_charge_announce": {"merchant", "product", "amount"},
    "billing_register_terms": {"merchant", "product"},
}

MERCHANT = ["dyn/aaaaaaaaaaaa"]
PRODUCT = ["dyn/bbbbbbbbbbbb"]


@pytest.mark.parametrize("prompt_id", CALL_SCRIPT_IDS)
def test_call_script_prompt_exists_in_both_languages(prompt_id: str) -> None:
    prompt = PROMPTS[prompt_id]
    assert prompt.ko.strip() and prompt.en.strip()
    assert any("\uac00" <= c <= "\ud7a3" for c in prompt.ko) or prompt_id == "language_switch"
    assert prompt.en.isascii()


@pytest.mark.parametrize("prompt_id", ASKING_IDS)
def test_asking_prompts_are_polite(prompt_id: str) -> None:
    assert PROMPTS[prompt_id].ko.endswith("주십시오.")


def test_wording_from_the_brief() -> None:
    assert text_for("card_number_invalid", "ko") == "카드번호가 올바르지 않습니다."
    assert "우물정자" in text_for("card_number", "ko")  # type: ignore[operator]
    assert text_for("language_switch", "ko") == "For English, press 9."
    assert PROMPTS["language_switch"].voice == "en"


@pytest.mark.parametrize("category", DECLINE_CATEGORIES)
def test_every_decline_category_has_a_reason(category: str) -> None:
    prompt_id = decline_reason_prompt(category)
    assert prompt_id == f"reason_{category}"
    assert text_for(prompt_id, "ko") and text_for(prompt_id, "en")


def test_unknown_decline_category_falls_back_to_other() -> None:
    assert decline_reason_prompt("martian") == "reason_other"


@pytest.mark.parametrize(("prompt_id", "slots"), TEMPLATE_SLOTS.items())
def test_template_slots_match_in_both_languages(prompt_id: str, slots: set[str]) -> None:
    assert set(slots_of(prompt_id, "ko")) == slots == set(slots_of(prompt_id, "en"))


def test_only_the_known_templates_have_slots() -> None:
    templates = {pid for pid in PROMPTS if slots_of(pid, "ko")}
    assert templates == set(TEMPLATE_SLOTS)


def test_plain_prompt_composes_to_itself() -> None:
    assert compose("greet", "ko") == ["greet"]
    assert compose("pin", "en") == ["pin"]


def test_announce_korean_order() -> None:
    amount = amount_prompts(28_500, "ko")
    ids = compose("announce", "ko", merchant=MERCHANT, product=PRODUCT, amount=amount)
    assert ids == [*MERCHANT, "announce.0", *PRODUCT, "announce.1", *amount, "announce.2"]
    shown = display_text(ids, "ko")
    assert "에서 요청하신" in shown and "결제 금액은 이만 팔천오백원 입니다." in shown


def test_announce_english_order() -> None:
    amount = amount_prompts(28_500, "en")
    ids = compose("announce", "en", merchant=MERCHANT, product=PRODUCT, amount=amount)
    # The trailing "." of the English text is not worth a sound file.
    assert ids == [*MERCHANT, "announce.0", *PRODUCT, "announce.1", *amount]


def test_readback_word_order_differs_between_languages() -> None:
    last4 = digit_prompts("1234")
    ko = compose("readback", "ko", last4=last4, amount=amount_prompts(50_000))
    en = compose("readback", "en", last4=last4, amount=amount_prompts(50_000, "en"))
    assert ko.index("digit/1") < ko.index("won")
    assert en.index("won") < en.index("digit/1")
    assert display_text(ko, "ko").startswith("끝자리 일이삼사 카드로 오만원")


def test_approved_reads_the_approval_number() -> None:
    ids = compose("approved", "ko", approval=digit_prompts("30001234"))
    assert display_text(ids, "ko") == (
        "결제가 완료되었습니다. 승인번호는 삼공공공일이삼사 입니다. 이용해 주셔서 감사합니다."
    )


def test_registered_card_with_brand_prompt() -> None:
    brand = card_brand_prompt("KB국민카드")
    assert brand == "brand/kb"
    ids = compose("registered_card", "en", brand=[brand], last4=digit_prompts("9876", "en"))
    assert display_text(ids, "en") == (
        "Your registered card is the KB Kookmin card ending in nine eight seven six"
    )


@pytest.mark.parametrize(
    ("company", "prompt_id"),
    [("신한", "brand/shinhan"), ("신한카드", "brand/shinhan"), ("현대", "brand/hyundai"),
     ("NH농협", "brand/nh"), ("BC", "brand/bc"), ("비씨카드", "brand/bc"), ("VISA", "brand/visa"),
     ("Unknown Bank", None)],
)  # fmt: skip
def test_card_brand_prompt(company: str, prompt_id: str | None) -> None:
    assert card_brand_prompt(company) == prompt_id


def test_compose_rejects_missing_and_extra_slots() -> None:
    with pytest.raises(ValueError, match="missing"):
        compose("announce", "ko", merchant=MERCHANT, product=PRODUCT)
    with pytest.raises(ValueError, match="unexpected"):
        compose("approved", "ko", approval=["digit/1"], amount=["num/1"])
    with pytest.raises(ValueError):
        compose("greet", "ko", merchant=MERCHANT)


def test_compose_rejects_a_string_for_a_slot() -> None:
    with pytest.raises(TypeError):
        compose("approved", "ko", approval="digit/1")  # type: ignore[arg-type]


def test_compose_unknown_prompt_and_language() -> None:
    with pytest.raises(KeyError):
        compose("no_such_prompt", "ko")
    with pytest.raises(ValueError):
        compose("greet", "fr")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_playable_id_has_text(language: str) -> None:
    ids = all_prompt_ids(language)
    assert len(ids) == len(set(ids))
    for prompt_id in ids:
        text = text_for(prompt_id, language)
        assert text and "{" not in text, prompt_id


@pytest.mark.parametrize("language", LANGUAGES)
def test_templates_are_played_as_fragments_only(language: str) -> None:
    ids = set(all_prompt_ids(language))
    for prompt_id in TEMPLATE_SLOTS:
        assert prompt_id not in ids
    assert set(fragment_texts(language)) <= ids


def test_text_for_pieces_and_unknowns() -> None:
    assert text_for("num/10000", "ko") == "만"
    assert text_for("num/100", "en") == "hundred"
    assert text_for("digit/0", "ko") == "공"
    assert text_for("won", "ko") == "원"
    assert text_for("months", "ko") == "개월"
    assert text_for("announce.0", "ko") == "에서 요청하신"
    assert text_for("announce.0", "en") == "has requested payment for"
    assert text_for("announce", "ko") == (
        "{merchant}에서 요청하신 {product}, 결제 금액은 {amount}입니다."
    )
    assert text_for("announce.9", "ko") is None
    assert text_for("greet.0", "ko") is None
    assert text_for("num/10000", "en") is None  # English has no 만
    assert text_for("nothing", "ko") is None
    assert text_for("greet", "xx") is None


def test_text_for_dynamic_prompt_in_this_process() -> None:
    prompt_id = dynamic_prompt_id("  카페   라떼 ")
    assert prompt_id.startswith("dyn/") and len(prompt_id) == 16
    assert text_for(prompt_id, "ko") == "카페 라떼"
    assert text_for("dyn/000000000000", "ko") is None
