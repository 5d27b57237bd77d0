"""The Channel API that flows use, driven by the simulated Asterisk and virtual-time payers:
play, collect (type-ahead, * restart, stray #, two timeouts, max_digits), hangups, missing
prompt files, and no card digits in the logs."""

from __future__ import annotations

import asyncio
import logging

import pytest
from agi_helpers import BIRTH, CARD, EXPIRY, PIN, Outcome, StartServer, demo_payment

from ivr.agi import AgiCall, CallerHungUp, Collected, PromptMissing
from ivr.agi.payer import Disconnect, HangUp, Keys, OnPrompt, Payer, Silence, TypeAhead
from ivr.agi.simulator import PRES_RESTRICTED, CallTranscript, SimulatedCall


async def place(start_server: StartServer, body, payer: Payer, **call_options) -> tuple[
        Outcome, CallTranscript]:
    outcome = Outcome()
    server_options = call_options.pop("server_options", {})
    server = await start_server({"ars": outcome.wrap(body)}, **server_options)
    call_options.setdefault("language", "ko")
    transcript = await SimulatedCall("127.0.0.1", server.port, payer=payer,
                                     **call_options).run()
    await outcome.wait()
    assert transcript.protocol_violations == []
    return outcome, transcript


def collect_one(prompts: list[str], **options) -> object:
    options.setdefault("min_digits", 1)
    options.setdefault("max_digits", 1)

    async def body(call: AgiCall) -> Collected:
        return await call.channel.collect(prompts, **options)
    return body


# --- the payment call, end to end --------------------------------------------------------------

async def test_payer_keys_a_whole_payment(start_server: StartServer) -> None:
    payer = Payer.scripted([
        OnPrompt("confirm", Keys("1")),
        OnPrompt("card_number", Keys(CARD + "#", gap_ms=200)),
        OnPrompt("expiry", Keys(EXPIRY)),
        OnPrompt("identity", Keys(BIRTH + "#")),
        OnPrompt("pin", Keys(PIN)),
    ])
    outcome, transcript = await place(start_server, demo_payment, payer)
    assert outcome.value == {"confirm": "1", "card": CARD, "expiry": EXPIRY, "birth": BIRTH,
                             "pin": PIN}
    assert transcript.heard == ["greet", "announce", "confirm", "card_number", "expiry",
                                "identity", "pin", "approved"]
    assert transcript.files[0] == "arspay/ko/greet"
    assert transcript.ended_by == "server_hangup"
    assert transcript.keys_left == ""


async def test_sequence_payer_reads_like_the_call(start_server: StartServer) -> None:
    payer = Payer.sequence([Keys("1"), Keys(CARD + "#"), Keys(EXPIRY), Keys(BIRTH + "#"),
                            Keys(PIN)])
    outcome, _ = await place(start_server, demo_payment, payer)
    assert outcome.value["card"] == CARD and outcome.value["pin"] == PIN


# --- play --------------------------------------------------------------------------------------

async def test_play_uses_prefix_language_and_order(start_server: StartServer) -> None:
    async def body(call: AgiCall) -> None:
        await call.channel.play(["greet", "num/2", "num/10000", "won"])
        call.channel.language = "en"
        await call.channel.play(["bye"], interruptible=False)

    _, transcript = await place(start_server, body, Payer.silent(),
                                server_options={"sound_prefix": "shop"}, sound_prefix="shop")
    assert transcript.files == ["shop/ko/greet", "shop/ko/num/2", "shop/ko/num/10000",
                                "shop/ko/won", "shop/en/bye"]
    assert transcript.heard == ["greet", "num/2", "num/10000", "won", "bye"]
    assert transcript.commands[-1] == 'STREAM FILE shop/en/bye ""'


async def test_key_during_play_stops_it_and_is_the_next_fields_first_digit(
        start_server: StartServer) -> None:
    async def body(call: AgiCall) -> Collected:
        await call.channel.play(["announce_1", "announce_2", "announce_3"])
        return await call.channel.collect(["confirm"], min_digits=1, max_digits=1)

    payer = Payer.scripted([OnPrompt("announce_2", TypeAhead("2", at_ms=300))])
    outcome, transcript = await place(start_server, body, payer)
    assert outcome.value == Collected("2", "max_digits")
    assert transcript.heard == ["announce_1", "announce_2"]  # neither 3 nor confirm played
    assert transcript.prompts[1].interrupted_by == "2"


