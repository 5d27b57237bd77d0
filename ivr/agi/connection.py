"""One FastAGI session on a socket: read the environment, then run one command at a time.

Hangup handling follows shared/reference/agi.md: a ``HANGUP`` line is an out-of-band notice
(the flag is set and the command's real reply is still read), ``100 Trying...`` is skipped, a
``520-`` block is consumed whole, and 511 or EOF mean the caller is gone.

Logging of the exchange goes through :func:`_loggable_reply`, the one redaction point: the reply
of a ``sensitive`` command is logged as ``<code> <redacted>``. Commands themselves never carry
card data (the channel only sends file names and timeouts), so they are logged as sent.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace

from ivr.agi.errors import (
    AgiBadEnvironment,
    AgiCallTooLong,
    AgiCommandFailed,
    AgiConnectionBroken,
    AgiLineTooLong,
    AgiProtocolError,
    AgiTimeout,
    AgiTruncatedReply,
    CallerHungUp,
)
from ivr.agi.protocol import (
    HANGUP_NOTICE,
    MEDIA_COMMANDS,
    AgiReply,
    ReplyReader,
    canonical_command,
    format_command,
    parse_env_line,
)

log = logging.getLogger("ivr.agi.connection")


@dataclass(frozen=True)
class AgiLimits:
    """Every bound on what one peer may make the server hold or wait for."""

    max_line_bytes: int = 8192        # any single line, environment or reply
    max_env_lines: int = 128          # environment lines before the blank line
    max_env_bytes: int = 32 * 1024    # environment block size
    env_timeout: float = 10.0         # the whole environment must arrive within this
    idle_timeout: float = 120.0       # longest wait for any line of a reply
    max_call_seconds: float = 1800.0  # no command is sent after this
    max_reply_lines: int = 256        # lines of one 520 usage block
    write_timeout: float = 10.0       # a peer that stops reading


class _EndOfStream(Exception):
    pass


class AgiConnection:
    """The server side of one FastAGI session."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 limits: AgiLimits | None = None, *, label: str = "-") -> None:
        self._reader = reader
        self._writer = writer
        self.limits = limits or AgiLimits()
        self.label = label
        self.env: dict[str, str] | None = None
        self.hung_up = False        # a HANGUP notice, a 511 or EOF has been seen
        self.commands_sent = 0
        self._lock = asyncio.Lock()
        self._broken: str | None = None
        self._closed = False
        self._deadline: float | None = None

    # --- lines ---------------------------------------------------------------------------------

    async def _read_line(self, wait_s: float) -> str:
        try:
            async with asyncio.timeout(wait_s):
                raw = await self._reader.readuntil(b"\n")
        except asyncio.LimitOverrunError as exc:
            raise AgiLineTooLong(f"line over {self.limits.max_line_bytes} bytes") from exc
        except asyncio.IncompleteReadError as exc:
            if len(exc.partial) > self.limits.max_line_bytes:
                raise AgiLineTooLong(f"line over {self.limits.max_line_bytes} bytes") from None
            raise _EndOfStream from None
        except TimeoutError:
            raise AgiTimeout(f"peer silent for {wait_s:.1f}s") from None
        except (ConnectionError, OSError):
            raise _EndOfStream from None
        if len(raw) - 1 > self.limits.max_line_bytes:
            raise AgiLineTooLong(f"line over {self.limits.max_line_bytes} bytes")
        text = raw[:-1].decode("utf-8", errors="replace")
        return text[:-1] if text.endswith("\r") else text

    async def _write_line(self, line: str) -> None:
        try:
            self._writer.write(line.encode() + b"\n")
            async with asyncio.timeout(self.limits.write_timeout):
                await self._writer.drain()
        except TimeoutError:
            raise AgiTimeout("peer stopped reading") from None
        except (ConnectionError, OSError):
            self.hung_up = True
            raise CallerHungUp("connection closed by Asterisk") from None

    # --- environment ---------------------------------------------------------------------------

    async def read_environment(self) -> dict[str, str]:
        """Read the ``agi_*`` lines up to the blank line, within the environment limits."""
        limits = self.limits
        loop = asyncio.get_running_loop()
        self._deadline = loop.time() + limits.max_call_seconds
        env_deadline = loop.time() + limits.env_timeout
        env: dict[str, str] = {}
        size = 0
        while True:
            remaining = env_deadline - loop.time()
            if remaining <= 0:
                raise AgiTimeout(f"environment not complete within {limits.env_timeout:.1f}s")
            try:
                line = await self._read_line(remaining)
            except _EndOfStream:
                raise AgiBadEnvironment(
                    "connection closed before the end of the environment") from None
            except AgiTimeout:
                raise AgiTimeout(
                    f"environment not complete within {limits.env_timeout:.1f}s") from None
            if line == "":
                if not env:
                    raise AgiBadEnvironment("empty environment")
                self.env = env
                return env
            size += len(line) + 1
            if len(env) >= limits.max_env_lines or size > limits.max_env_bytes:
                raise AgiBadEnvironment("environment over its size limits")
            name, value = parse_env_line(line)
            env[name] = value

    # --- commands ------------------------------------------------------------------------------

    @property
    def usable(self) -> bool:
        return self._broken is None and not self._closed

    async def command(self, command: str, *args: object, sensitive: bool = False,
                      check: bool = True) -> AgiReply:
        """Send one command and return its final reply.

        Raises :class:`CallerHungUp` on 511, EOF, or ``result=-1`` of a media command after a
        ``HANGUP`` notice; :class:`AgiCommandFailed` on 510/520/503 when ``check``;
        :class:`AgiProtocolError` subclasses when the peer misbehaves (the connection is then
        unusable). Other replies are returned even after a ``HANGUP`` notice: look at
        :attr:`hung_up`.
        """
        line = format_command(command, *args)
        name = canonical_command(command)
        async with self._lock:
            if self._closed:
                raise CallerHungUp("connection already closed")
            if self._broken is not None:
                raise AgiConnectionBroken(self._broken)
            completed = False
            try:
                reply = await self._exchange(line, name, sensitive)
                completed = True
            except (CallerHungUp, AgiCommandFailed):
                completed = True
                raise
            finally:
                if not completed:
                    self._broken = f"{name} was abandoned before its reply"
        return self._check(name, reply, check)

    async def _exchange(self, line: str, name: str, sensitive: bool) -> AgiReply:
        loop = asyncio.get_running_loop()
        if self._deadline is None:
            self._deadline = loop.time() + self.limits.max_call_seconds
        if loop.time() >= self._deadline:
            raise AgiCallTooLong(f"call longer than {self.limits.max_call_seconds:.0f}s")
        await self._write_line(line)
        self.commands_sent += 1
        log.debug("%s >> %s", self.label, line)
        assembler = ReplyReader(self.limits.max_reply_lines)
        while True:
            timeout = min(self.limits.idle_timeout, self._deadline - loop.time())
            if timeout <= 0:
                raise AgiCallTooLong(f"call longer than {self.limits.max_call_seconds:.0f}s")
            try:
                text = await self._read_line(timeout)
            except _EndOfStream:
                self.hung_up = True
                if assembler.in_block:
                    raise AgiTruncatedReply("connection closed inside a 520 block") from None
                log.debug("%s << EOF", self.label)
                raise CallerHungUp("connection closed by Asterisk") from None
            item = assembler.feed(text)
            if item is HANGUP_NOTICE:
                self.hung_up = True
                log.debug("%s << HANGUP (notice)", self.label)
                continue
            if item is None:
                continue
            assert isinstance(item, AgiReply)
            if item.code == 100:
                log.debug("%s << %s", self.label, item.raw)
                continue
            reply = replace(item, sensitive=True) if sensitive else item
            log.debug("%s << %s", self.label, _loggable_reply(reply))
            return reply

    def _check(self, name: str, reply: AgiReply, check: bool) -> AgiReply:
        if reply.code == 511:
            self.hung_up = True
            raise CallerHungUp(f"{name} refused: the channel is dead")
        if reply.code == 200:
            if self.hung_up and reply.result == "-1" and name in MEDIA_COMMANDS:
                raise CallerHungUp(f"{name} ended by hangup")
            return reply
        if check:
            raise AgiCommandFailed(name, reply)
        return reply

    # --- end -----------------------------------------------------------------------------------

    async def close(self) -> None:
        """Close the socket (idempotent); Asterisk then goes on with the dialplan."""
        if self._closed:
            return
        self._closed = True
        self._writer.close()
        try:
            async with asyncio.timeout(1.0):
                await self._writer.wait_closed()
        except (TimeoutError, ConnectionError, OSError):
            pass


def _loggable_reply(reply: AgiReply) -> str:
    if reply.sensitive:
        return f"{reply.code} <redacted>"
    return reply.raw


__all__ = ["AgiConnection", "AgiLimits", "AgiProtocolError"]
