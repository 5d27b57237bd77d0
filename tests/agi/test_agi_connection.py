"""One FastAGI session against a hand-driven Asterisk that writes exact bytes: reply forms,
HANGUP notices in every position, 520 blocks, misbehaving replies, limits."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from agi_helpers import FAST_LIMITS, Outcome, RawAsterisk, StartServer

from ivr.agi import AgiCall, AgiCommandFailed, CallerHungUp
from ivr.agi.errors import (
    AgiCallTooLong,
    AgiConnectionBroken,
    AgiLineTooLong,
    AgiMalformedReply,
    AgiTimeout,
    AgiTruncatedReply,
)
from ivr.agi.protocol import REPLY_DEAD, reply_usage


async def raw_call(start_server: StartServer, body, **server_options) -> tuple[Outcome,
                                                                               RawAsterisk]:
    outcome = Outcome()
    server = await start_server({"raw": outcome.wrap(body)}, **server_options)
    peer = await RawAsterisk.connect(server.port)
    return outcome, peer


async def test_trying_line_is_skipped_and_replies_stay_in_step(start_server: StartServer) -> None:
    async def body(call: AgiCall) -> list[str | None]:
        conn = call.channel.connection
        first = await conn.command("EXEC", "Gosub", "sub,s,1")
        second = await conn.command("GET VARIABLE", "X")
        return [first.result, second.data]

    outcome, peer = await raw_call(start_server, body)
    assert await peer.command() == "EXEC Gosub sub,s,1"
    await peer.send("100 result=0 Trying...\n200 result=0\n")
    assert await peer.command() == "GET VARIABLE X"
    await peer.send("200 result=1 (x-value)\n")
    await outcome.wait()
    assert outcome.value == ["0", "x-value"]


async def test_hangup_before_a_reply_is_a_notice_and_the_reply_is_still_read(
        start_server: StartServer) -> None:
    async def body(call: AgiCall) -> tuple[str | None, bool]:
        conn = call.channel.connection
        reply = await conn.command("GET VARIABLE", "ORDER")
        return reply.data, conn.hung_up

    outcome, peer = await raw_call(start_server, body)
    await peer.command()
    await peer.send("HANGUP\n200 result=1 (kept)\n")
    await outcome.wait()
    assert outcome.value == ("kept", True)


async def test_hangup_after_a_playback_reply_surfaces_on_the_next_command(
        start_server: StartServer) -> None:
    async def body(call: AgiCall) -> list[object]:
        conn = call.channel.connection
        playback = await conn.command("STREAM FILE", "arspay/ko/greet", "")
        seen_before = conn.hung_up
        noop = await conn.command("NOOP")
        return [playback.result, playback.endpos, seen_before, noop.result, conn.hung_up]

    outcome, peer = await raw_call(start_server, body)
    await peer.command()
    await peer.send("200 result=-1 endpos=3200\nHANGUP\n")  # reply first, then the notice
    assert await peer.command() == "NOOP"
    await peer.send("200 result=0\n")                        # NOOP runs in dead mode
    await outcome.wait()
    assert outcome.value == ["-1", 3200, False, "0", True]


async def test_minus_one_after_a_hangup_notice_raises_caller_hung_up(
        start_server: StartServer) -> None:
    async def body(call: AgiCall) -> None:
        await call.channel.connection.command("WAIT FOR DIGIT", 3000)

    outcome, peer = await raw_call(start_server, body)
    await peer.command()
    await peer.send("HANGUP\n200 result=-1\n")
    await outcome.wait()
    assert isinstance(outcome.error, CallerHungUp)


async def test_hangup_twice_then_511(start_server: StartServer) -> None:
    async def body(call: AgiCall) -> None:
        await call.channel.connection.command("ANSWER")

    outcome, peer = await raw_call(start_server, body)
    await peer.command()
    await peer.send(f"HANGUP\nHANGUP\n{REPLY_DEAD}\n")
    await outcome.wait()
    assert isinstance(outcome.error, CallerHungUp)
    assert await peer.closed_by_server()


async def test_second_hangup_notice_does_not_shift_later_replies(
        start_server: StartServer) -> None:
    async def body(call: AgiCall) -> list[str | None]:
        conn = call.channel.connection
        first = await conn.command("VERBOSE", "one", 1)
        second = await conn.command("GET VARIABLE", "B")
        return [first.result, second.data]

    outcome, peer = await raw_call(start_server, body)
    await peer.command()
    await peer.send("HANGUP\n200 result=1\nHANGUP\n")
    await peer.command()
    await peer.send("200 result=1 (bee)\n")
    await outcome.wait()
    assert outcome.value == ["1", "bee"]


async def test_multi_line_520_does_not_desynchronise(start_server: StartServer) -> None:
    async def body(call: AgiCall) -> list[object]:
        conn = call.channel.connection
        unchecked = await conn.command("STREAM FILE", "only-one-arg", check=False)
        with pytest.raises(AgiCommandFailed) as failed:
            await conn.command("GET DATA")
        after = await conn.command("GET VARIABLE", "AFTER")
        return [unchecked.code, unchecked.data, failed.value.reply.code, after.data]

    usage = " Usage: STREAM FILE <filename> <escape_digits> [sample offset]\n Plays it."
    outcome, peer = await raw_call(start_server, body)
    await peer.command()
    await peer.send(reply_usage(usage) + "\n")
    await peer.command()
    await peer.send(reply_usage(" Usage: GET DATA <file> [timeout] [maxdigits]") + "\n")
    await peer.command()
    await peer.send("200 result=1 (in step)\n")
    await outcome.wait()
    assert outcome.value == [520, usage, 520, "in step"]


async def test_510_and_single_line_520_raise_command_failed(start_server: StartServer) -> None:
    async def body(call: AgiCall) -> list[int]:
        codes = []
        for command in ("FROBNICATE", "SAY PHONETIC"):
            with pytest.raises(AgiCommandFailed) as failed:
                await call.channel.connection.command(command)
            assert "FROBNICATE" in str(failed.value) or "SAY PHONETIC" in str(failed.value)
            codes.append(failed.value.reply.code)
        return codes

    outcome, peer = await raw_call(start_server, body)
    await peer.command()
    await peer.send("510 Invalid or unknown command\n")
    await peer.command()
    await peer.send("520 Invalid command syntax.  Proper usage not available.\n")
    await outcome.wait()
    assert outcome.value == [510, 520]


async def test_timeout_marker_is_kept(start_server: StartServer) -> None:
    async def body(call: AgiCall) -> tuple[str | None, bool]:
        reply = await call.channel.connection.command("GET DATA", "arspay/ko/pin", 5000, 4)
        return reply.result, reply.timed_out

    outcome, peer = await raw_call(start_server, body)
    await peer.command()
    await peer.send("200 result=12 (timeout)\n")
    await outcome.wait()
    assert outcome.value == ("12", True)


@pytest.mark.parametrize(("bad_reply", "error"), [
    ("this is not AGI\n", AgiMalformedReply),
    ("200 result=" + "1" * 10_000 + "\n", AgiLineTooLong),
    ("520-Invalid command syntax.  Proper usage follows:\n Usage: half a block\n",
     AgiTruncatedReply),
])
async def test_a_broken_reply_closes_only_that_call(start_server: StartServer, bad_reply: str,
                                                    error: type[Exception]) -> None:
    outcome, peer = await raw_call(start_server,
                                   lambda call: call.channel.connection.command("NOOP"))
    await peer.command()
    await peer.send(bad_reply)
    if error is AgiTruncatedReply:
        peer.writer.write_eof()
    await outcome.wait()
    assert isinstance(outcome.error, error)
    assert await peer.closed_by_server()


async def test_eof_during_a_command_is_a_hangup(start_server: StartServer) -> None:
    outcome, peer = await raw_call(start_server,
                                   lambda call: call.channel.play(["greet"]))
    await peer.command()
    await peer.close()
    await outcome.wait()
    assert isinstance(outcome.error, CallerHungUp)


async def test_idle_timeout_on_a_silent_peer(start_server: StartServer) -> None:
    limits = dataclasses.replace(FAST_LIMITS, idle_timeout=0.2)
    outcome, peer = await raw_call(start_server,
                                   lambda call: call.channel.connection.command("NOOP"),
                                   limits=limits)
    await peer.command()
    await outcome.wait()
    assert isinstance(outcome.error, AgiTimeout)
    assert await peer.closed_by_server()


async def test_no_command_is_sent_after_the_call_duration_limit(start_server: StartServer) -> None:
    async def body(call: AgiCall) -> None:
        conn = call.channel.connection
        await conn.command("NOOP")
        await asyncio.sleep(0.35)
        await conn.command("NOOP")

    limits = dataclasses.replace(FAST_LIMITS, max_call_seconds=0.3)
    outcome, peer = await raw_call(start_server, body, limits=limits)
    await peer.command()
    await peer.send("200 result=0\n")
    await outcome.wait()
    assert isinstance(outcome.error, AgiCallTooLong)
    assert await peer.closed_by_server()  # and no second NOOP came before the close


async def test_a_command_abandoned_mid_flight_breaks_the_connection(
        start_server: StartServer) -> None:
    async def body(call: AgiCall) -> None:
        conn = call.channel.connection
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await conn.command("WAIT FOR DIGIT", 5000)
        assert not conn.usable
        await conn.command("NOOP")  # would read the abandoned command's reply: refused

    outcome, peer = await raw_call(start_server, body)
    await peer.command()
    await outcome.wait()
    assert isinstance(outcome.error, AgiConnectionBroken)


async def test_concurrent_commands_go_one_at_a_time(start_server: StartServer) -> None:
    async def body(call: AgiCall) -> list[str | None]:
        conn = call.channel.connection
        replies = await asyncio.gather(conn.command("GET VARIABLE", "A"),
                                       conn.command("GET VARIABLE", "B"))
        return [r.data for r in replies]

    outcome, peer = await raw_call(start_server, body)
    first = await peer.command()
    assert await peer.no_command_yet()  # the second waits for the first reply
    await peer.send(f"200 result=1 ({first[-1]})\n")
    second = await peer.command()
    await peer.send(f"200 result=1 ({second[-1]})\n")
    await outcome.wait()
    assert outcome.value == ["A", "B"]
