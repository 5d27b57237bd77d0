"""The simulated Asterisk answers as shared/reference/agi.md says: checked command by command
through a real server whose handler sends raw commands."""

from __future__ import annotations

import asyncio

import pytest
from agi_helpers import Outcome, StartServer

from ivr.agi import AgiCall, AgiConnection, CallerHungUp
from ivr.agi.payer import (
    HangUp,
    KeypadPayer,
    Keys,
    OnPrompt,
    Payer,
    Silence,
    TypeAhead,
)
from ivr.agi.protocol import REPLY_DEAD, format_env
from ivr.agi.simulator import PRES_RESTRICTED, CallTranscript, SimulatedCall, number_files


async def session(start_server: StartServer, steps, payer: Payer | None = None,
                  **call_options) -> tuple[Outcome, CallTranscript]:
    """Run ``steps(conn)`` as the handler; the replies it returns become ``outcome.value``."""
    outcome = Outcome()
    server = await start_server({"raw": outcome.wrap(
        lambda call: steps(call.channel.connection))})
    transcript = await SimulatedCall("127.0.0.1", server.port, script="raw",
                                     payer=payer or Payer.silent(), **call_options).run()
    await outcome.wait()
    return outcome, transcript


def raws(*commands: tuple) -> object:
    async def steps(conn: AgiConnection) -> list[str]:
        return [(await conn.command(*c, check=False)).raw for c in commands]
    return steps


# --- the environment ---------------------------------------------------------------------------

def test_environment_is_a_local_channel_call() -> None:
    env = SimulatedCall("127.0.0.1", 14573, script="ars?lang=ko", dialled="16005001",
                        caller_id="01012345678", args=["a"]).environment
    assert list(env)[:4] == ["agi_network", "agi_network_script", "agi_request", "agi_channel"]
    assert env["agi_network_script"] == "ars?lang=ko"
    assert env["agi_request"] == "agi://127.0.0.1:14573/ars?lang=ko"
    assert env["agi_channel"].startswith("Local/16005001@ars-inbound-")
    assert env["agi_channel"].endswith(";2")
    assert env["agi_type"] == "Local" and env["agi_dnid"] == "unknown"
    assert env["agi_extension"] == "16005001" and env["agi_callerid"] == "01012345678"
    assert env["agi_accountcode"] == "" and env["agi_arg_1"] == "a"
    assert format_env(env).endswith(b"agi_arg_1: a\n\n")


def test_withheld_and_missing_caller_ids() -> None:
    assert SimulatedCall(caller_id=None).environment["agi_callerid"] == "unknown"
    hidden = SimulatedCall(caller_id="anonymous", presentation=PRES_RESTRICTED).environment
    assert hidden["agi_callerid"] == "anonymous" and hidden["agi_callingpres"] == "32"
    assert SimulatedCall(env_overrides={"agi_dnid": "16005001"}).environment["agi_dnid"] == \
        "16005001"


# --- STREAM FILE --------------------------------------------------------------------------------

async def test_stream_file_replies(start_server: StartServer) -> None:
    payer = Payer.scripted([OnPrompt("two", TypeAhead("5", at_ms=250)),
                            OnPrompt("three", TypeAhead("7", at_ms=100))])
    outcome, transcript = await session(start_server, raws(
        ("STREAM FILE", "arspay/ko/one", "0123456789*#"),
        ("STREAM FILE", "arspay/ko/two", "0123456789*#"),
        ("STREAM FILE", "arspay/ko/three", "12"),          # 7 is not an escape digit
        ("STREAM FILE", "arspay/ko/gone", ""),
        ("STREAM FILE", "arspay/ko/one", "", 800),
    ), payer, missing_files={"gone"})
    assert outcome.value == [
        "200 result=0 endpos=8000",
        "200 result=53 endpos=2000",
        "200 result=0 endpos=8000",
        "200 result=-1 endpos=0",
        "200 result=0 endpos=8800",
    ]
    assert transcript.keys_dropped == "7"
    assert [p.missing for p in transcript.prompts] == [False, False, False, True, False]


# --- GET DATA -----------------------------------------------------------------------------------

async def test_get_data_key_during_prompt_is_the_first_digit(start_server: StartServer) -> None:
    payer = Payer.scripted([OnPrompt("pin", TypeAhead("12"))])
    outcome, _ = await session(start_server, raws(("GET DATA", "arspay/ko/pin", 3000, 2)),
                               payer)
    assert outcome.value == ["200 result=12"]


