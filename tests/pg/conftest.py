"""Fixtures for pg_client: the real PG simulator and a PortOne-shaped server on free ports."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pg_client.portone import PortOneClient
from pg_client.simulator import start_simulator
from pg_client.toss import TossClient

sys.path.insert(0, str(Path(__file__).parent))  # helper modules below, in any import mode
from pg_helpers import CLIENT_TIMEOUT, HANG_DELAY, LATENCY_DELAY, SECRET, Simulator
from pg_portone_server import PortOneServer

IMP_KEY = "imp_test_key"
IMP_SECRET = "imp_test_secret_77ab"


@pytest.fixture
async def simulator() -> AsyncIterator[Simulator]:
    runner, base_url = await start_simulator(
        secret_key=SECRET, latency_delay=LATENCY_DELAY, hang_delay=HANG_DELAY
    )
    yield Simulator(runner, base_url)
    await runner.cleanup()


@pytest.fixture
async def toss(simulator: Simulator) -> AsyncIterator[TossClient]:
    client = TossClient(simulator.base_url, SECRET, timeout=CLIENT_TIMEOUT)
    yield client
    await client.close()


@pytest.fixture
async def portone_server() -> AsyncIterator[PortOneServer]:
    server = PortOneServer(imp_key=IMP_KEY, imp_secret=IMP_SECRET)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def portone(portone_server: PortOneServer) -> AsyncIterator[PortOneClient]:
    client = PortOneClient(portone_server.base_url, IMP_KEY, IMP_SECRET, "nice.iamport00m",
                           timeout=CLIENT_TIMEOUT)
    yield client
    await client.close()
