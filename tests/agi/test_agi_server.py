"""The FastAGI server: routing, one task per call, bad peers and failing handlers isolated,
graceful stop."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import pytest
from agi_helpers import CARD, EXPIRY, FAST_LIMITS, Outcome, StartServer, demo_payment

from ivr.agi import AgiCall
from ivr.agi.payer import HangUp, Keys, OnPrompt, Payer
from ivr.agi.simulator import Misbehaviour, SimulatedCall

PAYS = [OnPrompt("confirm", Keys("1")), OnPrompt("card_number", Keys(CARD + "#")),
        OnPrompt("expiry", Keys(EXPIRY)), OnPrompt("identity", Keys("900101#")),
        OnPrompt("pin", Keys("12"))]


async def test_routes_on_the_script_before_the_query_string(start_server: StartServer) -> None:
    seen: list[AgiCall] = []

    async def ars(call: AgiCall) -> None:
        seen.append(call)

    server = await start_server({"ars": ars})
    assert server.port != 0
    transcript = await SimulatedCall("127.0.0.1", server.port, script="ars?lang=ko&agent=7",
                                     args=["first", "two words"]).run()
    assert transcript.ended_by == "server_closed" and transcript.commands == []
    [call] = seen
    assert call.script == "ars"
    assert call.query == {"lang": "ko", "agent": "7"}
    assert call.args == ["first", "two words"]
    assert call.env["agi_network_script"] == "ars?lang=ko&agent=7"
    assert call.unique_id == transcript.environment["agi_uniqueid"]
    assert server.stats.by_script == {"ars": 1}


async def test_unknown_script_is_hung_up(start_server: StartServer,
                                         caplog: pytest.LogCaptureFixture) -> None:
    server = await start_server({"ars": demo_payment})
    transcript = await SimulatedCall("127.0.0.1", server.port, script="nope?x=1").run()
    assert transcript.commands == ["HANGUP"]
    assert transcript.ended_by == "server_hangup"
    assert server.stats.unknown_scripts == 1
    assert "unknown AGI script 'nope'" in caplog.text


async def test_live_calls_are_counted(start_server: StartServer) -> None:
    counts: list[int] = []

    async def body(call: AgiCall) -> None:
        counts.append(server.live_calls)

    server = await start_server({"ars": body})
    await asyncio.gather(*(SimulatedCall("127.0.0.1", server.port).run() for _ in range(3)))
    assert counts and all(1 <= c <= 3 for c in counts)
    assert server.live_calls == 0
    assert server.stats.calls == 3


async def test_failing_handler_is_logged_without_its_message_and_others_go_on(
        start_server: StartServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    release = asyncio.Event()

    async def careless(call: AgiCall) -> None:
        got = await call.channel.collect(["card_number"], min_digits=13, max_digits=19,
                                         sensitive=True)
        raise RuntimeError(f"could not use card {got.digits}")

    good = Outcome()

    async def patient(call: AgiCall) -> dict[str, str]:
        await release.wait()
        return await demo_payment(call)

    server = await start_server({"careless": careless, "ars": good.wrap(patient)})
    good_call = asyncio.create_task(
        SimulatedCall("127.0.0.1", server.port, payer=Payer.scripted(PAYS)).run())
    bad = await SimulatedCall("127.0.0.1", server.port, script="careless",
                              payer=Payer.sequence([Keys(CARD + "#")])).run()
    release.set()
    good_transcript = await good_call
    await good.wait()
    assert bad.ended_by == "server_closed"
    assert good.value["card"] == CARD and good_transcript.ended_by == "server_hangup"
    assert server.stats.handler_errors == 1
    assert "builtins.RuntimeError at careless" in caplog.text
    assert CARD not in caplog.text and "could not use card" not in caplog.text


async def test_caller_hangup_escaping_a_handler_is_counted_not_an_error(
        start_server: StartServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    server = await start_server({"ars": demo_payment})
    payer = Payer.scripted([OnPrompt("confirm", Keys("1")),
                            OnPrompt("card_number", Keys("41"), HangUp(delay_ms=2000))])
    transcript = await SimulatedCall("127.0.0.1", server.port, payer=payer).run()
    assert transcript.ended_by == "payer_hangup"
    for _ in range(10):  # the server task finishes its bookkeeping after the socket closes
        if server.live_calls == 0:
            break
        await asyncio.sleep(0.01)
    assert server.stats.hung_up_by_caller == 1 and server.stats.handler_errors == 0
    assert "caller hung up" in caplog.text


async def test_bad_peers_lose_only_their_own_connection(start_server: StartServer) -> None:
    release = asyncio.Event()
    good = Outcome()

    async def patient(call: AgiCall) -> dict[str, str]:
        await release.wait()
        return await demo_payment(call)

    limits = dataclasses.replace(FAST_LIMITS, env_timeout=0.4, max_line_bytes=4096)
    server = await start_server({"ars": good.wrap(patient)}, limits=limits)
    good_call = asyncio.create_task(
        SimulatedCall("127.0.0.1", server.port, payer=Payer.scripted(PAYS)).run())
    misbehaviours = [
        Misbehaviour.garbage(),
        Misbehaviour.garbage(b"\x00\xff" * 3000),        # binary, no newline at all
        Misbehaviour.oversize_line(20_000),
        Misbehaviour.close_before_blank_line(),
        Misbehaviour.slow_loris(interval=0.02),
    ]
    bad = await asyncio.gather(*(
        SimulatedCall("127.0.0.1", server.port, misbehaviour=m, io_timeout=3.0).run()
        for m in misbehaviours))
    assert [t.ended_by for t in bad] == ["rejected", "rejected", "rejected",
                                         "payer_disconnect", "rejected"]
    assert all(t.commands == [] for t in bad)
    assert server.live_calls == 1  # only the good call is left
    release.set()
    transcript = await good_call
    await good.wait()
    assert good.value["card"] == CARD
    assert transcript.ended_by == "server_hangup"
    assert server.stats.bad_peers == len(misbehaviours)


async def test_graceful_stop_lets_a_live_call_finish(start_server: StartServer) -> None:
    in_call, finish = asyncio.Event(), asyncio.Event()
    outcome = Outcome()

    async def body(call: AgiCall) -> str:
        in_call.set()
        await finish.wait()
        await call.channel.play(["approved"])
        return "finished"

    server = await start_server({"ars": outcome.wrap(body)})
    port = server.port
    call = asyncio.create_task(SimulatedCall("127.0.0.1", port).run())
    await in_call.wait()
    stopping = asyncio.create_task(server.stop(grace=5.0))
    await asyncio.sleep(0.05)
    assert not stopping.done()
    with pytest.raises(OSError):  # no new calls while stopping
        await asyncio.open_connection("127.0.0.1", port)
    finish.set()
    await stopping
    transcript = await call
    assert outcome.value == "finished"
    assert transcript.heard == ["approved"]
    assert server.stats.cancelled == 0


async def test_graceful_stop_cancels_calls_after_the_grace_period(
        start_server: StartServer) -> None:
    in_call = asyncio.Event()
    outcome = Outcome()

    async def body(call: AgiCall) -> None:
        in_call.set()
        await asyncio.Event().wait()  # never ends on its own

    server = await start_server({"ars": outcome.wrap(body)})
    call = asyncio.create_task(SimulatedCall("127.0.0.1", server.port).run())
    await in_call.wait()
    await server.stop(grace=0.2)
    transcript = await call
    assert isinstance(outcome.error, asyncio.CancelledError)
    assert transcript.ended_by == "server_closed"
    assert server.stats.cancelled == 1 and server.live_calls == 0
