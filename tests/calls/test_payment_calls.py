"""Full payment calls: the Asterisk-side simulator calls the real FastAGI server, which uses
real Redis and the PG simulator over HTTP."""

from __future__ import annotations

import asyncio

import pytest

from ivr.agi.payer import HangUp, Keys, OnPrompt, Payer, Silence
from pg_client.simulator import cards
from tests.calls.callkit import (
    CARD,
    charges,
    did_of,
    paying,
    status_of,
)
from tests.conftest import RunningServer, create_request, place_call


async def test_payer_pays_and_hears_the_approval_number(arspay: RunningServer):
    req = await create_request(arspay, delivery="display")
    call = await place_call(arspay, paying(), dialled=did_of(req))
    got = await status_of(arspay, req["id"])
    assert got["status"] == "approved"
    payment = got["payment"]
    assert payment["card"]["masked"].endswith("0019")
    assert payment["approved_amount"] == 28_500
    heard = call.heard
    assert heard[:2] == ["greet", "language_switch"]
    assert {"confirm", "card_number", "expiry", "identity", "pin", "wait"} <= set(heard)
    assert "installments" not in heard  # 28,500 < 50,000
    approval = heard[heard.index("approved.0") + 1 : heard.index("approved.1")]
    assert approval == [f"digit/{d}" for d in payment["approval_number"]]
    assert call.ended_by == "server_hangup"
    assert not call.protocol_violations
    assert not call.commands_after_hangup
    [charge] = charges(arspay)
    assert charge.order_id.startswith(req["id"])


async def test_announcement_reads_merchant_product_and_amount(arspay: RunningServer):
    req = await create_request(arspay, delivery="display", amount=1_250_000,
                               max_installment_months=0)
    call = await place_call(arspay, paying(), dialled=did_of(req))
    heard = call.heard
    start = heard.index("announce.1") + 1
    # 백 이 십 오 만 원
    assert heard[start : heard.index("announce.2")] == ["num/100", "num/2", "num/10", "num/5",
                                                        "num/10000", "won"]
    dyn = [p for p in heard if p.startswith("dyn/")]
    from prompts.catalogue import text_for

    assert [text_for(p, "ko", arspay.tmp_path / "sounds") for p in dyn[:2]] == [
        "행복상점", "커피 원두 1kg"]


async def test_installments_are_asked_from_50000_won(arspay: RunningServer):
    req = await create_request(arspay, delivery="display", amount=60_000)
    call = await place_call(arspay, paying(installments="3#"), dialled=did_of(req))
    got = await status_of(arspay, req["id"])
    assert got["status"] == "approved"
    assert got["payment"]["installment_months"] == 3
    assert "installments" in call.heard


async def test_one_month_installment_is_refused_then_lump_sum(arspay: RunningServer):
    req = await create_request(arspay, delivery="display", amount=60_000)
    payer = paying(installments="1#")
    payer.append(OnPrompt("installments", Keys("0#")))
    call = await place_call(arspay, payer, dialled=did_of(req))
    assert "installments_invalid" in call.heard
    got = await status_of(arspay, req["id"])
    assert got["status"] == "approved" and got["payment"]["installment_months"] == 0


@pytest.mark.parametrize(("card", "category"), [
    (c.number, c.category) for c in cards.TEST_CARDS.values()
    if c.category and c.stage != cards.Stage.installment
])
async def test_every_decline_category_is_spoken_and_recorded(
    arspay: RunningServer, card: str, category: str
):
    req = await create_request(arspay, delivery="display")
    payer = paying(card=card)
    payer.append(OnPrompt("retry_other_card", Keys("2")))
    call = await place_call(arspay, payer, dialled=did_of(req))
    got = await status_of(arspay, req["id"])
    assert got["status"] == "declined"
    assert got["decline"]["category"] == category
    heard = call.heard
    assert heard[heard.index("declined") + 1] == f"reason_{category}"
    assert "retry_other_card" in heard and "goodbye" in heard
    assert charges(arspay) == []


