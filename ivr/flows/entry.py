"""The ``ars`` AGI script: recognise the payer by (dialled number, caller ID), hold the request
for this call, run the flow of its kind, and always leave the request in a consistent state."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from ivr.agi.channel import CallerHungUp, Channel
from ivr.domain.phones import is_mobile, normalize_did, normalize_phone
from ivr.domain.requests import ArsRequest, Kind, Status
from ivr.flows.context import CallState, FlowDeps
from ivr.flows.fields import FieldSpec, TooManyTries, ask
from ivr.flows.payment import PayerCancelled, close_open_decline, run_payment
from ivr.store.requests import IllegalTransition

log = logging.getLogger(__name__)

MISS_WINDOW_SECONDS = 3600
ENGLISH_OFFER_SECONDS = 1.5
REFUSAL_PROMPT = {
    Status.IN_CALL: "in_progress",
    Status.AUTHORIZING: "in_progress",
    Status.EXPIRED: "expired",
    Status.APPROVED: "already_paid",
    Status.CANCELLED: "request_cancelled",
}
FLOWS = {Kind.PAYMENT: run_payment}


async def _goodbye(channel: Channel, prompts: list[str]) -> None:
    await channel.play(prompts, interruptible=False)
    await channel.hangup()


async def _too_many_misses(deps: FlowDeps, who: str) -> bool:
    key = deps.services.keys.lookup_misses(who)
    count = await deps.services.redis.get(key)
    return count is not None and int(count) >= deps.services.settings.agi.lookup_misses_per_hour


async def _record_miss(deps: FlowDeps, who: str) -> None:
    key = deps.services.keys.lookup_misses(who)
    pipe = deps.services.redis.pipeline(transaction=True)
    pipe.incr(key)
    pipe.expire(key, MISS_WINDOW_SECONDS, nx=True)
    await pipe.execute()


async def _ask_mobile(channel: Channel, deps: FlowDeps) -> str | None:
    spec = FieldSpec(
        "mobile",
        ["ask_mobile"],
        10,
        11,
        terminator=True,
        check=lambda d: None if (p := normalize_phone(d)) and is_mobile(p) else "not_a_mobile",
    )
    try:
        digits = await ask(channel, spec, deps.timing)
    except TooManyTries:
        return None
    return normalize_phone(digits)


async def identify(channel: Channel, deps: FlowDeps) -> ArsRequest | None:
    """Find the request this call is for, speaking the refusal when there is none."""
    settings = deps.services.settings
    dialled = normalize_did(channel.dialled)
    caller = normalize_phone(channel.caller_id)
    withheld = caller is None
    miss_key = caller or f"withheld:{dialled}"
    if dialled is None:
        await _goodbye(channel, ["no_request"])
        return None
    if withheld and not any(m.withheld_callerid == "ask_mobile" for m in settings.merchants):
        await _goodbye(channel, ["withheld"])
        return None
    if await _too_many_misses(deps, miss_key):
        log.warning("caller over the lookup-miss limit; refusing without a lookup")
        await _goodbye(channel, ["no_request"])
        return None
    if withheld:
        caller = await _ask_mobile(channel, deps)
        if caller is None:
            await _goodbye(channel, ["too_many_tries"])
            return None
    request = await deps.services.ars.find_for_call(dialled, caller)
    if request is None:
        await _record_miss(deps, miss_key)
        await _goodbye(channel, ["no_request"])
        return None
    merchant = settings.merchant(request.merchant_id)
    if withheld and (merchant is None or merchant.withheld_callerid != "ask_mobile"):
        await _goodbye(channel, ["withheld"])
        return None
    return request


async def _offer_english(channel: Channel) -> None:
    if await channel.offer(["language_switch"], "9", ENGLISH_OFFER_SECONDS) == "9":
        channel.language = "en"


async def identify_outbound(channel: Channel, deps: FlowDeps, request_id: str) -> ArsRequest | None:
    """A call arspay had Asterisk place to the payer (AMI Originate into ``[arspay-outbound]``):
    the dialplan names the request, and the extension must be that request's virtual number.
    The caller ID of such a channel is ours, so it proves nothing and is not looked at."""
    request = await deps.services.store.get(request_id)
    if request is None or normalize_did(channel.dialled) != request.virtual_number:
        await _goodbye(channel, ["no_request"])
        return None
    return request


async def handle_ars_call(channel: Channel, deps: FlowDeps, args: Sequence[str] = ()) -> None:
    """Entry point of the ``ars`` script for one call; ``args`` are the dialplan's AGI
    arguments (``outbound,<request id>`` for a call placed to the payer)."""
    call: CallState | None = None
    try:
        # Asterisk's channel language says nothing about the payer: greet in the default one.
        channel.language = deps.services.settings.agi.default_language
        await channel.answer()
        await channel.play(["greet"])
        if len(args) >= 2 and args[0] == "outbound":
            request = await identify_outbound(channel, deps, args[1])
        else:
            request = await identify(channel, deps)
        if request is None:
            return
        merchant = deps.services.settings.merchant(request.merchant_id)
        if merchant is None:
            await _goodbye(channel, ["no_request"])
            return
        try:
            request, call_id = await deps.services.ars.claim_for_call(request)
        except IllegalTransition as exc:
            status = Status(exc.current) if exc.current in set(Status) else None
            await _goodbye(channel, [REFUSAL_PROMPT.get(status, "no_request")])
            return
        call = CallState(channel, deps, merchant, request, call_id)
        channel.language = merchant.language
        await call.event("caller_identified", language=channel.language)
        if merchant.english_enabled and channel.language != "en":
            await _offer_english(channel)
        flow = FLOWS.get(request.kind)
        if flow is None:
            await _goodbye(channel, ["system_error"])
            return
        try:
            await flow(call)
        except PayerCancelled:
            call.request = await deps.services.ars.cancel_by_payer(call.request)
            await _goodbye(channel, ["cancelled_by_payer"])
            return
        except TooManyTries as exc:
            await call.event("too_many_tries", field=exc.field)
            await _goodbye(channel, ["too_many_tries"])
            return
        await channel.hangup()
    except CallerHungUp:
        log.info("caller hung up (%s)", call.request.id if call else "unidentified")
    finally:
        if call is not None:
            await asyncio.shield(_release(call))


async def _release(call: CallState) -> None:
    """Whatever happened, a request this call still holds goes back (or becomes final)."""
    ars = call.deps.services.ars
    try:
        await close_open_decline(call)
        # end_call re-reads the request and only acts while this call still holds it.
        await ars.end_call(call.request, call.call_id, reason="caller_left")
    except Exception:
        log.exception("could not release request %s after the call", call.request.id)
