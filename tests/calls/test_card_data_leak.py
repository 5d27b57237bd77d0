"""DESIGN's card-data rule, checked the hard way: run full calls, then search every log line,
every Redis key and value, the AOF files, the SMS outbox (billing and receipt SMS), the merchant
callbacks and every AGI command for the card data the payers keyed. Nothing may be found."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from aiohttp import web
from redis.asyncio import Redis

from ivr.agi.payer import HangUp, Keys, OnPrompt
from ivr.logging_setup import RedactingFilter
from ivr.redis_process import RedisProcess
from pg_client.simulator import cards
from tests.calls.callkit import did_of, paying
from tests.conftest import RunningServer, create_request, place_call

CARD = cards.APPROVE_MASTERCARD
DECLINED_CARD = cards.INSUFFICIENT_LIMIT
EXPIRY = "0931"
BIRTHDATE = "880229"
BUSINESS_NO = "1208147521"
PIN = "47"
SEARCHED = [CARD, DECLINED_CARD, BIRTHDATE, BUSINESS_NO,
            "-".join([CARD[:4], CARD[4:8], CARD[8:12], CARD[12:]])]
# 2- and 4-digit values occur by chance in timestamps; look for them where they'd be labelled.
LABELLED = re.compile(
    rf"(?i)(pin|pwd|password|expir|valid|birth|identity|card)[^\n]{{0,24}}?\b({EXPIRY}|{PIN}|"
    rf"09/31|31-09)\b"
)


async def redis_dump(redis: Redis) -> str:
    parts: list[str] = []
    async for key in redis.scan_iter(count=1000):
        kind = await redis.type(key)
        parts.append(key)
        if kind == "string":
            parts.append(str(await redis.get(key)))
        elif kind == "hash":
            parts.append(str(await redis.hgetall(key)))
        elif kind == "stream":
            parts.append(str(await redis.xrange(key)))
        elif kind == "zset":
            parts.append(str(await redis.zrange(key, 0, -1, withscores=True)))
        elif kind == "list":
            parts.append(str(await redis.lrange(key, 0, -1)))
        elif kind == "set":
            parts.append(str(await redis.smembers(key)))
    return "\n".join(parts)


@pytest.fixture
def raw_log(tmp_path: Path):
    """Everything logged at DEBUG, with no redaction filter: proves the code never logs card
    data, rather than relying on the filter. The product's filtered log file is checked too."""
    path = tmp_path / "raw-debug.log"
    raw = logging.FileHandler(path, encoding="utf-8")
    raw.setLevel(logging.DEBUG)
    filtered_path = tmp_path / "arspay.log"
    filtered = logging.FileHandler(filtered_path, encoding="utf-8")
    filtered.addFilter(RedactingFilter())
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(raw)
    root.addHandler(filtered)
    yield [path, filtered_path]
    root.removeHandler(raw)
    root.removeHandler(filtered)
    root.setLevel(old_level)
    raw.close()
    filtered.close()


async def test_no_card_data_anywhere_after_calls(
    arspay: RunningServer, redis: Redis, redis_server: RedisProcess, raw_log: list[Path]
):
    transcripts = []
    callbacks: list[str] = []

    async def receive(request: web.Request) -> web.Response:
        callbacks.append(await request.text())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/callback", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    callback_url = f"http://127.0.0.1:{runner.addresses[0][1]}/callback"

    async def call(order: str, rules, **body) -> None:
        req = await create_request(arspay, order_id=order, callback_url=callback_url, **body)
        caller = body.get("payer_phone", "010-1234-5678").replace("-", "")
        transcripts.append(await place_call(arspay, rules, dialled=did_of(req), caller_id=caller))

    good = dict(card=CARD, expiry=EXPIRY, identity=BIRTHDATE, pin=PIN)
    await call("leak-approve", paying(**good))
    await call("leak-business", paying(**{**good, "identity": BUSINESS_NO}), amount=60_000,
               payer_phone="010-2222-0001")
    declined = paying(**{**good, "card": DECLINED_CARD})
    declined.append(OnPrompt("retry_other_card", Keys("2")))
    await call("leak-decline", declined, payer_phone="010-2222-0002")
    await call("leak-hangup", paying(**good, hang_up_at="readback.0"),
               payer_phone="010-2222-0003")
    bad_first = paying(**good)
    bad_first.insert(1, OnPrompt("card_number", Keys(CARD[:-1] + "3#")))  # Luhn fails
    await call("leak-invalid", bad_first, payer_phone="010-2222-0004")
    await call("leak-in-doubt", paying(**good), amount=17_773, payer_phone="010-2222-0005")
    await call("leak-pin-hangup", paying(**good, override={"pin": Keys(PIN)},
                                         hang_up_at="installments"), amount=60_000,
               payer_phone="010-2222-0006")
    no_pin = [OnPrompt("confirm", Keys("1")), OnPrompt("card_number", Keys(CARD + "#")),
              OnPrompt("expiry", Keys(EXPIRY)), OnPrompt("identity", Keys(BIRTHDATE + "#")),
              OnPrompt("pin", HangUp(delay_ms=900))]
    await call("leak-mid-pin", no_pin, payer_phone="010-2222-0007")
    await arspay.server.services.background.drain()
    await arspay.server.outbox.drain(timeout=10)
    await runner.cleanup()
    assert len(callbacks) >= 3  # approved, declined… each reached the merchant
    await redis.execute_command("BGREWRITEAOF")

    statuses = [(await redis.hget(k, "status"))
                async for k in redis.scan_iter("arspay:req:*", _type="HASH")]
    assert "approved" in statuses and "declined" in statuses  # the calls really happened

    haystacks: dict[str, str] = {}
    for path in raw_log:
        haystacks[path.name] = path.read_text(encoding="utf-8")
    assert "request" in haystacks["raw-debug.log"]  # logging really captured the calls
    haystacks["redis"] = await redis_dump(redis)
    for aof in redis_server.aof_files():
        haystacks[f"aof:{aof.name}"] = aof.read_bytes().decode("utf-8", "replace")
    assert any(name.startswith("aof:") for name in haystacks)
    outbox = arspay.tmp_path / "sms-outbox.jsonl"
    haystacks["sms-outbox"] = outbox.read_text() if outbox.exists() else ""
    assert "승인번호" in haystacks["sms-outbox"]  # receipts were sent, with the masked card
    commands = "\n".join(c for t in transcripts for c in t.commands)
    haystacks["agi-commands"] = commands
    haystacks["callbacks"] = "\n".join(callbacks)

    for name, text in haystacks.items():
        for secret in SEARCHED:
            assert secret not in text, f"card data {secret[:2]}… found in {name}"
        match = LABELLED.search(text)
        assert match is None, f"labelled card data in {name}: {match.group(0)!r}"
    tokens = {tok.strip('"') for line in commands.splitlines() for tok in line.split()}
    for secret in (EXPIRY, PIN):
        assert secret not in tokens, "card data sent back to Asterisk"