async def test_installment_refusal_category(arspay: RunningServer):
    req = await create_request(arspay, delivery="display", amount=60_000)
    payer = paying(card=cards.NO_INSTALLMENTS, installments="3#")
    payer.append(OnPrompt("retry_other_card", Keys("2")))
    call = await place_call(arspay, payer, dialled=did_of(req))
    got = await status_of(arspay, req["id"])
    assert got["decline"]["category"] == "installment_not_allowed"
    assert "reason_installment_not_allowed" in call.heard


async def test_decline_then_another_card_is_approved(arspay: RunningServer):
    req = await create_request(arspay, delivery="display")
    payer = Payer.scripted([
        OnPrompt("confirm", Keys("1")),
        OnPrompt("card_number", Keys(cards.INSUFFICIENT_LIMIT + "#")),
        OnPrompt("card_number", Keys(cards.APPROVE_MASTERCARD + "#")),
        OnPrompt("expiry", Keys("1230"), every_time=True),
        OnPrompt("identity", Keys("880229#"), every_time=True),
        OnPrompt("pin", Keys("47"), every_time=True),
        OnPrompt("readback.2", Keys("1"), every_time=True),
        OnPrompt("retry_other_card", Keys("1")),
    ])
    call = await place_call(arspay, payer, dialled=did_of(req))
    got = await status_of(arspay, req["id"])
    assert got["status"] == "approved"
    assert got["payment"]["card"]["masked"].endswith("0014")
    assert call.heard.count("card_number") == 2
    events = [e.type for e in await arspay.server.services.store.events(req["id"])]
    assert "declined_retry" in events and events.count("authorizing") == 2


async def test_second_decline_is_final(arspay: RunningServer):
    req = await create_request(arspay, delivery="display")
    payer = Payer.scripted([
        OnPrompt("confirm", Keys("1")),
        OnPrompt("card_number", Keys(cards.WRONG_PIN + "#"), every_time=True),
        OnPrompt("expiry", Keys("1230"), every_time=True),
        OnPrompt("identity", Keys("880229#"), every_time=True),
        OnPrompt("pin", Keys("47"), every_time=True),
        OnPrompt("readback.2", Keys("1"), every_time=True),
        OnPrompt("retry_other_card", Keys("1")),
    ])
    call = await place_call(arspay, payer, dialled=did_of(req))
    assert (await status_of(arspay, req["id"]))["status"] == "declined"
    assert call.heard.count("retry_other_card") == 1


async def test_hangup_after_a_decline_makes_it_final(arspay: RunningServer):
    req = await create_request(arspay, delivery="display")
    payer = paying(card=cards.STOPPED_CARD)
    payer.append(OnPrompt("retry_other_card", HangUp()))
    await place_call(arspay, payer, dialled=did_of(req))
    got = await status_of(arspay, req["id"])
    assert got["status"] == "declined" and got["decline"]["category"] == "stopped_or_lost"


async def test_payer_presses_2_to_cancel(arspay: RunningServer):
    req = await create_request(arspay, delivery="display")
    call = await place_call(arspay, Payer.scripted([OnPrompt("confirm", Keys("2"))]),
                            dialled=did_of(req))
    got = await status_of(arspay, req["id"])
    assert got["status"] == "cancelled"
    assert got["cancellation"]["cancelled_by"] == "payer"
    assert call.heard[-1] == "cancelled_by_payer"


# --- bad input --------------------------------------------------------------------------------

@pytest.mark.parametrize(("field", "bad", "prompt"), [
    ("card_number", "4330280000000018#", "card_number_invalid"),  # Luhn fails
    ("card_number", "123456#", "card_number_invalid"),  # too short
    ("expiry", "1399", "expiry_invalid"),  # month 13
    ("expiry", "0120", "expiry_invalid"),  # in the past
    ("identity", "881332#", "identity_invalid"),  # no such date
    ("identity", "1234567890#", "identity_invalid"),  # business number check digit wrong
    ("identity", "8802#", "identity_invalid"),  # wrong length
])
async def test_invalid_field_is_explained_and_asked_again(
    arspay: RunningServer, field: str, bad: str, prompt: str
):
    req = await create_request(arspay, delivery="display")
    payer = paying()
    good_rule_index = next(i for i, r in enumerate(payer) if r.prompt == field)
    payer.insert(good_rule_index, OnPrompt(field, Keys(bad)))
    call = await place_call(arspay, payer, dialled=did_of(req))
    heard = call.heard
    assert heard.count(field) == 2
    assert heard[heard.index(field) + 1] == prompt
    assert (await status_of(arspay, req["id"]))["status"] == "approved"
    events = await arspay.server.services.store.events(req["id"])
    rejected = [e.data for e in events if e.type == "input_rejected"]
    assert rejected and rejected[0]["field"] == field
    assert bad.rstrip("#") not in str(rejected)


