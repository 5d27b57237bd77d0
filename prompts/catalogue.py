"""Every prompt the payment IVR plays: id → Korean and English text, and how ids are composed.

A prompt text may contain `{slot}`s. Such a template is never played whole: `compose` cuts it
into fixed fragments (`<id>.<n>`, n counting the fragments of that language's text in order)
with the caller's prompt-id lists in the slots. Korean and English put the slots in different
orders, so each language has its own fragments.

The FastAGI channel plays an id as the file `arspay/<language>/<id>`; `prompts.build` renders
the files. `text_for` turns any playable id back into display text (terminal softphone, logs
of what was played).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from prompts import numbers
from prompts.dynamic import dynamic_text

LANGUAGES: tuple[str, ...] = ("ko", "en")


@dataclass(frozen=True)
class Prompt:
    id: str
    ko: str
    en: str
    # Render with this language's voice in every directory (e.g. the English-language hint
    # that the Korean greeting plays).
    voice: str | None = None

    def text(self, language: str) -> str:
        if language not in LANGUAGES:
            raise ValueError(f"unsupported language {language!r}; expected one of {LANGUAGES}")
        return self.ko if language == "ko" else self.en


DECLINE_CATEGORIES: tuple[str, ...] = (
    "insufficient_limit",
    "invalid_card",
    "expired_card",
    "wrong_pin",
    "wrong_identity",
    "stopped_or_lost",
    "installment_not_allowed",
    "amount_not_allowed",
    "other",
)

_PROMPTS: tuple[Prompt, ...] = (
    # --- call start and caller recognition ---
    Prompt("greet", "안녕하세요. ARS 결제 서비스입니다.",
           "Hello, this is the ARS payment service."),
    Prompt("language_switch", "For English, press 9.", "For English, press 9.", voice="en"),
    Prompt("no_request",
           "요청된 결제 내역이 없습니다. 문자로 받으신 번호로 다시 걸어 주십시오.",
           "There is no pending payment for this phone. "
           "Please call the number in the text message you received."),
    Prompt("withheld",
           "발신번호 표시 제한으로는 결제하실 수 없습니다. "
           "발신번호를 표시하고 다시 걸어 주십시오.",
           "Payments cannot be made with a hidden caller ID. "
           "Please call again with your number shown."),
    Prompt("ask_mobile",
           "결제 요청 문자를 받으신 휴대폰 번호를 누르신 후 우물정자를 눌러 주십시오.",
           "Please enter the mobile number that received the payment request, "
           "then press the hash key."),
    Prompt("in_progress",
           "이 결제 요청은 다른 통화에서 진행 중입니다. 잠시 후 다시 걸어 주십시오.",
           "This payment request is being handled on another call. Please call again later."),
    Prompt("expired",
           "결제 요청 기한이 지났습니다. 결제를 요청한 곳에 다시 문의해 주십시오.",
           "This payment request has expired. Please contact the merchant again."),
    Prompt("request_cancelled", "취소된 결제 요청입니다.",
           "This payment request has been cancelled."),
    Prompt("already_paid", "이미 결제가 완료된 요청입니다.",
           "This request has already been paid."),
    # --- the order ---
    Prompt("announce",
           "{merchant}에서 요청하신 {product}, 결제 금액은 {amount}입니다.",
           "{merchant} has requested payment for {product}. The amount is {amount}."),
    Prompt("confirm", "결제하시려면 1번, 취소하시려면 2번을 눌러 주십시오.",
           "To pay, press 1. To cancel, press 2."),
    # --- card data ---
    Prompt("card_number", "카드번호를 모두 누르신 후 우물정자를 눌러 주십시오.",
           "Please enter your card number, then press the hash key."),
    Prompt("expiry", "카드 유효기간 네 자리를 월, 년 순서로 눌러 주십시오.",
           "Please enter the card's expiry date as four digits, month first, then year."),
    Prompt("identity",
           "생년월일 여섯 자리를, 법인카드는 사업자번호 열 자리를 누르신 후 "
           "우물정자를 눌러 주십시오.",
           "Please enter your date of birth as six digits, year, month and day, or for a "
           "corporate card the ten-digit business registration number, then press the hash key."),
    Prompt("birthdate_only", "생년월일 여섯 자리를 눌러 주십시오.",
           "Please enter your date of birth as six digits: year, month and day."),
    Prompt("pin", "카드 비밀번호 앞 두 자리를 눌러 주십시오.",
           "Please enter the first two digits of your card PIN."),
    Prompt("installments",
           "일시불은 0번, 할부는 개월 수를 누르신 후 우물정자를 눌러 주십시오.",
           "For a single payment, press 0. For installments, enter the number of months, "
           "then press the hash key."),
    Prompt("readback",
           "끝자리 {last4} 카드로 {amount}을 결제합니다. "
           "맞으시면 1번, 다시 입력하시려면 2번을 눌러 주십시오.",
           "You are paying {amount} with the card ending in {last4}. "
           "If this is correct, press 1. To enter it again, press 2."),
    # --- input problems ---
    Prompt("invalid", "잘못 입력하셨습니다. 다시 입력해 주십시오.",
           "That input is not valid. Please try again."),
    Prompt("card_number_invalid", "카드번호가 올바르지 않습니다.",
           "The card number is not valid."),
    Prompt("expiry_invalid", "유효기간이 올바르지 않습니다.",
           "The expiry date is not valid."),
    Prompt("identity_invalid", "생년월일 또는 사업자번호가 올바르지 않습니다.",
           "The date of birth or business number is not valid."),
    Prompt("pin_invalid", "카드 비밀번호 앞 두 자리가 올바르지 않습니다.",
           "The two PIN digits are not valid."),
    Prompt("installments_invalid", "선택하실 수 없는 할부 개월 수입니다.",
           "That number of installment months is not available."),
    Prompt("timeout", "입력 시간이 초과되었습니다.", "The time for input has run out."),
    Prompt("too_many_tries",
           "입력 횟수를 초과하여 통화를 종료합니다. 다시 걸어 주십시오.",
           "Too many attempts. This call will now end. Please call again."),
    # --- result ---
    Prompt("wait", "결제를 진행하고 있습니다. 잠시만 기다려 주십시오.",
           "Your payment is being processed. Please wait a moment."),
    Prompt("approved",
           "결제가 완료되었습니다. 승인번호는 {approval}입니다. 이용해 주셔서 감사합니다.",
           "Your payment is complete. The approval number is {approval}. Thank you."),
    Prompt("declined", "결제가 승인되지 않았습니다.", "The payment was not approved."),
    Prompt("reason_insufficient_limit", "카드 한도가 부족합니다.",
           "The card limit is not sufficient."),
    Prompt("reason_invalid_card", "사용하실 수 없는 카드입니다. 카드번호를 확인해 주십시오.",
           "This card cannot be used. Please check the card number."),
    Prompt("reason_expired_card", "유효기간이 지났거나 맞지 않는 카드입니다.",
           "The card has expired, or the expiry date does not match."),
    Prompt("reason_wrong_pin", "카드 비밀번호가 맞지 않습니다.",
           "The card PIN does not match."),
    Prompt("reason_wrong_identity", "생년월일 또는 사업자번호가 카드 정보와 맞지 않습니다.",
           "The date of birth or business number does not match the card."),
    Prompt("reason_stopped_or_lost",
           "거래가 정지되었거나 분실 신고된 카드입니다. 카드사에 문의해 주십시오.",
           "This card is suspended or reported lost. Please contact your card company."),
    Prompt("reason_installment_not_allowed", "이 카드로는 할부 결제를 하실 수 없습니다.",
           "Installments are not available with this card."),
    Prompt("reason_amount_not_allowed", "결제하실 수 없는 금액입니다.",
           "This amount cannot be charged."),
    Prompt("reason_other", "카드사에서 결제를 거절했습니다. 카드사에 문의해 주십시오.",
           "The card company declined the payment. Please contact your card company."),
    Prompt("retry_other_card",
           "다른 카드로 다시 결제하시려면 1번, 종료하시려면 2번을 눌러 주십시오.",
           "To try again with another card, press 1. To end the call, press 2."),
    Prompt("cancelled_by_payer", "결제를 취소하셨습니다.", "You have cancelled the payment."),
    Prompt("goodbye", "이용해 주셔서 감사합니다. 안녕히 계십시오.",
           "Thank you for calling. Goodbye."),
    Prompt("system_error",
           "시스템 오류로 결제를 진행할 수 없습니다. 잠시 후 다시 걸어 주십시오.",
           "Because of a system error, the payment cannot be processed. "
           "Please call again later."),
    # --- billing keys (auto-payment) ---
    Prompt("billing_register_terms",
           "{merchant}에서 {product} 정기결제에 사용할 카드 등록을 요청했습니다. "
           "등록하신 카드로 이후 요금이 자동으로 결제됩니다.",
           "{merchant} has asked you to register a card for automatic payments for "
           "{product}. Future charges will be made to the registered card automatically."),
    Prompt("consent", "동의하시면 1번, 동의하지 않으시면 2번을 눌러 주십시오.",
           "To agree, press 1. To decline, press 2."),
    Prompt("billing_registered", "카드 등록이 완료되었습니다. 이용해 주셔서 감사합니다.",
           "Your card has been registered. Thank you."),
    Prompt("billing_charge_announce",
           "{merchant}에서 {product} 요금 {amount}의 결제를 요청했습니다.",
           "{merchant} has requested a payment of {amount} for {product}."),
    Prompt("registered_card", "등록된 카드는 {brand} 끝자리 {last4} 카드입니다.",
           "Your registered card is the {brand} card ending in {last4}."),
    Prompt("use_registered_or_other",
           "등록된 카드로 결제하시려면 1번, 다른 카드로 결제하시려면 2번을 눌러 주십시오.",
           "To pay with the registered card, press 1. To use another card, press 2."),
)  # fmt: skip

# Card companies the PGs name (Toss `card.company`, PortOne `card_name`), for `{brand}`.
_BRANDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    # key: (ko, en, names the PGs use besides the ko text)
    "shinhan": ("신한카드", "Shinhan", ("신한",)),
    "kb": ("국민카드", "KB Kookmin", ("국민", "kb국민", "kb국민카드", "kb")),
    "samsung": ("삼성카드", "Samsung", ("삼성",)),
    "hyundai": ("현대카드", "Hyundai", ("현대",)),
    "lotte": ("롯데카드", "Lotte", ("롯데",)),
    "hana": ("하나카드", "Hana", ("하나", "하나sk", "외환")),
    "woori": ("우리카드", "Woori", ("우리",)),
    "nh": ("농협카드", "NH", ("농협", "nh농협", "nh농협카드", "nh")),
    "bc": ("비씨카드", "BC", ("비씨", "bc", "bc카드")),
    "citi": ("씨티카드", "Citi", ("씨티", "citi")),
    "kakaobank": ("카카오뱅크", "Kakao Bank", ("카카오뱅크카드",)),
    "kbank": ("케이뱅크", "K Bank", ("케이뱅크카드",)),
    "suhyup": ("수협카드", "Suhyup", ("수협",)),
    "jeonbuk": ("전북카드", "Jeonbuk", ("전북",)),
    "kwangju": ("광주카드", "Kwangju", ("광주",)),
    "jeju": ("제주카드", "Jeju", ("제주",)),
    "shinhyup": ("신협카드", "Shinhyup", ("신협",)),
    "post": ("우체국카드", "Post Office", ("우체국", "우체국체크")),
    "mg": ("새마을금고카드", "MG", ("새마을", "새마을금고", "mg새마을금고")),
    "kdb": ("산업은행카드", "KDB", ("산업", "산업은행", "kdb산업은행")),
    "visa": ("비자카드", "Visa", ("비자", "visa")),
    "master": ("마스터카드", "Mastercard", ("마스터", "master", "mastercard")),
    "jcb": ("제이씨비카드", "JCB", ("jcb", "제이씨비")),
    "amex": ("아멕스카드", "American Express", ("아멕스", "amex", "americanexpress")),
    "unionpay": ("은련카드", "UnionPay", ("은련", "unionpay")),
}

_BRAND_PROMPTS = tuple(Prompt(f"brand/{key}", ko, en) for key, (ko, en, _) in _BRANDS.items())

PROMPTS: Mapping[str, Prompt] = {p.id: p for p in (*_PROMPTS, *_BRAND_PROMPTS)}

_SLOT = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_FRAGMENT_ID = re.compile(r"^(?P<base>[a-z_][a-z0-9_/]*)\.(?P<n>\d+)$")


def _brand_key(name: str) -> str:
    return re.sub(r"[\s\-_.()]", "", name).lower()


_BRAND_LOOKUP: dict[str, str] = {}
for _key, (_ko, _en, _aliases) in _BRANDS.items():
    for _name in (_ko, _en, _key, *_aliases):
        _BRAND_LOOKUP[_brand_key(_name)] = f"brand/{_key}"


def decline_reason_prompt(category: str) -> str:
    """The reason prompt for a decline category; unknown categories get `reason_other`."""
    return f"reason_{category}" if category in DECLINE_CATEGORIES else "reason_other"


def card_brand_prompt(company: str) -> str | None:
    """`brand/<key>` for a card company name as PGs give it ("신한", "KB국민카드"), else None.

    Unknown names can be spoken with `DynamicPrompts.ensure(name, language)` instead.
    """
    key = _brand_key(company)
    if key in _BRAND_LOOKUP:
        return _BRAND_LOOKUP[key]
    if key.endswith("카드"):
        return _BRAND_LOOKUP.get(key[: -len("카드")])
    return None


# --- templates --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    fragment_id: str | None  # a fixed fragment to play
    slot: str | None  # or a slot to fill


def _is_spoken(fragment: str) -> bool:
    return any(c.isalnum() for c in fragment)


def _clean_fragment(fragment: str) -> str:
    return fragment.strip().lstrip(",.;:!? ").strip()


def _parse(prompt: Prompt, language: str) -> tuple[list[_Part], dict[str, str]]:
    """Parts in playing order and the fragment texts {fragment id: text}."""
    text = prompt.text(language)
    parts: list[_Part] = []
    fragments: dict[str, str] = {}
    pos = 0
    for match in [*_SLOT.finditer(text), None]:
        end = match.start() if match else len(text)
        piece = text[pos:end]
        if _is_spoken(piece):
            fid = f"{prompt.id}.{len(fragments)}"
            fragments[fid] = _clean_fragment(piece)
            parts.append(_Part(fid, None))
        if match:
            parts.append(_Part(None, match.group(1)))
            pos = match.end()
    return parts, fragments


def slots_of(prompt_id: str, language: str = "ko") -> tuple[str, ...]:
    """Slot names of a template in the order the language speaks them; () for plain prompts."""
    return tuple(_SLOT.findall(_prompt(prompt_id).text(language)))


def is_template(prompt_id: str) -> bool:
    return bool(slots_of(prompt_id))


def _prompt(prompt_id: str) -> Prompt:
    try:
        return PROMPTS[prompt_id]
    except KeyError:
        raise KeyError(f"unknown prompt id {prompt_id!r}") from None


def compose(prompt_id: str, language: str, **slots: Sequence[str]) -> list[str]:
    """The prompt ids to play for a prompt, its slots filled with the given id lists.

    `compose("announce", "ko", merchant=[...], product=[...], amount=amount_prompts(28500))`
    → `[<merchant ids>, "announce.0", <product ids>, "announce.1", <amount ids>, "announce.2"]`.
    """
    prompt = _prompt(prompt_id)
    parts, _ = _parse(prompt, language)
    wanted = {p.slot for p in parts if p.slot}
    if set(slots) != wanted:
        missing = sorted(wanted - set(slots))
        extra = sorted(set(slots) - wanted)
        raise ValueError(
            f"prompt {prompt_id!r} takes slots {sorted(wanted)}; missing {missing}, "
            f"unexpected {extra}"
        )
    for name, ids in slots.items():
        if isinstance(ids, str) or not all(isinstance(i, str) and i for i in ids):
            raise TypeError(f"slot {name!r} must be a list of prompt ids, not a string")
    if not parts or not wanted:
        return [prompt_id]
    out: list[str] = []
    for part in parts:
        if part.fragment_id:
            out.append(part.fragment_id)
        else:
            out.extend(slots[part.slot])  # type: ignore[index]
    return out


def fragment_texts(language: str) -> dict[str, str]:
    """Every template fragment of the language: {fragment id: text}."""
    return dict(_fragment_texts(language))


@functools.cache
def _fragment_texts(language: str) -> Mapping[str, str]:
    out: dict[str, str] = {}
    for prompt in PROMPTS.values():
        if _SLOT.search(prompt.text(language)):
            out.update(_parse(prompt, language)[1])
    return out


# --- what gets played and shown ---------------------------------------------------------------


def playable_texts(language: str) -> dict[str, tuple[str, str]]:
    """Every fixed id a call can play in the language: {id: (text, voice language)}."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}; expected one of {LANGUAGES}")
    out: dict[str, tuple[str, str]] = {}
    for prompt in PROMPTS.values():
        text = prompt.text(language)
        if not _SLOT.search(text):
            out[prompt.id] = (text, prompt.voice or language)
    for fid, text in fragment_texts(language).items():
        out[fid] = (text, language)
    pieces = [*numbers.number_piece_ids(language), *numbers.digit_piece_ids()]
    for pid in [*pieces, *numbers.UNIT_TEXTS[language]]:
        out[pid] = (numbers.piece_text(pid, language) or "", language)
    return out


