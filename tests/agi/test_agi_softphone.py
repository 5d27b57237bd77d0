"""The terminal softphone: prompts shown as text, typed lines sent as keys, ``h`` hangs up."""

from __future__ import annotations

import asyncio
import io

from agi_helpers import Outcome, StartServer

from ivr.agi import AgiCall, CallerHungUp, Collected
from ivr.agi.softphone import reading_time_ms, run_softphone


class Screen(io.StringIO):
    """The terminal: tells the test when a prompt's line has been printed."""

    def __init__(self) -> None:
        super().__init__()
        self.shown: dict[str, asyncio.Event] = {}

    def showing(self, prompt_id: str) -> asyncio.Event:
        return self.shown.setdefault(prompt_id, asyncio.Event())

    def write(self, text: str) -> int:
        for prompt_id, event in self.shown.items():
            if f"[{prompt_id}]" in text:
                event.set()
        return super().write(text)


TEXTS = {"greet": "Hello, this is the ARS payment service.", "pin": "First 2 digits of the PIN."}


async def test_softphone_shows_prompts_and_sends_typed_keys(start_server: StartServer) -> None:
    async def body(call: AgiCall) -> Collected:
        await call.channel.play(["greet"], interruptible=False)
        got = await call.channel.collect(["pin"], min_digits=2, max_digits=2, terminator=False)
        await call.channel.hangup()
        return got

    outcome = Outcome()
    server = await start_server({"ars": outcome.wrap(body)})
    keys = asyncio.StreamReader()
    out = Screen()
    greet_shown, pin_shown = out.showing("greet"), out.showing("pin")
    phone = asyncio.create_task(run_softphone(
        "127.0.0.1", server.port, "16005001", "01012345678",
        prompt_text=lambda prompt_id, _lang: TEXTS.get(prompt_id),
        keys=keys, out=out, prompt_ms={"greet": 300, "pin": 20}.get))
    await greet_shown.wait()
    keys.feed_data(b"9\n")  # typed while the greeting plays: it cannot interrupt, so it is lost
    await pin_shown.wait()
    keys.feed_data(b"4 x 2\n")
    transcript = await phone
    await outcome.wait()
    assert outcome.value == Collected("42", "max_digits")
    shown = out.getvalue()
    assert "[greet] Hello, this is the ARS payment service." in shown
    assert "[pin] First 2 digits of the PIN." in shown
    assert "ignored 'x'" in shown
    assert transcript.ended_by == "server_hangup"
    assert transcript.keys_dropped == "9"


async def test_softphone_h_hangs_up(start_server: StartServer) -> None:
    async def body(call: AgiCall) -> None:
        await call.channel.collect(["confirm"], min_digits=1, max_digits=1, first_timeout=30)

    outcome = Outcome()
    server = await start_server({"ars": outcome.wrap(body)})
    keys = asyncio.StreamReader()
    keys.feed_data(b"h\n")
    transcript = await run_softphone("127.0.0.1", server.port, "16005001", "01012345678",
                                     prompt_text=lambda _id, _lang: None, keys=keys,
                                     out=io.StringIO(), prompt_ms=lambda _id: 5000)
    await outcome.wait()
    assert isinstance(outcome.error, CallerHungUp)
    assert transcript.ended_by == "payer_hangup"


def test_reading_time_is_bounded() -> None:
    assert reading_time_ms("") == 400
    assert reading_time_ms("x" * 30) == 1800
    assert reading_time_ms("x" * 1000) == 4000