async def test_keys_during_a_non_interruptible_play_are_lost(start_server: StartServer) -> None:
    async def body(call: AgiCall) -> Collected:
        await call.channel.play(["terms"], interruptible=False)
        return await call.channel.collect(["confirm"], min_digits=1, max_digits=1)

    payer = Payer.scripted([OnPrompt("terms", TypeAhead("9")), OnPrompt("confirm", Keys("1"))])
    outcome, transcript = await place(start_server, body, payer)
    assert outcome.value == Collected("1", "max_digits")
    assert transcript.keys_dropped == "9"
    assert transcript.heard == ["terms", "confirm"]


# --- collect -----------------------------------------------------------------------------------

async def test_hash_ends_variable_input_and_is_not_included(start_server: StartServer) -> None:
    payer = Payer.sequence([Keys("123456#")])
    outcome, _ = await place(start_server, collect_one(["identity"], min_digits=6,
                                                       max_digits=10), payer)
    assert outcome.value == Collected("123456", "terminator")


async def test_keys_typed_during_the_prompt_count(start_server: StartServer) -> None:
    payer = Payer.scripted([OnPrompt("card_number", TypeAhead(CARD + "#", at_ms=200))])
    outcome, transcript = await place(
        start_server, collect_one(["card_number"], min_digits=13, max_digits=19), payer)
    assert outcome.value == Collected(CARD, "terminator")
    assert transcript.prompts[0].interrupted_by == CARD[0]
    assert transcript.prompts[0].played_ms == 200


async def test_key_during_an_earlier_prompt_of_the_field_skips_the_rest(
        start_server: StartServer) -> None:
    payer = Payer.scripted([OnPrompt("card_intro", TypeAhead(CARD + "#"))])
    outcome, transcript = await place(
        start_server, collect_one(["card_intro", "card_number"], min_digits=13,
                                  max_digits=19), payer)
    assert outcome.value.digits == CARD
    assert transcript.heard == ["card_intro"]


async def test_star_restarts_the_field_at_once(start_server: StartServer) -> None:
    async def body(call: AgiCall) -> list[Collected]:
        first = await call.channel.collect(["card_number"], min_digits=13, max_digits=19)
        again = await call.channel.collect(["card_number"], min_digits=13, max_digits=19)
        return [first, again]

    payer = Payer.scripted([OnPrompt("card_number", Keys("4111*")),
                            OnPrompt("card_number", Keys(CARD + "#"))])
    outcome, transcript = await place(start_server, body, payer)
    assert outcome.value == [Collected("", "restart"), Collected(CARD, "terminator")]
    assert transcript.heard == ["card_number", "card_number"]


async def test_stray_hash_left_from_a_fixed_field_is_ignored(start_server: StartServer) -> None:
    async def body(call: AgiCall) -> list[Collected]:
        expiry = await call.channel.collect(["expiry"], min_digits=4, max_digits=4,
                                            terminator=False)
        birth = await call.channel.collect(["identity"], min_digits=6, max_digits=10)
        return [expiry, birth]

    # The payer types "0827#" out of habit; the '#' lands on the next field's prompt.
    payer = Payer.scripted([OnPrompt("expiry", Keys(EXPIRY + "#")),
                            OnPrompt("identity", Keys(BIRTH + "#"), every_time=False)])
    outcome, transcript = await place(start_server, body, payer)
    assert outcome.value == [Collected(EXPIRY, "max_digits"), Collected(BIRTH, "terminator")]
    # The identity prompt the stray '#' cut short is played again.
    assert transcript.heard == ["expiry", "identity", "identity"]
    assert transcript.prompts[1].interrupted_by == "#"


async def test_hash_first_is_an_empty_entry_when_the_field_is_optional(
        start_server: StartServer) -> None:
    payer = Payer.sequence([Keys("#")])
    outcome, _ = await place(start_server, collect_one(["installments"], min_digits=0,
                                                       max_digits=2), payer)
    assert outcome.value == Collected("", "terminator")