async def test_three_bad_tries_end_the_call_and_give_the_request_back(arspay: RunningServer):
    req = await create_request(arspay, delivery="display")
    payer = Payer.scripted([
        OnPrompt("confirm", Keys("1")),
        OnPrompt("card_number", Keys("1111111111111111#"), every_time=True),
    ])
    call = await place_call(arspay, payer, dialled=did_of(req))
    heard = call.heard
    assert heard.count("card_number") == 3
    assert heard.count("card_number_invalid") == 2
    assert heard[-1] == "too_many_tries"
    got = await status_of(arspay, req["id"])
    assert got["status"] == "pending" and got["call_attempts"] == 1


async def test_silence_is_a_timeout_that_uses_a_try(arspay: RunningServer):
    req = await create_request(arspay, delivery="display")
    payer = paying(override={"expiry": Silence()})
    payer.append(OnPrompt("expiry", Keys("1230")))
    call = await place_call(arspay, payer, dialled=did_of(req))
    heard = call.heard
    assert heard[heard.index("expiry") + 1] == "timeout"
    assert (await status_of(arspay, req["id"]))["status"] == "approved"


async def test_star_restarts_the_card_number(arspay: RunningServer):
    req = await create_request(arspay, delivery="display")
    payer = paying(override={"card_number": Keys("4330*")})
    payer.insert(2, OnPrompt("card_number", Keys(CARD + "#")))
    call = await place_call(arspay, payer, dialled=did_of(req))
    heard = call.heard
    assert heard.count("card_number") == 2
    assert "card_number_invalid" not in heard and "invalid" not in heard
    assert (await status_of(arspay, req["id"]))["status"] == "approved"


async def test_type_ahead_interrupts_prompts_and_counts(arspay: RunningServer):
    req = await create_request(arspay, delivery="display")
    payer = Payer.scripted([
        OnPrompt("confirm", Keys("1", during_ms=100)),
        OnPrompt("card_number", Keys(CARD + "#", during_ms=200, gap_ms=100)),
        OnPrompt("expiry", Keys("1230", during_ms=100)),
        OnPrompt("identity", Keys("880229#", during_ms=100)),
        OnPrompt("pin", Keys("47", during_ms=100)),
        OnPrompt("readback.*", Keys("1", during_ms=50)),
    ])
    call = await place_call(arspay, payer, dialled=did_of(req))
    assert (await status_of(arspay, req["id"]))["status"] == "approved"
    interrupted = [p.prompt_id for p in call.prompts if p.interrupted_by]
    assert {"confirm", "card_number", "expiry"} <= set(interrupted)


async def test_expiry_with_a_trailing_hash_does_not_spoil_the_next_field(arspay: RunningServer):
    req = await create_request(arspay, delivery="display")
    call = await place_call(arspay, paying(override={"expiry": Keys("1230#")}),
                            dialled=did_of(req))
    assert "identity_invalid" not in call.heard
    assert (await status_of(arspay, req["id"]))["status"] == "approved"


async def test_read_back_2_re_enters_the_card(arspay: RunningServer):
    req = await create_request(arspay, delivery="display")
    payer = paying(override={"readback.2": Keys("2")})
    for prompt, keys in [("card_number", CARD + "#"), ("expiry", "1230"),
                         ("identity", "880229#"), ("pin", "47"), ("readback.2", "1")]:
        payer.append(OnPrompt(prompt, Keys(keys)))
    call = await place_call(arspay, payer, dialled=did_of(req))
    assert call.heard.count("card_number") == 2
    assert (await status_of(arspay, req["id"]))["status"] == "approved"
    assert len(charges(arspay)) == 1


# --- hangups --------------------------------------------------------------------------------

@pytest.mark.parametrize("step", ["greet", "announce.0", "confirm", "card_number", "expiry",
                                  "identity", "pin", "readback.0", "wait"])
