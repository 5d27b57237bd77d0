"""An Asterisk 22 stand-in: a FastAGI *client* that calls the server like Asterisk does and
answers its commands as shared/reference/agi.md says.

``SimulatedCall(...).run()`` connects, sends the environment of a call arriving on a Local
channel, answers every command, and returns a :class:`CallTranscript`. The person on the line is
a :class:`~ivr.agi.payer.Payer` (virtual time: deterministic and instant) or an
:class:`~ivr.agi.payer.InteractivePayer` (real time: the softphone).

Fidelity notes, each from the reference:

* STREAM FILE: escape digit → ``result=<ascii> endpos=N``; other keys are swallowed; missing file
  → ``result=-1 endpos=0``. Audio runs at 8,000 samples per second.
* GET DATA: any key interrupts the prompt and is the first digit; ``#`` ends input (alone:
  ``200 result=``); ``*`` is an ordinary digit; timeouts as in ``ast_app_getdata`` (given
  timeout for every wait, else 6,000 ms first and 2,000 ms between); ``(timeout)`` kept; returns
  at ``max_digits`` leaving later keys queued; ``-1`` on hangup or a missing prompt file.
* After the caller hangs up: the running command is answered first (``result=-1``), then
  ``HANGUP`` is sent; an idle server gets ``HANGUP`` at once (so it reads it before its next
  reply); the session is then in dead mode where only EXEC, SET/GET (FULL) VARIABLE, VERBOSE and
  NOOP run and everything else gets 511.
* A command line arriving before the previous reply was sent is a protocol violation; a media
  command interrupted that way is abandoned without a reply, as Asterisk does.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from ivr.agi.payer import InteractivePayer, Payer, PayerEvent
from ivr.agi.protocol import (
    DEFAULT_PORT,
    DTMF_KEYS,
    MAX_COMMAND_BYTES,
    MEDIA_COMMANDS,
    REPLY_DEAD,
    REPLY_INVALID,
    format_env,
    reply_200,
    reply_usage,
    split_command_line,
)

log = logging.getLogger("ivr.agi.simulator")

PRES_ALLOWED = 0          # agi_callingpres: number shown
PRES_RESTRICTED = 0x20    # agi_callingpres: number withheld by the caller
SAMPLES_PER_MS = 8
DEFAULT_PROMPT_MS = 1000

Ending = Literal["server_closed", "server_hangup", "payer_hangup", "payer_disconnect",
                 "rejected", "stalled"]


# --- what happened ------------------------------------------------------------------------------

@dataclass
class HeardPrompt:
    """One sound file the payer heard (or would have, when ``missing``)."""

    prompt_id: str            # file without "<prefix>/<language>/"
    file: str
    language: str | None
    command: str              # STREAM FILE, GET DATA, SAY DIGITS, SAY NUMBER
    at_ms: int
    played_ms: int = 0
    interrupted_by: str | None = None
    missing: bool = False


@dataclass
class Exchange:
    command: str              # the line as received
    reply: str | None         # what was sent back (None: abandoned, no reply)
    at_ms: int
    dead: bool                # the channel was already hung up when it arrived
    # Wall-clock seconds from the simulator's previous write (its last reply, or the
    # environment) to this line's arrival: the server's think time (bench/agi_calls.py).
    turnaround_s: float | None = None


@dataclass
class CallTranscript:
    environment: dict[str, str]
    exchanges: list[Exchange] = field(default_factory=list)
    prompts: list[HeardPrompt] = field(default_factory=list)
    keys_pressed: str = ""    # every key the payer pressed, in order
    keys_consumed: str = ""   # keys Asterisk handed to the server
    keys_dropped: str = ""    # pressed during playback that they could not interrupt
    keys_left: str = ""       # pressed (or scheduled) but never read
    ended_by: Ending = "server_closed"
    answered: bool = False
    hangup_sent: bool = False
    variables: dict[str, str] = field(default_factory=dict)
    protocol_violations: list[str] = field(default_factory=list)
    payer_reactions: list[str] = field(default_factory=list)
    duration_ms: int = 0

    @property
    def heard(self) -> list[str]:
        """Prompt ids actually played, in order."""
        return [p.prompt_id for p in self.prompts if not p.missing]

    @property
    def files(self) -> list[str]:
        return [p.file for p in self.prompts if not p.missing]

    @property
    def commands(self) -> list[str]:
        return [e.command for e in self.exchanges]

    @property
    def commands_after_hangup(self) -> list[str]:
        return [e.command for e in self.exchanges if e.dead]


# --- misbehaviour knobs -------------------------------------------------------------------------

@dataclass(frozen=True)
class Misbehaviour:
    """A peer that does not behave like Asterisk. Build with the class methods."""

    kind: Literal["garbage", "oversize_line", "close_before_blank_line", "slow_loris",
                  "eof_after_commands"]
    data: bytes = b""
    size: int = 0
    interval: float = 0.05
    commands: int = 0

    @classmethod
    def garbage(cls, data: bytes = b"GET / HTTP/1.1\r\nHost: arspay\r\n\r\n") -> Misbehaviour:
        """Send these bytes instead of an environment."""
        return cls("garbage", data=data)

    @classmethod
    def oversize_line(cls, size: int = 100_000) -> Misbehaviour:
        """One environment line of ``size`` bytes."""
        return cls("oversize_line", size=size)

    @classmethod
    def close_before_blank_line(cls) -> Misbehaviour:
        """Send the environment lines, then close before the blank line."""
        return cls("close_before_blank_line")

    @classmethod
    def slow_loris(cls, interval: float = 0.05) -> Misbehaviour:
        """Drip the environment one byte per ``interval`` seconds, never finishing it."""
        return cls("slow_loris", interval=interval)

    @classmethod
    def eof_after_commands(cls, commands: int) -> Misbehaviour:
        """Answer ``commands`` commands, then close the socket without ``HANGUP``."""
        return cls("eof_after_commands", commands=commands)


# --- the line: where keys come from -------------------------------------------------------------

@dataclass(frozen=True)
class _Heard:
    kind: Literal["key", "timeout", "hangup", "disconnect"]
    key: str = ""


class _Line:
    """The payer's side of the channel, in virtual or real time."""

    pressed: str
    consumed: str
    dropped: str

    @property
    def now(self) -> int:
        raise NotImplementedError

    def prompt_started(self, prompt_id: str, file: str, duration_ms: int) -> None:
        raise NotImplementedError

    def input_wanted(self, duration_ms: int) -> None:
        raise NotImplementedError

    def keys_pending(self) -> bool:
        raise NotImplementedError

    async def listen(self, window_ms: int | None, accept: str) -> _Heard:
        """Wait up to ``window_ms`` (None: forever) for a key in ``accept``; other keys are
        swallowed. Also returns a hangup or disconnect that happens meanwhile."""
        raise NotImplementedError

    def due(self) -> Literal["hangup", "disconnect"] | None:
        """A hangup/disconnect that has happened by now and was not reported yet."""
        raise NotImplementedError

    def hang_up_now(self) -> None:
        raise NotImplementedError

    def leftover(self) -> str:
        return ""