async def test_get_data_timeout_keeps_partial_digits(start_server: StartServer) -> None:
    payer = Payer.sequence([Keys("12", gap_ms=500), Silence()])
    outcome, transcript = await session(start_server, raws(
        ("GET DATA", "arspay/ko/card_number", 3000, 16),
        ("GET DATA", "arspay/ko/card_number", 3000, 16),
    ), payer)
    assert outcome.value == ["200 result=12 (timeout)", "200 result= (timeout)"]
    # prompt 1000 + first key 500 + gap 500 + timeout 3000; then prompt + timeout
    assert transcript.duration_ms == 5000 + 4000


async def test_get_data_default_timeouts(start_server: StartServer) -> None:
    """Without a timeout: 6,000 ms for the first key, 2,000 ms between keys."""
    payer = Payer.sequence([Keys("12", after_ms=5900, gap_ms=1900), Keys("3", after_ms=6100)])
    outcome, _ = await session(start_server, raws(
        ("GET DATA", "arspay/ko/a"), ("GET DATA", "arspay/ko/b")), payer)
    assert outcome.value == ["200 result=12 (timeout)", "200 result= (timeout)"]


async def test_get_data_hash_and_star(start_server: StartServer) -> None:
    payer = Payer.sequence([Keys("#"), Keys("1*2#")])
    outcome, _ = await session(start_server, raws(
        ("GET DATA", "arspay/ko/a", 2000, 4), ("GET DATA", "arspay/ko/b", 2000, 4)), payer)
    assert outcome.value == ["200 result=", "200 result=1*2"]


async def test_get_data_stops_at_max_digits_and_leaves_keys_queued(
        start_server: StartServer) -> None:
    payer = Payer.sequence([Keys("12345", gap_ms=100)])
    outcome, transcript = await session(start_server, raws(
        ("GET DATA", "arspay/ko/expiry", 3000, 4),
        ("WAIT FOR DIGIT", 3000),
        ("WAIT FOR DIGIT", 3000),
    ), payer)
    assert outcome.value == ["200 result=1234", "200 result=53", "200 result=0"]
    assert transcript.keys_consumed == "12345"


async def test_get_data_missing_file_and_hangup_look_the_same(
        start_server: StartServer) -> None:
    async def steps(conn: AgiConnection) -> list[object]:
        missing = await conn.command("GET DATA", "arspay/ko/gone", 2000, 1)
        out: list[object] = [missing.raw, conn.hung_up]
        hangup = await conn.command("GET DATA", "arspay/ko/pin", 2000, 1)
        out += [hangup.raw, conn.hung_up]   # the HANGUP notice follows the reply
        return out

    payer = Payer.scripted([OnPrompt("pin", HangUp(delay_ms=100))])
    outcome, transcript = await session(start_server, steps, payer, missing_files={"gone"})
    assert outcome.value == ["200 result=-1", False, "200 result=-1", False]
    assert transcript.hangup_sent and transcript.ended_by == "payer_hangup"


async def test_get_data_with_several_prompts(start_server: StartServer) -> None:
    payer = Payer.scripted([OnPrompt("second", TypeAhead("9"))])
    outcome, transcript = await session(start_server, raws(
        ("GET DATA", "arspay/ko/first&arspay/ko/second&arspay/ko/third", 2000, 1)), payer)
    assert outcome.value == ["200 result=9"]
    assert transcript.heard == ["first", "second"]


# --- WAIT FOR DIGIT, hangup ordering, dead mode ------------------------------------------------

async def test_wait_for_digit_replies_and_hangup_ordering(start_server: StartServer) -> None:
    async def steps(conn: AgiConnection) -> list[object]:
        out: list[object] = []
        for _ in range(2):
            out.append((await conn.command("WAIT FOR DIGIT", 2000)).raw)
        await conn.command("STREAM FILE", "arspay/ko/hold", "")
        reply = await conn.command("WAIT FOR DIGIT", 5000)   # hangup: -1 first ...
        out += [reply.raw, conn.hung_up]
        noop = await conn.command("NOOP")                   # ... HANGUP read before this reply
        out += [noop.raw, conn.hung_up]
        for dead_ok in (("SET VARIABLE", "RESULT", "declined"), ("GET VARIABLE", "RESULT"),
                        ("VERBOSE", "call over", 1), ("EXEC", "NoOp", "x")):
            out.append((await conn.command(*dead_ok)).raw)
        try:
            await conn.command("STREAM FILE", "arspay/ko/bye", "")
        except CallerHungUp:
            out.append("511 → CallerHungUp")
        return out

    # The first wait starts a field: the payer presses 4; the second continues it: silence.
    payer = Payer(sequence=[Keys("4", after_ms=0)],
                  rules=[OnPrompt("hold", HangUp(after_prompt=True, delay_ms=500))])
    outcome, transcript = await session(start_server, steps, payer)
    assert outcome.value == [
        "200 result=52", "200 result=0", "200 result=-1", False, "200 result=0", True,
        "200 result=1", "200 result=1 (declined)", "200 result=1", "200 result=0",
        "511 → CallerHungUp",
    ]
    assert transcript.exchanges[-1].reply == REPLY_DEAD
    assert transcript.variables == {"RESULT": "declined"}
    # Dead-mode commands are fine; the playback the test forces afterwards is flagged.
    assert transcript.protocol_violations == [
        "STREAM FILE sent after the server was told of the hangup"]


