from __future__ import annotations

from ivr.agi.payer import Keys, OnPrompt, Payer
from pg_client.simulator.cards import APPROVE
from tests.conftest import RunningServer, create_request, place_call


async def test_payer_pays_by_phone(arspay: RunningServer):
    req = await create_request(arspay, delivery="display")
    did = req["virtual_number"]["display"].replace("-", "")
    payer = Payer.scripted([
        OnPrompt("confirm", Keys("1")),
        OnPrompt("card_number", Keys(APPROVE + "#")),
        OnPrompt("expiry", Keys("1230")),
        OnPrompt("identity", Keys("900101#")),
        OnPrompt("pin", Keys("12")),
        OnPrompt("readback.*", Keys("1")),
    ])
    transcript = await place_call(arspay, payer, dialled=did)
    print(transcript.heard)
    _, got = await arspay.get(f"/v1/ars-requests/{req['id']}")
    assert got["status"] == "approved", got