class _VirtualLine(_Line):
    def __init__(self, payer: Payer, patience_ms: int) -> None:
        self.payer = payer
        self.patience_ms = patience_ms
        self._now = 0
        self._events: list[PayerEvent] = []
        self.pressed = self.consumed = self.dropped = ""

    @property
    def now(self) -> int:
        return self._now

    def _schedule(self, events: Iterable[PayerEvent]) -> None:
        for event in events:
            heapq.heappush(self._events, event)

    def prompt_started(self, prompt_id: str, file: str, duration_ms: int) -> None:
        self._schedule(self.payer.on_prompt(prompt_id, self._now, self._now + duration_ms))

    def input_wanted(self, duration_ms: int) -> None:
        self._schedule(self.payer.on_input_wanted(self._now, self._now + duration_ms))

    def keys_pending(self) -> bool:
        return any(e.kind == "key" for e in self._events)

    async def listen(self, window_ms: int | None, accept: str) -> _Heard:
        end = None if window_ms is None else self._now + max(0, window_ms)
        while self._events and (end is None or self._events[0].at_ms < end):
            event = heapq.heappop(self._events)
            self._now = max(self._now, event.at_ms)
            if event.kind != "key":
                return _Heard(event.kind)
            self.pressed += event.key
            if event.key in accept:
                self.consumed += event.key
                return _Heard("key", event.key)
            self.dropped += event.key
        if end is None:  # waiting forever on a payer with nothing left to do: they give up
            self._now += self.patience_ms
            return _Heard("hangup")
        self._now = end
        return _Heard("timeout")

    def due(self) -> Literal["hangup", "disconnect"] | None:
        for index, event in enumerate(self._events):
            if event.kind != "key" and event.at_ms <= self._now:
                del self._events[index]
                heapq.heapify(self._events)
                return event.kind  # type: ignore[return-value]
        return None

    def hang_up_now(self) -> None:
        self._schedule([PayerEvent(self._now, -1, "hangup")])

    def leftover(self) -> str:
        return "".join(e.key for e in sorted(self._events) if e.kind == "key")