async def test_prompt_after_the_server_knew_of_the_hangup_is_flagged(
        start_server: StartServer) -> None:
    async def steps(conn: AgiConnection) -> None:
        for _ in range(3):
            try:
                await conn.command("STREAM FILE", "arspay/ko/again", "")
            except CallerHungUp:
                pass

    payer = Payer.scripted([OnPrompt("again", HangUp(delay_ms=10))])
    _, transcript = await session(start_server, steps, payer)
    assert transcript.protocol_violations == [
        "STREAM FILE sent after the server was told of the hangup"]


# --- other commands ----------------------------------------------------------------------------

async def test_unknown_commands_and_bad_syntax(start_server: StartServer) -> None:
    outcome, _ = await session(start_server, raws(
        ("FROBNICATE",), ("STREAM FILE", "only-one"), ("WAIT FOR DIGIT", "soon"),
        ("noop",)))
    unknown, stream_usage, wait_usage, noop = outcome.value
    assert unknown == "510 Invalid or unknown command"
    assert stream_usage.startswith("520-Invalid command syntax.  Proper usage follows:\n")
    assert stream_usage.endswith("\n520 End of proper usage.")
    assert "STREAM FILE <filename>" in stream_usage and "WAIT FOR DIGIT" in wait_usage
    assert noop == "200 result=0"


async def test_say_variables_exec_status(start_server: StartServer) -> None:
    payer = Payer.scripted([OnPrompt("digits/2", TypeAhead("#"))])
    outcome, transcript = await session(start_server, raws(
        ("CHANNEL STATUS",), ("ANSWER",), ("CHANNEL STATUS",),
        ("SAY DIGITS", "12", "#"),
        ("SAY NUMBER", 28500, ""),
        ("SET VARIABLE", "CHANNEL(language)", "ko"), ("GET VARIABLE", "CHANNEL(language)"),
        ("GET VARIABLE", "NEVER_SET"), ("GET FULL VARIABLE", "${EXTEN}-${CONTEXT}"),
        ("EXEC", "NoSuchApp"), ("EXEC", "Wait", "1"),
    ), payer)
    assert outcome.value == [
        "200 result=4", "200 result=0", "200 result=6", "200 result=35", "200 result=0",
        "200 result=1", "200 result=1 (ko)", "200 result=0",
        "200 result=1 (16005001-ars-inbound)", "200 result=-2", "200 result=0",
    ]
    assert transcript.files[:2] == ["digits/1", "digits/2"]
    assert transcript.files[2:] == number_files(28500)
    assert number_files(28500) == ["digits/20", "digits/8", "digits/thousand", "digits/5",
                                   "digits/hundred"]


async def test_server_hangup_command(start_server: StartServer) -> None:
    async def steps(conn: AgiConnection) -> list[object]:
        first = await conn.command("HANGUP")
        after = await conn.command("NOOP")   # HANGUP notice arrives before this reply
        return [first.raw, after.raw, conn.hung_up]

    outcome, transcript = await session(start_server, steps)
    assert outcome.value == ["200 result=1", "200 result=0", True]
    assert transcript.ended_by == "server_hangup" and transcript.hangup_sent


# --- protocol violations -----------------------------------------------------------------------

