"""Asking the payer for a field: prompt, collect, validate, re-prompt with the reason.

Three tries per field (configurable); ``*`` restarts the field without using a try; a timeout
says so and uses a try; the reason-specific prompt tells the payer what was wrong.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from ivr.agi.channel import Channel

MAX_RESTARTS = 5


class TooManyTries(Exception):
    """The payer did not give a valid value in the allowed number of tries."""

    def __init__(self, field: str) -> None:
        super().__init__(f"no valid {field} after the allowed tries")
        self.field = field


@dataclass(frozen=True)
class FieldSpec:
    name: str
    prompts: Sequence[str]
    min_digits: int
    max_digits: int
    terminator: bool = True
    sensitive: bool = False
    invalid_prompt: str = "invalid"
    # Returns None when valid, else a short reason (never containing the digits).
    check: Callable[[str], str | None] | None = None


@dataclass(frozen=True)
class Timing:
    first_timeout: float
    inter_digit_timeout: float
    tries: int


async def ask(
    channel: Channel,
    spec: FieldSpec,
    timing: Timing,
    on_attempt: Callable[[str, str], Awaitable[None]] | None = None,
) -> str:
    """Return the digits of a valid answer; raise TooManyTries after the last failed try."""
    tries = restarts = 0
    while tries < timing.tries:
        got = await channel.collect(
            spec.prompts,
            min_digits=spec.min_digits,
            max_digits=spec.max_digits,
            terminator=spec.terminator,
            first_timeout=timing.first_timeout,
            inter_digit_timeout=timing.inter_digit_timeout,
            sensitive=spec.sensitive,
        )
        if got.ended_by == "restart" and restarts < MAX_RESTARTS:
            restarts += 1
            continue
        tries += 1
        digits = got.digits
        if not digits and got.ended_by == "timeout":
            outcome = "timeout"
        elif not spec.min_digits <= len(digits) <= spec.max_digits or not digits.isdigit():
            outcome = "invalid_length"
        elif spec.check is not None and (reason := spec.check(digits)) is not None:
            outcome = reason
        else:
            return digits
        if on_attempt is not None:
            await on_attempt(spec.name, outcome)
        if tries < timing.tries:
            await channel.play(["timeout"] if outcome == "timeout" else [spec.invalid_prompt])
    raise TooManyTries(spec.name)


def choice_check(allowed: str) -> Callable[[str], str | None]:
    def check(digits: str) -> str | None:
        return None if digits in allowed else "not_an_option"

    return check


async def ask_choice(
    channel: Channel, name: str, prompts: Sequence[str], allowed: str, timing: Timing
) -> str:
    """A one-key menu answer among ``allowed``."""
    spec = FieldSpec(
        name=name,
        prompts=prompts,
        min_digits=1,
        max_digits=1,
        terminator=False,
        check=choice_check(allowed),
    )
    return await ask(channel, spec, timing)