class _LiveLine(_Line):
    def __init__(self, payer: InteractivePayer) -> None:
        self.payer = payer
        self._t0 = time.monotonic()
        self._hangup = asyncio.Event()
        self._hangup_reported = False
        self.pressed = self.consumed = self.dropped = ""

    @property
    def now(self) -> int:
        return round((time.monotonic() - self._t0) * 1000)

    def prompt_started(self, prompt_id: str, file: str, duration_ms: int) -> None:
        self.payer.on_prompt(prompt_id, file)

    def input_wanted(self, duration_ms: int) -> None:
        pass

    def keys_pending(self) -> bool:
        return False

    async def listen(self, window_ms: int | None, accept: str) -> _Heard:
        loop = asyncio.get_running_loop()
        deadline = None if window_ms is None else loop.time() + window_ms / 1000
        while True:
            if self._hangup.is_set():
                self._hangup_reported = True
                return _Heard("hangup")
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return _Heard("timeout")
            key_task = asyncio.ensure_future(self.payer.next_key(remaining))
            hangup_task = asyncio.ensure_future(self._hangup.wait())
            await asyncio.wait({key_task, hangup_task}, return_when=asyncio.FIRST_COMPLETED)
            hangup_task.cancel()
            if not key_task.done():
                key_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await key_task
                continue  # the hangup is reported at the top of the loop
            key = key_task.result()
            if key is None:
                return _Heard("timeout")
            self.pressed += key
            if key in accept:
                self.consumed += key
                return _Heard("key", key)
            self.dropped += key

    def due(self) -> Literal["hangup", "disconnect"] | None:
        if self._hangup.is_set() and not self._hangup_reported:
            self._hangup_reported = True
            return "hangup"
        return None

    def hang_up_now(self) -> None:
        self._hangup.set()


# --- commands ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Spec:
    words: tuple[str, ...]
    method: str
    dead_ok: bool
    usage: str

    @property
    def name(self) -> str:
        return " ".join(self.words)


_SPECS: tuple[_Spec, ...] = (
    _Spec(("ANSWER",), "_answer", False,
          " Usage: ANSWER\n        Answers channel if not already in answer state."),
    _Spec(("STREAM", "FILE"), "_stream_file", False,
          " Usage: STREAM FILE <filename> <escape_digits> [sample offset]\n"
          "        Send the given file, allowing playback to be interrupted by the given "
          "digits, if any."),
    _Spec(("GET", "DATA"), "_get_data", False,
          " Usage: GET DATA <file to be streamed> [timeout] [maxdigits]\n"
          "        Stream the given file, and receive DTMF data."),
    _Spec(("WAIT", "FOR", "DIGIT"), "_wait_for_digit", False,
          " Usage: WAIT FOR DIGIT <timeout>\n"
          "        Waits up to timeout milliseconds for channel to receive a DTMF digit."),
    _Spec(("SAY", "DIGITS"), "_say_digits", False,
          " Usage: SAY DIGITS <number> <escape_digits>\n"
          "        Say a given digit string, returning early if any of the given DTMF digits "
          "are received on the channel."),
    _Spec(("SAY", "NUMBER"), "_say_number", False,
          " Usage: SAY NUMBER <number> <escape_digits> [gender]\n"
          "        Say a given number, returning early if any of the given DTMF digits are "
          "received on the channel."),
    _Spec(("EXEC",), "_exec", True,
          " Usage: EXEC <application> <options>\n"
          "        Executes application with given options."),
    _Spec(("SET", "VARIABLE"), "_set_variable", True,
          " Usage: SET VARIABLE <variablename> <value>\n"
          "        Sets a variable to the given value."),
    _Spec(("GET", "VARIABLE"), "_get_variable", True,
          " Usage: GET VARIABLE <variablename>\n        Returns 0 if variablename is not set."),
    _Spec(("GET", "FULL", "VARIABLE"), "_get_full_variable", True,
          " Usage: GET FULL VARIABLE <variablename> [<channel name>]\n"
          "        Evaluates the given expression against the channel."),
    _Spec(("VERBOSE",), "_verbose", True,
          " Usage: VERBOSE <message> <level>\n        Sends message to the console."),
    _Spec(("NOOP",), "_noop", True, " Usage: NOOP\n        Does nothing."),
    _Spec(("HANGUP",), "_hangup", False,
          " Usage: HANGUP [<channelname>]\n        Hangs up the specified channel."),
    _Spec(("CHANNEL", "STATUS"), "_channel_status", False,
          " Usage: CHANNEL STATUS [<channelname>]\n        Returns the status of the channel."),
)

