"""Fixtures of the FastAGI tests: real AgiServers on free loopback ports."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest
from agi_helpers import FAST_LIMITS, StartServer

from ivr.agi import AgiLimits, AgiServer, Handler


@pytest.fixture
async def start_server() -> AsyncIterator[StartServer]:
    """``await start_server({"script": handler}, limits=..., **options)`` → a running server,
    stopped after the test."""
    servers: list[AgiServer] = []

    async def start(routes: Mapping[str, Handler], limits: AgiLimits = FAST_LIMITS,
                    **options: Any) -> AgiServer:
        server = AgiServer(routes, port=0, limits=limits, **options)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop(grace=0.5)
