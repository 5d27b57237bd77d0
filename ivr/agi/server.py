"""The FastAGI server: one task per call, routed on ``agi_network_script``.

A handler is a plain ``async def handler(call: AgiCall) -> None``. The server owns the socket:
it reads the environment, picks the route, runs the handler, and closes the connection whatever
happens. A peer that misbehaves (garbage, oversize lines, a slow or truncated environment) only
loses its own connection; a handler that raises is logged (type and stack frames only, never
the message, which might hold data) and its call is closed.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType

from ivr.agi.channel import AgiChannel
from ivr.agi.connection import AgiConnection, AgiLimits
from ivr.agi.errors import AgiError, AgiProtocolError, CallerHungUp
from ivr.agi.protocol import DEFAULT_PORT, env_args, split_network_script

log = logging.getLogger("ivr.agi.server")


@dataclass
class AgiCall:
    """One incoming call as a handler sees it."""

    env: dict[str, str]
    script: str                 # agi_network_script before '?'
    query: dict[str, str]       # its query string, parsed
    args: list[str]             # agi_arg_1, agi_arg_2, …
    channel: AgiChannel

    @property
    def unique_id(self) -> str:
        return self.env.get("agi_uniqueid", "")


Handler = Callable[[AgiCall], Awaitable[None]]


@dataclass
class AgiServerStats:
    """Counters for metrics; ``live_calls`` is on the server itself."""

    connections: int = 0
    calls: int = 0               # routed to a handler
    hung_up_by_caller: int = 0
    handler_errors: int = 0
    bad_peers: int = 0           # rejected while reading the environment
    protocol_errors: int = 0     # peer misbehaved during the call
    unknown_scripts: int = 0
    cancelled: int = 0           # cut off by stop() after the grace period
    by_script: dict[str, int] = field(default_factory=dict)


class AgiServer:
    def __init__(self, routes: Mapping[str, Handler], host: str = "127.0.0.1",
                 port: int = DEFAULT_PORT, limits: AgiLimits | None = None, *,
                 sound_prefix: str = "arspay", language: str | None = None) -> None:
        self.routes = dict(routes)
        self.host = host
        self._requested_port = port
        self.limits = limits or AgiLimits()
        self.sound_prefix = sound_prefix
        self.language = language
        self.stats = AgiServerStats()
        self._server: asyncio.Server | None = None
        self._calls: set[asyncio.Task[None]] = set()
        self._stopping = False

    @property
    def port(self) -> int:
        """The bound port (the real one when 0 was asked for)."""
        if self._server is None or not self._server.sockets:
            return self._requested_port
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def live_calls(self) -> int:
        return len(self._calls)

    @property
    def serving(self) -> bool:
        return self._server is not None and self._server.is_serving()

    async def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("AgiServer already started")
        self._stopping = False
        self._server = await asyncio.start_server(
            self._serve_connection, self.host, self._requested_port,
            limit=self.limits.max_line_bytes + 1,
        )
        log.info("FastAGI server on %s:%d (scripts: %s)", self.host, self.port,
                 ", ".join(sorted(self.routes)) or "none")

    async def stop(self, grace: float = 10.0) -> None:
        """Stop accepting, let live calls finish for up to ``grace`` seconds, then cancel them."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping = True
        server.close()
        calls = set(self._calls)
        if calls:
            log.info("waiting up to %.1fs for %d live call(s)", grace, len(calls))
            _done, pending = await asyncio.wait(calls, timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("cancelled %d call(s) still running after %.1fs", len(pending), grace)
                await asyncio.gather(*pending, return_exceptions=True)
        await server.wait_closed()
        log.info("FastAGI server stopped")

    async def __aenter__(self) -> AgiServer:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()

    # --- one call ------------------------------------------------------------------------------

    async def _serve_connection(self, reader: asyncio.StreamReader,
                                writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._calls.add(task)
        self.stats.connections += 1
        peer = writer.get_extra_info("peername")
        label = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "peer"
        conn = AgiConnection(reader, writer, self.limits, label=label)
        try:
            await self._run_call(conn)
        except asyncio.CancelledError:
            self.stats.cancelled += 1
            log.warning("%s call cancelled", conn.label)
        except Exception as exc:  # last line of defence: one call never takes the server down
            log.error("%s call failed: %s", conn.label, _describe(exc))
        finally:
            await conn.close()
            self._calls.discard(task)

    async def _run_call(self, conn: AgiConnection) -> None:
        try:
            env = await conn.read_environment()
        except AgiProtocolError as exc:
            self.stats.bad_peers += 1
            log.warning("%s rejected: %s", conn.label, exc)
            return
        conn.label = env.get("agi_uniqueid") or conn.label
        script, query = split_network_script(env.get("agi_network_script", ""))
        handler = self.routes.get(script)
        if handler is None:
            self.stats.unknown_scripts += 1
            log.warning("%s unknown AGI script %r: hanging up", conn.label, script[:64])
            try:
                await conn.command("HANGUP")
            except AgiError:
                pass
            return
        self.stats.calls += 1
        self.stats.by_script[script] = self.stats.by_script.get(script, 0) + 1
        channel = AgiChannel(conn, env, sound_prefix=self.sound_prefix, language=self.language)
        call = AgiCall(env=env, script=script, query=query, args=env_args(env), channel=channel)
        log.info("%s call on script %s", conn.label, script)
        try:
            await handler(call)
        except CallerHungUp:
            self.stats.hung_up_by_caller += 1
            log.info("%s caller hung up", conn.label)
        except AgiProtocolError as exc:
            self.stats.protocol_errors += 1
            log.warning("%s AGI protocol error: %s", conn.label, exc)
        except Exception as exc:
            self.stats.handler_errors += 1
            log.error("%s handler for %s failed: %s", conn.label, script, _describe(exc))
        else:
            log.info("%s call done", conn.label)


def _describe(exc: BaseException) -> str:
    """Exception type and stack frames, without the message (it may carry call data)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = " <- ".join(f"{f.name} ({f.filename.rsplit('/', 1)[-1]}:{f.lineno})"
                        for f in reversed(frames))
    return f"{type(exc).__module__}.{type(exc).__qualname__} at {where or '?'}"