_KNOWN_APPS = frozenset({
    "answer", "background", "gosub", "goto", "log", "mixmonitor", "noop", "playback",
    "progress", "ringing", "set", "stopmixmonitor", "verbose", "wait", "hangup",
})
_USAGE = object()   # the handler saw the wrong arguments
_DISCONNECT = object()  # the payer closed the socket during the command


class _Inbox:
    """Command lines from the server, read ahead so a pipelined command can be noticed."""

    def __init__(self) -> None:
        self._items: deque[tuple[str | None, float]] = deque()
        self._ready = asyncio.Event()
        self.arrived_at = 0.0  # perf_counter() when the line get() last returned was read

    def put(self, item: str | None) -> None:
        self._items.append((item, time.perf_counter()))
        self._ready.set()

    async def get(self) -> str | None:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        item, self.arrived_at = self._items.popleft()
        return item

    def has_command(self) -> bool:
        return bool(self._items) and self._items[0][0] is not None


def _find_spec(argv: list[str]) -> _Spec | None:
    best: _Spec | None = None
    for spec in _SPECS:
        n = len(spec.words)
        if len(argv) >= n and all(a.upper() == w for a, w in zip(argv, spec.words, strict=False)):
            if best is None or n > len(best.words):
                best = spec
    return best


def _atoi(text: str) -> int:
    """C ``atoi``: the leading integer, 0 when there is none."""
    m = re.match(r"\s*([+-]?\d+)", text)
    return int(m.group(1)) if m else 0


def _scan_int(text: str) -> int | None:
    """C ``sscanf("%d")``: the leading integer, None when there is none."""
    m = re.match(r"\s*([+-]?\d+)", text)
    return int(m.group(1)) if m else None


def number_files(n: int) -> list[str]:
    """English ``SAY NUMBER`` sound files (Asterisk's ``digits/…``), enough for the simulator."""
    if n < 0:
        return ["digits/minus", *number_files(-n)]
    if n < 20:
        return [f"digits/{n}"]
    if n < 100:
        tens, rest = divmod(n, 10)
        return [f"digits/{tens * 10}", *([f"digits/{rest}"] if rest else [])]
    for unit, word in ((1_000_000_000, "billion"), (1_000_000, "million"), (1000, "thousand"),
                       (100, "hundred")):
        if n >= unit:
            high, rest = divmod(n, unit)
            return [*number_files(high), f"digits/{word}", *(number_files(rest) if rest else [])]
    raise AssertionError("unreachable")


def _digit_file(ch: str) -> str:
    return {"*": "digits/star", "#": "digits/pound"}.get(
        ch, f"digits/{ch}" if ch.isdigit() else f"letters/{ch.lower()}")


# --- the call ----------------------------------------------------------------------------------

_call_numbers = itertools.count(1)