async def test_hash_is_ignored_when_the_field_has_no_terminator(
        start_server: StartServer) -> None:
    payer = Payer.sequence([Keys("12#3")])
    outcome, _ = await place(start_server, collect_one(["expiry"], min_digits=3, max_digits=3,
                                                       terminator=False), payer)
    assert outcome.value == Collected("123", "max_digits")


async def test_keys_past_max_digits_wait_for_the_next_field(start_server: StartServer) -> None:
    async def body(call: AgiCall) -> list[Collected]:
        expiry = await call.channel.collect(["expiry"], min_digits=4, max_digits=4,
                                            terminator=False)
        pin = await call.channel.collect(["pin"], min_digits=2, max_digits=2,
                                         terminator=False)
        return [expiry, pin]

    payer = Payer.scripted([OnPrompt("expiry", Keys(EXPIRY + PIN, gap_ms=300))])
    outcome, transcript = await place(start_server, body, payer)
    assert outcome.value == [Collected(EXPIRY, "max_digits"), Collected(PIN, "max_digits")]
    pin_prompt = transcript.prompts[-1]
    assert pin_prompt.prompt_id == "pin" and pin_prompt.interrupted_by == PIN[0]
    assert pin_prompt.played_ms == 300  # the queued key cut the prompt


async def test_first_key_timeout(start_server: StartServer) -> None:
    payer = Payer.sequence([Silence()])
    outcome, transcript = await place(
        start_server, collect_one(["confirm"], first_timeout=6.0, inter_digit_timeout=3.0),
        payer, prompt_ms=1500)
    assert outcome.value == Collected("", "timeout")
    assert transcript.commands == ["GET DATA arspay/ko/confirm 6000 1"]
    assert transcript.duration_ms == 1500 + 6000


@pytest.mark.parametrize(("keys", "expected"), [
    (Keys("41#", after_ms=5500, gap_ms=2900), Collected("41", "terminator")),  # slow start: ok
    (Keys("4", after_ms=6100), Collected("", "timeout")),     # but not past the first timeout
    (Keys("41#", gap_ms=3100), Collected("4", "timeout")),    # a 3.1 s pause between keys
])
async def test_first_and_inter_digit_timeouts_are_distinct(start_server: StartServer, keys: Keys,
                                                           expected: Collected) -> None:
    outcome, transcript = await place(
        start_server, collect_one(["card_number"], min_digits=13, max_digits=19,
                                  first_timeout=6.0, inter_digit_timeout=3.0),
        Payer.sequence([keys]))
    assert outcome.value == expected
    assert transcript.commands[0] == "GET DATA arspay/ko/card_number 6000 1"
    assert set(transcript.commands[1:]) <= {"WAIT FOR DIGIT 3000"}


async def test_collect_without_prompts_waits_with_the_first_timeout(
        start_server: StartServer) -> None:
    payer = Payer.sequence([Keys("7", after_ms=4000)])
    outcome, transcript = await place(start_server, collect_one([], first_timeout=5.0), payer)
    assert outcome.value == Collected("7", "max_digits")
    assert transcript.commands == ["WAIT FOR DIGIT 5000"]


async def test_collect_rejects_impossible_bounds(start_server: StartServer) -> None:
    async def body(call: AgiCall) -> int:
        for bad in ({"min_digits": 3, "max_digits": 2}, {"min_digits": 0, "max_digits": 0},
                    {"min_digits": 1, "max_digits": 1, "first_timeout": 0}):
            with pytest.raises(ValueError):
                await call.channel.collect(["x"], **bad)
        return call.channel.connection.commands_sent

    outcome, _ = await place(start_server, body, Payer.silent())
    assert outcome.value == 0


# --- missing files and hangups ------------------------------------------------------------------

