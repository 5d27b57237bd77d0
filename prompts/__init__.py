"""Prompt catalogue (id → Korean/English text), number reading, dynamic prompts, audio build."""

from prompts.catalogue import (
    DECLINE_CATEGORIES,
    LANGUAGES,
    PROMPTS,
    all_prompt_ids,
    card_brand_prompt,
    compose,
    decline_reason_prompt,
    display_text,
    text_for,
)
from prompts.dynamic import DynamicPrompts, dynamic_prompt_id
from prompts.numbers import (
    amount_prompts,
    digit_prompts,
    korean_reading,
    months_prompts,
    number_prompts,
)

__all__ = [
    "DECLINE_CATEGORIES",
    "LANGUAGES",
    "PROMPTS",
    "DynamicPrompts",
    "all_prompt_ids",
    "amount_prompts",
    "card_brand_prompt",
    "compose",
    "decline_reason_prompt",
    "digit_prompts",
    "display_text",
    "dynamic_prompt_id",
    "korean_reading",
    "months_prompts",
    "number_prompts",
    "text_for",
]
