"""Helpers that make call tests read like the call: a payer who pays, and what to check."""

from __future__ import annotations

from typing import Any

from ivr.agi.payer import Action, HangUp, Keys, OnPrompt
from pg_client.simulator.cards import APPROVE
from tests.conftest import RunningServer

CARD = APPROVE
EXPIRY = "1230"
BIRTHDATE = "880229"
PIN = "47"


def did_of(request: dict[str, Any]) -> str:
    return request["virtual_number"]["display"].replace("-", "")


def paying(
    *,
    card: str = CARD,
    expiry: str = EXPIRY,
    identity: str | None = BIRTHDATE,
    pin: str | None = PIN,
    installments: str | None = None,
    hang_up_at: str | None = None,
    override: dict[str, Action] | None = None,
) -> list[OnPrompt]:
    """The script of a payer who confirms, keys a good card and accepts the read-back.

    ``hang_up_at`` names the prompt at which they hang up instead; ``override`` replaces the
    action at a prompt. Rules match first to last, each once: insert a rule before another for
    the same prompt to make that the first try."""
    steps: list[tuple[str, Action]] = [
        ("confirm", Keys("1")),
        ("card_number", Keys(card + "#", gap_ms=150)),
        ("expiry", Keys(expiry)),
    ]
    if identity is not None:
        steps.append(("identity", Keys(identity + "#")))
    if pin is not None:
        steps.append(("pin", Keys(pin)))
    if installments is not None:
        steps.append(("installments", Keys(installments)))
    steps.append(("readback.2", Keys("1")))
    rules = []
    for prompt, action in steps:
        if override and prompt in override:
            action = override[prompt]
        if prompt == hang_up_at:
            rules.append(OnPrompt(prompt, HangUp()))
            break
        rules.append(OnPrompt(prompt, action))
    if hang_up_at is not None and hang_up_at not in dict(steps):
        rules.append(OnPrompt(hang_up_at, HangUp()))
    return rules


async def status_of(arspay: RunningServer, request_id: str) -> dict[str, Any]:
    status, body = await arspay.get(f"/v1/ars-requests/{request_id}")
    assert status == 200
    return body


def charges(arspay: RunningServer) -> list[Any]:
    """Every payment in the PG simulator's ledger."""
    ledger = arspay.server.pg_simulator.app["ledger"]
    return list(ledger.payments.values())