async def test_missing_prompt_file_is_its_own_error_and_the_call_goes_on(
        start_server: StartServer) -> None:
    async def body(call: AgiCall) -> list[str]:
        errors = []
        for attempt in (lambda: call.channel.play(["greet", "lost"]),
                        lambda: call.channel.collect(["lost"], min_digits=1, max_digits=1)):
            with pytest.raises(PromptMissing) as missing:
                await attempt()
            errors.append(missing.value.file)
        await call.channel.play(["still_here"])
        return errors

    outcome, transcript = await place(start_server, body, Payer.silent(),
                                      missing_files={"lost"})
    assert outcome.value == ["arspay/ko/lost", "arspay/ko/lost"]
    assert transcript.heard == ["greet", "still_here"]
    assert transcript.commands.count("CHANNEL STATUS") == 2
    assert transcript.ended_by == "server_closed"


@pytest.mark.parametrize("hangup", [HangUp(), HangUp(delay_ms=400)])
async def test_hangup_during_a_prompt(start_server: StartServer, hangup: HangUp) -> None:
    async def body(call: AgiCall) -> None:
        try:
            await call.channel.play(["greet", "announce"])
        except CallerHungUp:
            assert call.channel.hung_up
            with pytest.raises(CallerHungUp):
                await call.channel.play(["approved"])
            with pytest.raises(CallerHungUp):
                await call.channel.collect(["pin"], min_digits=2, max_digits=2)
            await call.channel.hangup()  # a no-op, never raises
            raise

    outcome, transcript = await place(start_server, body,
                                      Payer.scripted([OnPrompt("greet", hangup)]))
    assert isinstance(outcome.error, CallerHungUp)
    assert transcript.heard == ["greet"]
    assert transcript.ended_by == "payer_hangup" and transcript.hangup_sent
    # Nothing but the status probe after the hangup, and no HANGUP command from the server.
    assert transcript.commands_after_hangup in ([], ["CHANNEL STATUS"])
    assert "HANGUP" not in transcript.commands


async def test_hangup_while_keying_the_card(start_server: StartServer) -> None:
    # Six keys from 1.5 s after the prompt starts, 0.3 s apart; the phone goes down at 3.1 s,
    # while the channel waits for the seventh: WAIT FOR DIGIT answers -1, then HANGUP.
    payer = Payer.scripted([OnPrompt("confirm", Keys("1")),
                            OnPrompt("card_number", Keys("411111"), HangUp(delay_ms=3100))])
    outcome, transcript = await place(start_server, demo_payment, payer)
    assert isinstance(outcome.error, CallerHungUp)
    assert transcript.heard[-1] == "card_number"
    assert transcript.exchanges[-1].reply == "200 result=-1"
    assert transcript.commands_after_hangup == []


async def test_hangup_while_the_server_is_busy(start_server: StartServer) -> None:
    """The payer hangs up while the server waits on something else (say the PG): HANGUP is
    already queued, so the next prompt gets HANGUP then 511."""
    busy, go_on = asyncio.Event(), asyncio.Event()

    async def body(call: AgiCall) -> None:
        await call.channel.play(["wait"])
        busy.set()
        await go_on.wait()
        await call.channel.play(["approved"])

    outcome = Outcome()
    server = await start_server({"ars": outcome.wrap(body)})
    call = SimulatedCall("127.0.0.1", server.port, payer=Payer.silent())
    running = asyncio.create_task(call.run())
    await busy.wait()
    call.hang_up()
    go_on.set()
    transcript = await running
    await outcome.wait()
    assert isinstance(outcome.error, CallerHungUp)
    assert transcript.heard == ["wait"]
    assert transcript.exchanges[-1].reply.startswith("511")
    assert transcript.ended_by == "payer_hangup"


async def test_hangup_right_after_a_prompt_in_virtual_time(start_server: StartServer) -> None:
    async def body(call: AgiCall) -> None:
        await call.channel.play(["wait"])
        await call.channel.play(["approved"])

    payer = Payer.scripted([OnPrompt("wait", HangUp(after_prompt=True))])
    outcome, transcript = await place(start_server, body, payer)
    assert isinstance(outcome.error, CallerHungUp)
    assert transcript.exchanges[0].reply == "200 result=0 endpos=8000"
    assert transcript.heard == ["wait"]


