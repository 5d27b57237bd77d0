"""``arspay call``: the terminal softphone pays a request through a running server."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from pg_client.simulator.cards import APPROVE
from tests.conftest import RunningServer, create_request

ROOT = Path(__file__).resolve().parent.parent


async def test_softphone_pays_a_request_typed_line_by_line(arspay: RunningServer):
    req = await create_request(arspay, delivery="display")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ivr.cli", "call", "--to", req["virtual_number"]["display"],
        "--from", "010-1234-5678", "--port", str(arspay.server.agi_port), "--prompt-ms", "5",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, cwd=ROOT,
        env={**os.environ, "ARSPAY_AGI__SOUNDS_DIR": str(arspay.tmp_path / "sounds")},
    )
    assert proc.stdin is not None and proc.stdout is not None
    seen: list[str] = []

    async def until(text: str) -> None:
        while True:
            line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
            assert line, f"softphone ended before {text!r}: {''.join(seen)}"
            seen.append(line)
            if text in line:
                return

    async def type_(keys: str) -> None:
        proc.stdin.write(keys.encode() + b"\n")
        await proc.stdin.drain()

    await until("결제하시려면 1번")
    await type_("1")
    await until("[card_number]")
    await type_(APPROVE + "#")
    await until("[expiry]")
    await type_("1230")
    await until("[identity]")
    await type_("880229#")
    await until("[pin]")
    await type_("47")
    await until("[readback.2]")
    await type_("1")
    await until("call ended")
    await asyncio.wait_for(proc.wait(), 10)
    text = "".join(seen)
    assert "커피 원두 1kg" in text and "행복상점" in text
    assert "결제가 완료되었습니다" in text
    _, got = await arspay.get(f"/v1/ars-requests/{req['id']}")
    assert got["status"] == "approved"
