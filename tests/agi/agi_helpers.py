"""Helpers for the FastAGI tests: a hand-driven Asterisk for exact byte sequences, handler
outcome capture, and a small demo payment handler."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from ivr.agi import AgiCall, AgiLimits, AgiServer, Handler
from ivr.agi.protocol import format_env
from ivr.agi.simulator import SimulatedCall

StartServer = Callable[..., Awaitable[AgiServer]]

FAST_LIMITS = AgiLimits(env_timeout=0.5, idle_timeout=2.0, max_call_seconds=30.0,
                        write_timeout=2.0)
CARD = "4111111111111111"
EXPIRY = "0827"
BIRTH = "900101"
PIN = "12"


class Outcome:
    """What one handler did: its return value or exception, and when it finished."""

    def __init__(self) -> None:
        self.finished = asyncio.Event()
        self.value: Any = None
        self.error: BaseException | None = None
        self.notes: list[Any] = []

    def wrap(self, body: Callable[[AgiCall], Awaitable[Any]]) -> Handler:
        async def handler(call: AgiCall) -> None:
            try:
                self.value = await body(call)
            except BaseException as exc:
                self.error = exc
                raise
            finally:
                self.finished.set()
        return handler

    async def wait(self, timeout: float = 3.0) -> None:
        async with asyncio.timeout(timeout):
            await self.finished.wait()


class RawAsterisk:
    """An Asterisk driven by hand: the test reads each command and writes the exact reply bytes,
    to produce orderings (HANGUP before/after replies, 520 blocks, garbage) precisely."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int, script: str = "raw", **extra: str) -> RawAsterisk:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        env = dict(SimulatedCall("127.0.0.1", port, script=script).environment)
        env.update(extra)
        writer.write(format_env(env))
        await writer.drain()
        return cls(reader, writer)

    async def command(self, timeout: float = 2.0) -> str:
        async with asyncio.timeout(timeout):
            line = await self.reader.readline()
        assert line.endswith(b"\n"), f"server closed instead of sending a command: {line!r}"
        return line.decode().rstrip("\n")

    async def no_command_yet(self, wait: float = 0.1) -> bool:
        try:
            async with asyncio.timeout(wait):
                await self.reader.readline()
        except TimeoutError:
            return True
        return False

    async def send(self, text: str) -> None:
        self.writer.write(text.encode())
        await self.writer.drain()

    async def closed_by_server(self, timeout: float = 2.0) -> bool:
        async with asyncio.timeout(timeout):
            rest = await self.reader.read()
        return rest == b""

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass


async def demo_payment(call: AgiCall) -> dict[str, str]:
    """A small payment-like call: greet, confirm, card, expiry, birthdate, PIN, goodbye."""
    channel = call.channel
    await channel.answer()
    await channel.play(["greet", "announce"])
    confirm = await channel.collect(["confirm"], min_digits=1, max_digits=1, terminator=False)
    card = await channel.collect(["card_number"], min_digits=13, max_digits=19, sensitive=True)
    expiry = await channel.collect(["expiry"], min_digits=4, max_digits=4, terminator=False,
                                   sensitive=True)
    birth = await channel.collect(["identity"], min_digits=6, max_digits=10, sensitive=True)
    pin = await channel.collect(["pin"], min_digits=2, max_digits=2, terminator=False,
                                sensitive=True)
    await channel.play(["approved"], interruptible=False)
    await channel.hangup()
    return {"confirm": confirm.digits, "card": card.digits, "expiry": expiry.digits,
            "birth": birth.digits, "pin": pin.digits}