async def test_pipelined_command_is_flagged_and_the_media_command_abandoned() -> None:
    """A buggy server that sends its next command without waiting for the reply."""
    received: list[bytes] = []

    async def buggy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.readline() not in (b"\n", b""):
            pass
        writer.write(b'STREAM FILE arspay/ko/greet ""\nNOOP\n')
        await writer.drain()
        received.append(await reader.readline())
        writer.close()

    server = await asyncio.start_server(buggy, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        transcript = await SimulatedCall("127.0.0.1", port, payer=Payer.silent()).run()
    finally:
        server.close()
        await server.wait_closed()
    assert transcript.protocol_violations == ["new command sent before the reply to STREAM FILE"]
    assert transcript.exchanges[0].reply is None      # abandoned, as Asterisk does
    assert received == [b"200 result=0\n"]           # only the NOOP was answered


async def test_eof_without_hangup_knob(start_server: StartServer) -> None:
    from ivr.agi.simulator import Misbehaviour

    async def steps(conn: AgiConnection) -> None:
        await conn.command("ANSWER")
        await conn.command("NOOP")

    outcome, transcript = await session(start_server, steps,
                                        misbehaviour=Misbehaviour.eof_after_commands(1))
    assert isinstance(outcome.error, CallerHungUp)
    assert transcript.ended_by == "payer_disconnect" and not transcript.hangup_sent


# --- payers ------------------------------------------------------------------------------------

def test_keys_validation() -> None:
    with pytest.raises(ValueError):
        Keys("12a")
    with pytest.raises(ValueError):
        Keys("")
    with pytest.raises(ValueError):
        Keys("123", gaps_ms=(100,))
    with pytest.raises(ValueError):
        OnPrompt("x")


def test_keys_timing() -> None:
    after = [(e.at_ms, e.key) for e in Keys("12", gap_ms=200, after_ms=500).events(0, 1000)]
    during = [(e.at_ms, e.key) for e in TypeAhead("12", at_ms=300).events(0, 1000)]
    explicit = [e.at_ms for e in Keys("123", gaps_ms=(100, 4000)).events(0, 1000)]
    assert after == [(1500, "1"), (1700, "2")]
    assert during == [(300, "1"), (600, "2")]
    assert explicit == [1500, 1600, 5600]


async def test_rules_for_one_prompt_fire_in_order_and_patterns_match(
        start_server: StartServer) -> None:
    payer = Payer.scripted([
        OnPrompt("card_number", Keys("1")),
        OnPrompt("card_number", Keys("2")),
        OnPrompt("num/*", Keys("9"), every_time=True),
    ])
    prompts = ["card_number", "card_number", "card_number", "num/7", "num/8"]
    outcome, transcript = await session(start_server, raws(
        *[("GET DATA", f"arspay/ko/{p}", 2000, 1) for p in prompts]), payer)
    assert outcome.value == ["200 result=1", "200 result=2", "200 result= (timeout)",
                             "200 result=9", "200 result=9"]
    assert transcript.payer_reactions == ["prompt card_number", "prompt card_number",
                                          "prompt num/7", "prompt num/8"]


async def test_interactive_payer_in_real_time(start_server: StartServer) -> None:
    shown: list[str] = []
    keypad = KeypadPayer(on_prompt=lambda prompt_id, file: shown.append(file))
    keypad.press("42")

    async def steps(conn: AgiConnection) -> list[str]:
        out = [(await conn.command("GET DATA", "arspay/ko/pin", 2000, 2)).raw]
        out.append((await conn.command("WAIT FOR DIGIT", 20)).raw)
        out.append((await conn.command("STREAM FILE", "arspay/ko/wait", "")).raw)
        return out

    outcome, transcript = await session(start_server, steps, keypad, prompt_ms=20)
    assert outcome.value[0] == "200 result=42"
    assert outcome.value[1] == "200 result=0"
    assert outcome.value[2].startswith("200 result=0 endpos=")
    assert shown == ["arspay/ko/pin", "arspay/ko/wait"]
    assert transcript.keys_consumed == "42"


async def test_interactive_hang_up_interrupts_a_running_prompt(start_server: StartServer) -> None:
    playing = asyncio.Event()
    keypad = KeypadPayer(on_prompt=lambda prompt_id, file: playing.set())
    outcome = Outcome()
    server = await start_server({"raw": outcome.wrap(
        lambda call: call.channel.play(["long_terms"]))})
    call = SimulatedCall("127.0.0.1", server.port, script="raw", payer=keypad,
                         prompt_ms=60_000)
    running = asyncio.create_task(call.run())
    await playing.wait()
    call.hang_up()
    transcript = await running
    await outcome.wait()
    assert isinstance(outcome.error, CallerHungUp)
    assert transcript.exchanges[0].reply.startswith("200 result=-1 endpos=")
    assert transcript.ended_by == "payer_hangup"


def test_agi_call_type_is_exported() -> None:
    assert AgiCall.__name__ == "AgiCall"