def all_prompt_ids(language: str) -> list[str]:
    return list(playable_texts(language))


def text_for(prompt_id: str, language: str, sounds_dir: str | Path | None = None) -> str | None:
    """Display text of any playable id: catalogue ids (templates show their `{slots}`),
    fragments (`announce.0`), numbers (`num/10000`), digits, units, brands and dynamic ids
    (`dyn/…`, from this process's memory or `<sounds_dir>/<language>/dyn/<hex>.txt`)."""
    if language not in LANGUAGES:
        return None
    if prompt_id in PROMPTS:
        return PROMPTS[prompt_id].text(language)
    piece = numbers.piece_text(prompt_id, language)
    if piece is not None:
        return piece
    if prompt_id.startswith("dyn/"):
        return dynamic_text(prompt_id, language, sounds_dir)
    match = _FRAGMENT_ID.match(prompt_id)
    if match and match.group("base") in PROMPTS:
        return _fragment_texts(language).get(prompt_id)
    return None


def display_text(
    prompt_ids: Iterable[str], language: str, sounds_dir: str | Path | None = None
) -> str:
    """What a list of ids says, as one line (unknown ids shown as `<id>`)."""
    out = ""
    previous = ""
    for pid in prompt_ids:
        text = text_for(pid, language, sounds_dir)
        text = text if text is not None else f"<{pid}>"
        if out and not (language == "ko" and _joins_korean(previous, pid)):
            out += " "
        out += text
        previous = pid
    return out


_KO_GROUP_ENDS = {"num/10000", "num/100000000", "num/1000000000000"}


def _joins_korean(previous: str, current: str) -> bool:
    """Korean writes 이만 팔천오백원 and 일이삼사: pieces join except after 만, 억, 조."""
    if previous.startswith("num/") and previous not in _KO_GROUP_ENDS:
        return current.startswith("num/") or current == "won"
    if previous in _KO_GROUP_ENDS:
        return current == "won"
    return previous.startswith("digit/") and current.startswith("digit/")


def _check_catalogue() -> None:
    for prompt in PROMPTS.values():
        ko, en = set(slots_of(prompt.id, "ko")), set(slots_of(prompt.id, "en"))
        if ko != en:
            raise AssertionError(f"prompt {prompt.id!r}: slots differ between ko and en")
        if "." in prompt.id:
            raise AssertionError(f"prompt id {prompt.id!r} must not contain '.'")


_check_catalogue()