async def test_hangup_before_authorization_gives_the_request_back(arspay: RunningServer,
                                                                   step: str):
    req = await create_request(arspay, delivery="display")
    call = await place_call(arspay, paying(hang_up_at=step), dialled=did_of(req))
    got = await status_of(arspay, req["id"])
    assert got["status"] == "pending"
    assert got["call_attempts"] == (0 if step == "greet" else 1)
    assert charges(arspay) == []
    assert call.ended_by == "payer_hangup"
    assert not call.commands_after_hangup or all(
        c.split()[0] in ("HANGUP", "VERBOSE", "NOOP", "CHANNEL") for c in
        call.commands_after_hangup)
    # the number still works for the next call
    assert await arspay.server.services.pool.lookup(req["virtual_number"]["e164"],
                                                    "+821012345678") == req["id"]


async def test_hangup_during_authorization_still_records_the_result(arspay: RunningServer):
    req = await create_request(arspay, delivery="display", amount=17_777)  # PG latency
    payer = paying()
    payer.append(OnPrompt("wait", HangUp(delay_ms=50, after_prompt=True)))
    await place_call(arspay, payer, dialled=did_of(req))
    await arspay.server.services.background.drain()
    got = await status_of(arspay, req["id"])
    assert got["status"] == "approved"
    assert len(charges(arspay)) == 1


async def test_too_many_calls_fail_the_request(arspay: RunningServer):
    req = await create_request(arspay, delivery="display")
    for _ in range(3):
        await place_call(arspay, paying(hang_up_at="card_number"), dialled=did_of(req))
    got = await status_of(arspay, req["id"])
    assert got["status"] == "failed" and got["failure_reason"] == "too_many_call_attempts"
    call = await place_call(arspay, paying(), dialled=did_of(req))
    assert call.heard[-1] == "no_request"


async def test_charge_then_dropped_connection_ends_approved_with_one_charge(
    arspay: RunningServer,
):
    req = await create_request(arspay, delivery="display", amount=17_773)
    call = await place_call(arspay, paying(), dialled=did_of(req))
    got = await status_of(arspay, req["id"])
    assert got["status"] == "approved"
    assert "approved.0" in call.heard
    ledger = arspay.server.pg_simulator.app["ledger"]
    assert sum(ledger.charges.values()) == 1


# --- who is calling -------------------------------------------------------------------------

async def test_unknown_pair_is_told_and_repeated_misses_are_rate_limited(arspay: RunningServer):
    req = await create_request(arspay, delivery="display")
    for _ in range(5):
        call = await place_call(arspay, paying(), dialled=did_of(req), caller_id="01099998888")
        assert call.heard == ["greet", "no_request"]
    # the same caller now cannot find even a real request of theirs
    await create_request(arspay, delivery="display", order_id="o-2", payer_phone="010-9999-8888")
    call = await place_call(arspay, paying(), dialled=did_of(req), caller_id="01099998888")
    assert call.heard == ["greet", "no_request"]
    # other callers are unaffected
    call = await place_call(arspay, paying(), dialled=did_of(req))
    assert (await status_of(arspay, req["id"]))["status"] == "approved"


async def test_withheld_caller_keys_their_mobile_when_the_merchant_allows(arspay: RunningServer):
    req = await create_request(arspay, delivery="display")
    payer = paying()
    payer.insert(0, OnPrompt("ask_mobile", Keys("01012345678#")))
    call = await place_call(arspay, payer, dialled=did_of(req), caller_id="anonymous")
    assert "ask_mobile" in call.heard
    assert (await status_of(arspay, req["id"]))["status"] == "approved"


async def test_withheld_caller_is_refused_for_a_merchant_that_refuses(arspay: RunningServer):
    from tests.conftest import OTHER_MERCHANT_KEY

    status, req = await arspay.post(
        "/v1/ars-requests",
        {"kind": "payment", "order_id": "w-1", "product_name": "책", "amount": 15_000,
         "payer_name": "김", "payer_phone": "010-1234-5678", "delivery": "display"},
        key=OTHER_MERCHANT_KEY)
    assert status == 201
    payer = paying()
    payer.insert(0, OnPrompt("ask_mobile", Keys("01012345678#")))
    call = await place_call(arspay, payer, dialled=did_of(req), caller_id="anonymous")
    assert call.heard[-1] == "withheld"
    _, got = await arspay.get(f"/v1/ars-requests/{req['id']}", key=OTHER_MERCHANT_KEY)
    assert got["status"] == "pending" and got["call_attempts"] == 0