@pytest.mark.parametrize("options", [
    {"agisighup": False},          # no HANGUP line: the 511 tells
    {"exit_on_hangup": True},      # AGIEXITONHANGUP: HANGUP then EOF
    {"double_hangup": True},       # a second HANGUP notice
])
async def test_hangup_variants_all_surface_as_caller_hung_up(start_server: StartServer,
                                                             options: dict) -> None:
    async def body(call: AgiCall) -> None:
        await call.channel.play(["greet"])
        await call.channel.play(["announce"])
        await call.channel.play(["confirm"])

    payer = Payer.scripted([OnPrompt("greet", HangUp(after_prompt=True))])
    outcome, transcript = await place(start_server, body, payer, **options)
    assert isinstance(outcome.error, CallerHungUp)
    assert transcript.heard == ["greet"]
    assert transcript.hangup_sent == (options.get("agisighup", True))


async def test_socket_closed_mid_call_is_a_hangup(start_server: StartServer) -> None:
    payer = Payer.scripted([OnPrompt("confirm", Keys("1")),
                            OnPrompt("card_number", Disconnect(delay_ms=500))])
    outcome, transcript = await place(start_server, demo_payment, payer)
    assert isinstance(outcome.error, CallerHungUp)
    assert transcript.ended_by == "payer_disconnect" and not transcript.hangup_sent


async def test_server_hangup_is_sent_once(start_server: StartServer) -> None:
    async def body(call: AgiCall) -> None:
        await call.channel.hangup()
        await call.channel.hangup()
        with pytest.raises(CallerHungUp):
            await call.channel.play(["greet"])

    outcome, transcript = await place(start_server, body, Payer.silent())
    assert outcome.error is None
    assert transcript.commands == ["HANGUP"]
    assert transcript.ended_by == "server_hangup"


# --- who is calling ----------------------------------------------------------------------------

async def test_channel_identity_from_the_environment(start_server: StartServer) -> None:
    async def body(call: AgiCall) -> tuple:
        ch = call.channel
        return ch.caller_id, ch.dialled, ch.unique_id == call.env["agi_uniqueid"], \
            ch.language, ch.caller_withheld

    outcome, _ = await place(start_server, body, Payer.silent(), dialled="16005002",
                             caller_id="01099998888", language="en")
    assert outcome.value == ("01099998888", "16005002", True, "en", False)


@pytest.mark.parametrize(("caller_id", "presentation"), [
    (None, 0), ("anonymous", 0), ("01012345678", PRES_RESTRICTED)])
async def test_withheld_caller_ids(start_server: StartServer, caller_id: str | None,
                                   presentation: int) -> None:
    async def body(call: AgiCall) -> bool:
        return call.channel.caller_withheld

    outcome, _ = await place(start_server, body, Payer.silent(), caller_id=caller_id,
                             presentation=presentation)
    assert outcome.value is True


# --- card data never reaches the logs ----------------------------------------------------------

async def test_no_card_digits_in_logs_after_a_full_collect(
        start_server: StartServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    payer = Payer.scripted([
        OnPrompt("announce", TypeAhead("1")),            # type-ahead during an announcement
        OnPrompt("card_number", TypeAhead(CARD + "#")),   # and during the capture prompt
        OnPrompt("expiry", Keys(EXPIRY + "#")),           # a stray '#' for the next field
        OnPrompt("identity", Keys(BIRTH + "#")),
        OnPrompt("pin", Keys(PIN)),
    ])
    outcome, transcript = await place(start_server, demo_payment, payer)
    assert outcome.value["card"] == CARD and outcome.value["pin"] == PIN
    assert CARD in transcript.keys_consumed  # the digits did cross the wire
    text = "\n".join(r.getMessage() for r in caplog.records)  # server and simulator alike
    assert "WAIT FOR DIGIT" in text and "<redacted>" in text  # the exchange was logged
    for secret in (CARD, CARD[6:], EXPIRY, BIRTH):
        assert secret not in text
    # Not even single key codes of the card digits: every keyed reply is redacted.
    assert "result=49" not in text and "result=52" not in text
    assert "collect ended by terminator: Collected(digits=<16 digits>" in text


async def test_non_sensitive_collect_is_logged_in_full(
        start_server: StartServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="ivr.agi")
    payer = Payer.sequence([Keys("2")])
    await place(start_server, collect_one(["confirm"]), payer)
    assert "<< 200 result=2" in caplog.text
