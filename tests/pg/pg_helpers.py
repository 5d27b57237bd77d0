"""Shared constants and helpers for the pg_client tests (imported by conftest and tests)."""

from __future__ import annotations

import datetime as dt
import itertools
import socket

from aiohttp import web

from pg_client.base import Order
from pg_client.card import CardData
from pg_client.simulator import Ledger
from pg_client.simulator import cards as sim_cards

SECRET = "test_sk_arspay_unit_secret_9f3c"
CLIENT_TIMEOUT = 0.3  # seconds; the simulator's "hang" lasts longer
HANG_DELAY = 1.0
LATENCY_DELAY = 0.05

# A future expiry that stays valid for years.
EXPIRY = f"12{(dt.date.today().year + 3) % 100:02d}"
BIRTHDATE = "900101"
PIN2 = "12"

_order_numbers = itertools.count(1)


def new_order(amount: int = 15_000, *, name: str = "테스트 상품", key: str | None = None) -> Order:
    n = next(_order_numbers)
    order_id = f"order-{n:06d}-{amount}"
    return Order(order_id, name, amount, "홍길동", key or f"idem-{order_id}")


def card(number: str = sim_cards.APPROVE) -> CardData:
    return CardData.create(number, EXPIRY, BIRTHDATE, PIN2)


class Simulator:
    def __init__(self, runner: web.AppRunner, base_url: str) -> None:
        self.runner = runner
        self.base_url = base_url

    @property
    def ledger(self) -> Ledger:
        return self.runner.app["ledger"]


def closed_port() -> int:
    """A local port nobody listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