async def test_a_call_while_another_holds_the_request_is_told_it_is_in_progress(
    arspay: RunningServer,
):
    req = await create_request(arspay, delivery="display")
    services = arspay.server.services
    held = await services.store.get(req["id"])
    await services.ars.claim_for_call(held)  # another call holds it
    call = await place_call(arspay, paying(), dialled=did_of(req))
    assert call.heard[-1] == "in_progress"
    assert (await status_of(arspay, req["id"]))["status"] == "in_call"


async def test_simultaneous_calls_for_one_request_charge_once(arspay: RunningServer):
    req = await create_request(arspay, delivery="display")
    calls = await asyncio.gather(*[place_call(arspay, paying(), dialled=did_of(req))
                                   for _ in range(5)])
    endings = sorted(c.heard[-1] for c in calls)
    assert endings.count("approved.1") == 1
    assert set(endings) - {"approved.1"} <= {"in_progress", "already_paid", "no_request"}
    assert (await status_of(arspay, req["id"]))["status"] == "approved"
    assert len(charges(arspay)) == 1


async def test_many_payers_pay_at_once(arspay: RunningServer):
    phones = [f"0107000{n:04d}" for n in range(12)]
    reqs = [await create_request(arspay, delivery="display", order_id=f"m-{p}", payer_phone=p)
            for p in phones]
    await asyncio.gather(*[place_call(arspay, paying(), dialled=did_of(r), caller_id=p)
                           for r, p in zip(reqs, phones, strict=True)])
    for r in reqs:
        assert (await status_of(arspay, r["id"]))["status"] == "approved"
    assert len(charges(arspay)) == 12


async def test_english_when_the_payer_presses_9(arspay: RunningServer):
    req = await create_request(arspay, delivery="display")
    payer = paying()
    payer.insert(0, OnPrompt("language_switch", Keys("9", during_ms=100)))
    call = await place_call(arspay, payer, dialled=did_of(req))
    files = call.files
    assert any(f.startswith("arspay/en/confirm") for f in files)
    assert (await status_of(arspay, req["id"]))["status"] == "approved"


async def test_a_missing_prompt_file_ends_the_call_cleanly(arspay: RunningServer):
    req = await create_request(arspay, delivery="display")
    call = await place_call(arspay, paying(), dialled=did_of(req),
                            missing_files={"arspay/ko/expiry"})
    assert (await status_of(arspay, req["id"]))["status"] == "pending"
    assert charges(arspay) == []
    assert call.ended_by in ("server_closed", "server_hangup")


async def test_a_key_during_the_language_offer_answers_the_next_question(arspay: RunningServer):
    req = await create_request(arspay, delivery="display")
    payer = paying()
    payer[0] = OnPrompt("language_switch", Keys("1", during_ms=100))  # the "1" of confirm
    call = await place_call(arspay, payer, dialled=did_of(req))
    assert "confirm" not in call.heard  # skipped: the payer already answered it
    assert all(f.startswith("arspay/ko/") for f in call.files)
    assert (await status_of(arspay, req["id"]))["status"] == "approved"


async def test_a_call_placed_to_the_payer_is_identified_by_the_dialplan(arspay: RunningServer):
    # AMI Originate into [arspay-outbound]: AGI(agi://…/ars,outbound,<request id>), the
    # extension is the request's virtual number and the caller ID is not the payer's.
    req = await create_request(arspay, delivery="display")
    call = await place_call(arspay, paying(), dialled=did_of(req), caller_id=did_of(req),
                            args=["outbound", req["id"]])
    assert "confirm" in call.heard
    assert (await status_of(arspay, req["id"]))["status"] == "approved"
    other = await create_request(arspay, delivery="display", order_id="o-2",
                                 payer_phone="010-3333-4444")
    call = await place_call(arspay, paying(), dialled="16009999", args=["outbound", other["id"]])
    assert call.heard == ["greet", "no_request"]
