"""Card data and secrets never reach a log line, at any level, from any part of pg_client
(adapters, recovery, simulator, the aiohttp machinery underneath)."""

from __future__ import annotations

import base64
import logging

import pytest
from pg_helpers import EXPIRY, SECRET, Simulator, new_order
from pg_portone_server import PortOneServer

from pg_client.card import CardData, CardDataError
from pg_client.outcomes import Approved, BillingKeyIssued
from pg_client.portone import PortOneClient
from pg_client.recovery import authorize_with_recovery, cancel_with_retry, resolve_in_doubt
from pg_client.simulator import cards as sim_cards
from pg_client.toss import TossClient

BUSINESS_NO = "1248100998"
BIRTHDATE = "830517"
PIN = "94"


def secret_card(number: str, identity: str = BIRTHDATE) -> CardData:
    return CardData.create(number, EXPIRY, identity, PIN)


async def test_no_card_data_or_secret_in_logs(
    caplog: pytest.LogCaptureFixture, simulator: Simulator, toss: TossClient,
    portone: PortOneClient, portone_server: PortOneServer,
) -> None:
    caplog.set_level(logging.DEBUG)
    billing_keys: list[str] = []

    # Toss against the simulator: approve, decline, in-doubt + recovery, billing, cancel.
    approved = await toss.authorize_keyed(new_order(60_000), secret_card(sim_cards.APPROVE), 3)
    assert isinstance(approved, Approved)
    await toss.authorize_keyed(new_order(), secret_card(sim_cards.WRONG_PIN, BUSINESS_NO), 0)
    dropped = new_order(17_773)
    await authorize_with_recovery(
        toss, lambda: toss.authorize_keyed(dropped, secret_card(sim_cards.APPROVE_AMEX), 0),
        dropped.order_id, backoff=0.01)
    await resolve_in_doubt(toss, "order-unknown-1", lookups=1)
    issued = await toss.issue_billing_key("cust-leak", secret_card(sim_cards.APPROVE_MASTERCARD))
    assert isinstance(issued, BillingKeyIssued)
    billing_keys.append(issued.billing_key)
    await toss.charge_billing_key(issued.billing_key, "cust-leak", new_order(), 0)
    await cancel_with_retry(toss, approved.payment_ref, 1_000, "부분 환불", "leak-cancel")

    # PortOne: token, 401 renewal, paid, failed, billing key, cancel.
    await portone.authorize_keyed(new_order(), secret_card(sim_cards.APPROVE), 0)
    portone_server.revoke_tokens()
    await portone.authorize_keyed(new_order(), secret_card(sim_cards.INSUFFICIENT_LIMIT), 0)
    await portone.issue_billing_key("cust_leak_p", secret_card(sim_cards.APPROVE_BC_DOMESTIC))
    await portone.authorize_keyed(new_order(17_773), secret_card(sim_cards.APPROVE), 0)

    # Validation errors, logged the way a careless caller would (the traceback prints source
    # lines, so the number is a variable here, as it is in the IVR).
    keyed = sim_cards.APPROVE[:-1] + "8"  # Luhn fails
    try:
        CardData.create(keyed, EXPIRY, BIRTHDATE, PIN)
    except CardDataError:
        logging.getLogger("careless.caller").exception("card rejected")

    text = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    assert "toss key-in" in text and "portone" in text  # the logs were really captured
    forbidden = {
        *sim_cards.TEST_CARDS,  # every full number
        "4330-2800-0000-0019", "3782-000000-00000",  # PortOne formatting
        "4330280000000018",
        BIRTHDATE, BUSINESS_NO,
        SECRET, base64.b64encode(f"{SECRET}:".encode()).decode(),
        "imp_test_secret_77ab",
        *portone_server.tokens, *billing_keys,
        "cardPassword", "pwd_2digit", "customerIdentityNumber", "cardNumber",
    }
    leaked = sorted(item for item in forbidden if item in text)
    assert not leaked, f"leaked into logs: {[item[:6] + '…' for item in leaked]}"
    # PIN digits: no log line carries a PIN-bearing field at all (checked above), and the
    # two digits never appear next to a PIN word.
    for word in ("pin", "password", "비밀번호"):
        assert f"{word}={PIN}" not in text.lower() and f"{word}: {PIN}" not in text.lower()
