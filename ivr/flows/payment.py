"""The ``payment`` call: announce → confirm → card entry → installments → read-back →
authorize → result, per shared/reference/call-script.md."""

from __future__ import annotations

import asyncio
import logging

from ivr.flows.context import CallState
from ivr.flows.fields import FieldSpec, TooManyTries, ask, ask_choice
from pg_client.base import Order, idempotency_key_for, order_id_for
from pg_client.card import (
    CardData,
    check_card_number,
    check_expiry,
    check_identity,
    check_pin2,
)
from pg_client.outcomes import Approved, Declined, InDoubt
from pg_client.recovery import authorize_with_recovery
from prompts.catalogue import compose, decline_reason_prompt
from prompts.numbers import amount_prompts, digit_prompts

log = logging.getLogger(__name__)

MAX_REENTRIES = 2


class PayerCancelled(Exception):
    """The payer chose not to pay (2 at the confirmation)."""


async def announce(call: CallState) -> None:
    lang = call.language
    dynamic = call.deps.dynamic_prompts
    merchant = await dynamic.ensure(call.merchant.display_name, lang)
    product = await dynamic.ensure(call.request.product_name, lang)
    await call.channel.play(
        compose(
            "announce",
            lang,
            merchant=[merchant],
            product=[product],
            amount=amount_prompts(call.request.amount, lang),
        )
    )


CARD_NUMBER = FieldSpec("card_number", ["card_number"], 13, 19, terminator=True, sensitive=True,
                        invalid_prompt="card_number_invalid", check=check_card_number)
EXPIRY = FieldSpec("expiry", ["expiry"], 4, 4, terminator=False, sensitive=True,
                   invalid_prompt="expiry_invalid", check=check_expiry)
IDENTITY = FieldSpec("identity", ["identity"], 6, 10, terminator=True, sensitive=True,
                     invalid_prompt="identity_invalid", check=check_identity)
PIN = FieldSpec("pin", ["pin"], 2, 2, terminator=False, sensitive=True,
                invalid_prompt="pin_invalid", check=check_pin2)


async def _step(call: CallState, name: str) -> None:
    await call.event("step", step=name)


async def _ask(call: CallState, spec: FieldSpec) -> str:
    """One field: the step event (never digits), the question, and each rejection's reason."""
    await _step(call, spec.name)

    async def rejected(field: str, reason: str) -> None:
        await call.event("input_rejected", field=field, reason=reason)

    return await ask(call.channel, spec, call.deps.timing, rejected)


def _installments(maximum: int) -> FieldSpec:
    def check(digits: str) -> str | None:
        months = int(digits)
        return None if months == 0 or 2 <= months <= maximum else "months_not_allowed"

    return FieldSpec("installments", ["installments"], 1, 2, terminator=True,
                     invalid_prompt="installments_invalid", check=check)


def installments_offered(call: CallState) -> int:
    """The largest number of months the payer may choose, or 0 when not offered."""
    minimum = call.deps.services.settings.requests.installment_min_amount
    months = min(call.request.max_installment_months, call.merchant.max_installment_months)
    return months if call.request.amount >= minimum and months >= 2 else 0


async def collect_card(call: CallState) -> tuple[CardData, int]:
    """Card number, expiry, identity, PIN, installments and the read-back confirmation."""
    lang = call.language
    for _ in range(MAX_REENTRIES + 1):
        number = await _ask(call, CARD_NUMBER)
        expiry = await _ask(call, EXPIRY)
        identity = await _ask(call, IDENTITY) if call.merchant.require_birthdate else None
        pin2 = await _ask(call, PIN) if call.merchant.require_pin else None
        card = CardData.create(number, expiry, identity=identity, pin2=pin2)
        del number, expiry, identity, pin2
        maximum = installments_offered(call)
        months = int(await _ask(call, _installments(maximum))) if maximum else 0
        await _step(call, "readback")
        readback = compose("readback", lang, last4=digit_prompts(card.last4, lang),
                           amount=amount_prompts(call.request.amount, lang))
        if await ask_choice(call.channel, "readback", readback, "12", call.deps.timing) == "1":
            return card, months
        card.wipe()
    raise TooManyTries("readback")


async def _authorize(call: CallState, card: CardData, months: int) -> Approved | Declined | InDoubt:
    """Runs to the end even if the payer hangs up: the PG's answer is always recorded."""
    ars = call.deps.services.ars
    request = await ars.begin_authorization(call.request)
    call.request = request
    attempt = request.pg_attempts
    order = Order(
        order_id=order_id_for(request.id, attempt),
        order_name=request.product_name[:100],
        amount=request.amount,
        customer_name=request.payer_name,
        idempotency_key=idempotency_key_for(request.id, attempt, "authorize"),
    )
    client = call.deps.pg_for(call.merchant)
    try:
        outcome = await authorize_with_recovery(
            client, lambda: client.authorize_keyed(order, card, months), order.order_id
        )
    finally:
        masked = card.masked
        card.wipe()
    if isinstance(outcome, Approved):
        call.request = await ars.record_approval(request, outcome)
    elif isinstance(outcome, Declined):
        retry = call.open_decline is None and call.notes.get("retries_left", 0) > 0
        call.request = await ars.record_decline(request, outcome, masked, final=not retry)
        if retry:
            call.open_decline = (outcome, masked)
    else:
        await ars.record_in_doubt(request, outcome.reason)
    log.info("request %s attempt %d: %s", request.id, attempt, type(outcome).__name__)
    return outcome


async def run_payment(call: CallState) -> None:
    ch, timing, lang = call.channel, call.deps.timing, call.language
    await _step(call, "announce")
    await announce(call)
    await _step(call, "confirm")
    if await ask_choice(ch, "confirm", ["confirm"], "12", timing) == "2":
        raise PayerCancelled
    call.notes["retries_left"] = call.merchant.decline_retries
    while True:
        card, months = await collect_card(call)
        await ch.play(["wait"], interruptible=False)
        # Shielded: a hangup (task cancellation) must not cut the PG call or its recording.
        task = call.deps.services.background.spawn(
            _authorize(call, card, months), f"authorize:{call.request.id}"
        )
        outcome = await asyncio.shield(task)
        if isinstance(outcome, Approved):
            await ch.play(
                compose("approved", lang, approval=digit_prompts(outcome.approval_number, lang)),
                interruptible=False,
            )
            return
        if isinstance(outcome, InDoubt):
            await ch.play(["system_error"], interruptible=False)
            return
        reason = [decline_reason_prompt(outcome.category.value)]
        if call.open_decline is None:  # final decline already recorded
            await ch.play(["declined", *reason, "goodbye"], interruptible=False)
            return
        await ch.play(["declined", *reason])
        call.notes["retries_left"] -= 1
        if await ask_choice(ch, "retry", ["retry_other_card"], "12", timing) != "1":
            await close_open_decline(call)
            await ch.play(["goodbye"], interruptible=False)
            return
        call.open_decline = None


async def close_open_decline(call: CallState) -> None:
    """Make a decline the payer did not answer with another card final."""
    if call.open_decline is None:
        return
    declined, masked = call.open_decline
    call.open_decline = None
    call.request = await call.deps.services.ars.record_decline(
        call.request, declined, masked, final=True
    )