class SimulatedCall:
    """One call placed by the simulated Asterisk against a FastAGI server."""

    def __init__(self, host: str = "127.0.0.1", port: int = DEFAULT_PORT, *,
                 script: str = "ars", dialled: str = "16005001",
                 caller_id: str | None = "01012345678", caller_name: str = "Payer",
                 presentation: int = PRES_ALLOWED, args: Iterable[str] = (),
                 env_overrides: Mapping[str, str] | None = None,
                 payer: Payer | InteractivePayer | None = None,
                 missing_files: Iterable[str] = frozenset(),
                 agisighup: bool = True, exit_on_hangup: bool = False,
                 double_hangup: bool = False, language: str = "en",
                 sound_prefix: str = "arspay",
                 prompt_ms: int | Mapping[str, int] | Callable[[str], int] = DEFAULT_PROMPT_MS,
                 misbehaviour: Misbehaviour | None = None, patience_ms: int = 30_000,
                 io_timeout: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.payer = payer if payer is not None else Payer.silent()
        self.missing_files = frozenset(missing_files)
        self.agisighup = agisighup
        self.exit_on_hangup = exit_on_hangup
        self.double_hangup = double_hangup
        self.language = language
        self.sound_prefix = sound_prefix.strip("/")
        self.prompt_ms = prompt_ms
        self.misbehaviour = misbehaviour
        self.io_timeout = io_timeout
        number = next(_call_numbers)
        env = {
            "agi_network": "yes",
            "agi_network_script": script,
            "agi_request": f"agi://{host}:{port}/{script}",
            "agi_channel": f"Local/{dialled}@ars-inbound-{number:08x};2",
            "agi_language": language,
            "agi_type": "Local",
            "agi_uniqueid": f"{int(time.time())}.{number}",
            "agi_version": "22.1.0",
            "agi_callerid": caller_id or "unknown",
            "agi_calleridname": caller_name or "unknown",
            "agi_callingpres": str(presentation),
            "agi_callingani2": "0",
            "agi_callington": "0",
            "agi_callingtns": "0",
            "agi_dnid": "unknown",
            "agi_rdnis": "unknown",
            "agi_context": "ars-inbound",
            "agi_extension": dialled,
            "agi_priority": "3",
            "agi_enhanced": "0.0",
            "agi_accountcode": "",
            "agi_threadid": str(140674307102400 + number),
        }
        for index, arg in enumerate(args, start=1):
            env[f"agi_arg_{index}"] = arg
        env.update(env_overrides or {})
        self.environment = env
        self._line: _Line = (_VirtualLine(self.payer, patience_ms)
                             if isinstance(self.payer, Payer) else _LiveLine(self.payer))
        self._transcript = CallTranscript(environment=dict(env))
        self._writer: asyncio.StreamWriter | None = None
        self._dead = False
        self._notice_pending = False
        self._second_hangup_sent = False
        self._server_knows_hangup = False
        self._finished = False
        self._busy = False
        self._replies_sent = 0
        self._last_command = ""
        self._ended: Ending | None = None
        self._last_write_at = 0.0
        self._turnaround: float | None = None

    # --- driving -------------------------------------------------------------------------------

    def hang_up(self) -> None:
        """The payer hangs up now (real time): answered at once when the server is idle, or as
        the ``result=-1`` of the running command."""
        self._line.hang_up_now()
        if not self._busy and not self._finished and self._writer is not None:
            self._deliver_due()

    async def run(self) -> CallTranscript:
        started = time.monotonic()
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        self._writer = writer
        try:
            if self.misbehaviour is not None and self.misbehaviour.kind != "eof_after_commands":
                await self._misbehave(reader, writer)
            else:
                await self._converse(reader, writer)
        finally:
            if not writer.is_closing():
                writer.close()
            with contextlib.suppress(ConnectionError, OSError, TimeoutError):
                async with asyncio.timeout(1.0):
                    await writer.wait_closed()
        t = self._transcript
        t.keys_pressed = self._line.pressed + self._line.leftover()
        t.keys_consumed = self._line.consumed
        t.keys_dropped = self._line.dropped
        t.keys_left = self._line.leftover()
        t.ended_by = self._ended or "server_closed"
        if isinstance(self.payer, Payer):
            t.payer_reactions = list(self.payer.fired)
            t.duration_ms = self._line.now
        else:
            t.duration_ms = round((time.monotonic() - started) * 1000)
        return t

    def _end(self, how: Ending) -> None:
        if self._ended is None:
            self._ended = how

    async def _converse(self, reader: asyncio.StreamReader,
                        writer: asyncio.StreamWriter) -> None:
        writer.write(format_env(self.environment))
        self._last_write_at = time.perf_counter()
        await writer.drain()
        lines = _Inbox()
        reading = asyncio.create_task(self._read_lines(reader, lines))
        try:
            while not self._finished:
                try:
                    async with asyncio.timeout(self.io_timeout):
                        line = await lines.get()
                except TimeoutError:
                    self._end("stalled")
                    break
                if line is None:
                    self._end("server_closed")
                    break
                self._turnaround = lines.arrived_at - self._last_write_at
                await self._on_command(line, lines)
        except (ConnectionError, OSError):
            self._end("server_closed")
        finally:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading

    async def _read_lines(self, reader: asyncio.StreamReader, lines: _Inbox) -> None:
        try:
            while True:
                raw = await reader.readline()
                if not raw.endswith(b"\n"):
                    break
                if len(raw) > MAX_COMMAND_BYTES:
                    self._violation(f"command line of {len(raw)} bytes (limit "
                                    f"{MAX_COMMAND_BYTES})")
                lines.put(raw[:-1].decode("utf-8", errors="replace").rstrip("\r"))
        except (ConnectionError, OSError, ValueError):
            pass
        finally:
            lines.put(None)

    def _violation(self, what: str) -> None:
        log.warning("simulator: protocol violation by the server: %s", what)
        self._transcript.protocol_violations.append(what)

    def _write(self, text: str) -> None:
        assert self._writer is not None
        if not self._writer.is_closing():
            self._writer.write(text.encode() + b"\n")

    def _send_hangup_notice(self) -> None:
        self._notice_pending = False
        if not self.agisighup:
            return
        self._write("HANGUP")
        self._transcript.hangup_sent = True
        if self.exit_on_hangup:
            self._close()

    def _close(self) -> None:
        self._finished = True
        if self._writer is not None and not self._writer.is_closing():
            self._writer.close()

    def _caller_gone(self) -> None:
        """The payer hung up while a command ran: reply first, then the HANGUP notice."""
        self._dead = True
        self._notice_pending = True
        self._end("payer_hangup")

    def _deliver_due(self) -> None:
        """Deliver a hangup/disconnect that happened while the server was idle."""
        what = self._line.due()
        if what == "disconnect":
            self._end("payer_disconnect")
            self._close()
        elif what == "hangup" and not self._dead:
            self._dead = True
            self._end("payer_hangup")
            self._send_hangup_notice()

    async def _on_command(self, line: str, pending: _Inbox) -> None:
        self._busy = True
        try:
            await self._answer_command(line, pending)
        finally:
            self._busy = False
        if self._finished:
            return
        if self._notice_pending:
            self._send_hangup_notice()
        if not self._finished:
            self._deliver_due()
        if self._writer is not None and not self._finished:
            await self._writer.drain()
        mis = self.misbehaviour
        if mis is not None and mis.kind == "eof_after_commands" \
                and self._replies_sent >= mis.commands:
            self._end("payer_disconnect")
            self._close()

    async def _answer_command(self, line: str, pending: _Inbox) -> None:
        at = self._line.now
        self._deliver_due()  # a hangup the server has not heard of yet goes before the reply
        if self._finished:
            return
        dead_on_arrival = self._dead
        log.debug("simulator << %s", line)
        argv = split_command_line(line)
        spec = _find_spec(argv)
        reply: object
        if spec is None:
            reply = REPLY_INVALID
        elif self._dead and not spec.dead_ok:
            if self._server_knows_hangup and spec.name in MEDIA_COMMANDS | {"ANSWER"}:
                self._violation(f"{spec.name} sent after the server was told of the hangup")
            reply = REPLY_DEAD
            self._server_knows_hangup = True
        else:
            reply = await getattr(self, spec.method)(argv)
            if reply is _USAGE:
                reply = reply_usage(spec.usage)
            self._last_command = spec.name
        # Give the server's pipelined bytes (if any) the chance to arrive before replying.
        for _ in range(3):
            await asyncio.sleep(0)
        if pending.has_command():
            name = spec.name if spec else line.split(" ", 1)[0]
            self._violation(f"new command sent before the reply to {name}")
            if spec is not None and spec.name in MEDIA_COMMANDS:
                reply = None  # Asterisk abandons the running command without a reply
        if reply is _DISCONNECT:
            self._transcript.exchanges.append(
                Exchange(line, None, at, dead_on_arrival, self._turnaround))
            self._end("payer_disconnect")
            self._close()
            return
        text = reply if isinstance(reply, str) else None
        if text is not None:
            if self.double_hangup and self._transcript.hangup_sent and dead_on_arrival \
                    and not self._second_hangup_sent:
                self._second_hangup_sent = True  # "a second HANGUP may arrive"
                self._write("HANGUP")
            self._write(text)
            self._last_write_at = time.perf_counter()
            self._replies_sent += 1
            if self._transcript.hangup_sent:
                self._server_knows_hangup = True
        self._transcript.exchanges.append(
            Exchange(line, text, at, dead_on_arrival, self._turnaround))

    # --- sounds --------------------------------------------------------------------------------

    def _prompt_id(self, file: str) -> tuple[str, str | None]:
        prefix = self.sound_prefix + "/" if self.sound_prefix else ""
        if prefix and file.startswith(prefix):
            language, _, prompt_id = file[len(prefix):].partition("/")
            if prompt_id:
                return prompt_id, language
        return file, None

    def _duration(self, prompt_id: str) -> int:
        spec = self.prompt_ms
        if isinstance(spec, int):
            return spec
        if isinstance(spec, Mapping):
            return int(spec.get(prompt_id, DEFAULT_PROMPT_MS))
        return int(spec(prompt_id))

    def _missing(self, file: str, prompt_id: str) -> bool:
        return file in self.missing_files or prompt_id in self.missing_files

    async def _play(self, file: str, command: str, escape: str) -> tuple[_Heard, HeardPrompt]:
        """Play one file; the listening window is the file's length."""
        prompt_id, language = self._prompt_id(file)
        heard_prompt = HeardPrompt(prompt_id, file, language, command, self._line.now)
        self._transcript.prompts.append(heard_prompt)
        if self._missing(file, prompt_id):
            heard_prompt.missing = True
            return _Heard("timeout"), heard_prompt
        duration = self._duration(prompt_id)
        self._line.prompt_started(prompt_id, file, duration)
        heard = await self._line.listen(duration, escape)
        heard_prompt.played_ms = self._line.now - heard_prompt.at_ms
        if heard.kind == "key":
            heard_prompt.interrupted_by = heard.key
        return heard, heard_prompt

    # --- command handlers (argv[0..] are the command words) ------------------------------------

    async def _answer(self, argv: list[str]) -> object:
        self._transcript.answered = True
        return reply_200(0)

    async def _stream_file(self, argv: list[str]) -> object:
        if len(argv) not in (4, 5):
            return _USAGE
        offset = max(0, _atoi(argv[4])) if len(argv) == 5 else 0
        heard, prompt = await self._play(argv[2], "STREAM FILE", argv[3])
        if prompt.missing:
            return reply_200(-1, endpos=0)
        endpos = offset + prompt.played_ms * SAMPLES_PER_MS
        if heard.kind == "disconnect":
            return _DISCONNECT
        if heard.kind == "hangup":
            self._caller_gone()
            return reply_200(-1, endpos=endpos)
        return reply_200(ord(heard.key) if heard.kind == "key" else 0, endpos=endpos)

    async def _get_data(self, argv: list[str]) -> object:
        if not 3 <= len(argv) <= 5:
            return _USAGE
        timeout = _atoi(argv[3]) if len(argv) >= 4 else 0
        max_digits = _atoi(argv[4]) if len(argv) >= 5 else 1024
        max_digits = max_digits if max_digits > 0 else 1024
        files = argv[2].split("&")
        if not self._line.keys_pending():  # a new field for a sequence payer
            total = sum(self._duration(self._prompt_id(f)[0]) for f in files if f)
            self._line.input_wanted(total)
        status, digits = "failed", ""
        for index, file in enumerate(files):
            last = index == len(files) - 1
            if last:
                if timeout > 0:
                    first_wait, next_wait = timeout, timeout
                elif timeout < 0:
                    first_wait = next_wait = None
                else:
                    first_wait, next_wait = 6000, 2000
            else:
                first_wait, next_wait = 50, 2000
            status, digits = await self._read_string(file, max_digits, first_wait, next_wait)
            if status in ("empty_end", "hangup", "disconnect") or digits:
                break
        if status == "disconnect":
            return _DISCONNECT
        if status == "hangup":
            self._caller_gone()
            return reply_200(-1)
        if status == "failed":
            return reply_200(-1)
        if status == "timeout":
            return reply_200(digits, "timeout")
        return reply_200(digits)  # complete, or empty_end: "200 result="

    async def _read_string(self, file: str, max_digits: int, first_wait: int | None,
                           next_wait: int | None) -> tuple[str, str]:
        """Asterisk's ``ast_readstring`` after the prompt: returns (status, digits)."""
        if file:
            heard, prompt = await self._play(file, "GET DATA", DTMF_KEYS)
            if prompt.missing:
                return "failed", ""
            if heard.kind == "timeout":  # the prompt played through
                heard = await self._line.listen(first_wait, DTMF_KEYS)
        else:
            heard = await self._line.listen(first_wait, DTMF_KEYS)
        digits = ""
        while True:
            if heard.kind in ("hangup", "disconnect"):
                return heard.kind, digits
            if heard.kind == "timeout":
                return "timeout", digits
            if heard.key == "#" and not digits:
                return "empty_end", ""
            if heard.key != "#":
                digits += heard.key
            if heard.key == "#" or len(digits) >= max_digits:
                return "complete", digits
            heard = await self._line.listen(next_wait, DTMF_KEYS)

    async def _wait_for_digit(self, argv: list[str]) -> object:
        if len(argv) != 4 or (timeout := _scan_int(argv[3])) is None:
            return _USAGE
        continuing = self._last_command in ("GET DATA", "WAIT FOR DIGIT")
        if not continuing and not self._line.keys_pending():
            self._line.input_wanted(0)
        heard = await self._line.listen(None if timeout < 0 else timeout, DTMF_KEYS)
        if heard.kind == "disconnect":
            return _DISCONNECT
        if heard.kind == "hangup":
            self._caller_gone()
            return reply_200(-1)
        return reply_200(ord(heard.key) if heard.kind == "key" else 0)

    async def _say_files(self, files: list[str], command: str, escape: str) -> object:
        for file in files:
            heard, prompt = await self._play(file, command, escape)
            if prompt.missing:
                continue
            if heard.kind == "disconnect":
                return _DISCONNECT
            if heard.kind == "hangup":
                self._caller_gone()
                return reply_200(-1)
            if heard.kind == "key":
                return reply_200(ord(heard.key))
        return reply_200(0)

    async def _say_digits(self, argv: list[str]) -> object:
        if len(argv) != 4:
            return _USAGE
        return await self._say_files([_digit_file(c) for c in argv[2]], "SAY DIGITS", argv[3])

    async def _say_number(self, argv: list[str]) -> object:
        if len(argv) not in (4, 5) or (number := _scan_int(argv[2])) is None:
            return _USAGE
        return await self._say_files(number_files(number), "SAY NUMBER", argv[3])

    async def _exec(self, argv: list[str]) -> object:
        if len(argv) < 2:
            return _USAGE
        app = argv[1].lower()
        if app not in _KNOWN_APPS:
            return reply_200(-2)
        if app == "hangup":
            if not self._dead:
                self._dead = True
                self._notice_pending = True
                self._end("server_hangup")
            return reply_200(-1)
        return reply_200(-1 if self._dead and app in ("playback", "background", "wait") else 0)

    def _variable(self, name: str) -> str | None:
        builtin = {
            "CHANNEL": self.environment["agi_channel"],
            "UNIQUEID": self.environment["agi_uniqueid"],
            "CALLERID(num)": self.environment["agi_callerid"],
            "CALLERID(name)": self.environment["agi_calleridname"],
            "CHANNEL(language)": self.language,
            "EXTEN": self.environment["agi_extension"],
            "CONTEXT": self.environment["agi_context"],
        }
        if name in self._transcript.variables:
            return self._transcript.variables[name]
        return builtin.get(name)

    async def _set_variable(self, argv: list[str]) -> object:
        if len(argv) != 4:
            return _USAGE
        self._transcript.variables[argv[2]] = argv[3]
        if argv[2].upper() == "CHANNEL(LANGUAGE)":
            self.language = argv[3]
        return reply_200(1)

    async def _get_variable(self, argv: list[str]) -> object:
        if len(argv) != 3:
            return _USAGE
        value = self._variable(argv[2])
        return reply_200(0) if value is None else reply_200(1, value)

    async def _get_full_variable(self, argv: list[str]) -> object:
        if len(argv) not in (3, 4):
            return _USAGE
        value = re.sub(r"\$\{([^}]*)\}", lambda m: self._variable(m.group(1)) or "", argv[3])
        return reply_200(1, value)

    async def _verbose(self, argv: list[str]) -> object:
        return _USAGE if len(argv) < 2 else reply_200(1)

    async def _noop(self, argv: list[str]) -> object:
        return reply_200(0)

    async def _hangup(self, argv: list[str]) -> object:
        if len(argv) > 2:
            return _USAGE
        self._dead = True
        self._notice_pending = True
        self._end("server_hangup")
        return reply_200(1)

    async def _channel_status(self, argv: list[str]) -> object:
        if len(argv) > 3:
            return _USAGE
        return reply_200(6 if self._transcript.answered else 4)  # AST_STATE_UP / _RING

    # --- misbehaving peers ---------------------------------------------------------------------

    async def _misbehave(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        mis = self.misbehaviour
        assert mis is not None
        env_lines = format_env(self.environment)[:-1]  # without the blank line
        server_closed = asyncio.create_task(reader.read())  # completes at the server's EOF
        try:
            if mis.kind == "garbage":
                writer.write(mis.data)
            elif mis.kind == "oversize_line":
                writer.write(b"agi_network: yes\nagi_padding: " + b"x" * mis.size + b"\n")
            elif mis.kind == "close_before_blank_line":
                writer.write(env_lines)
                await writer.drain()
                self._end("payer_disconnect")
                return
            elif mis.kind == "slow_loris":
                await self._drip(writer, env_lines, mis.interval, server_closed)
            await writer.drain()
            try:
                async with asyncio.timeout(self.io_timeout):
                    await asyncio.shield(server_closed)
                self._end("rejected")
            except TimeoutError:
                self._end("stalled")
        except (ConnectionError, OSError):
            self._end("rejected")
        finally:
            server_closed.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
                await server_closed

    async def _drip(self, writer: asyncio.StreamWriter, data: bytes, interval: float,
                    server_closed: asyncio.Task[bytes]) -> None:
        """One byte per interval, cycling through ``data`` so the environment never ends."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.io_timeout
        index = 0
        while not server_closed.done() and loop.time() < deadline:
            byte = data[index % len(data): index % len(data) + 1]
            if index >= len(data) and byte == b"\n":
                byte = b"x"  # never two newlines in a row: the blank line never comes
            writer.write(byte)
            await writer.drain()
            index += 1
            await asyncio.sleep(interval)
