"""The outbox sender: one JSON line per message, one readable line on stdout."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sms.base import SmsMessage
from sms.outbox import OutboxSender
from sms.templates import billing_sms

PAYER = "+821012345678"


async def test_writes_json_lines_and_echoes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "nested" / "dir" / "outbox.jsonl"
    sender = OutboxSender(path)
    text = billing_sms("스타커피", "라떼", 28_500, "1600-5001", datetime(2025, 11, 29, tzinfo=UTC))
    result = await sender.send(
        SmsMessage(PAYER, text, subject="[스타커피] 결제 요청", request_id="req_1")
    )
    await sender.close()
    assert result.ok and result.provider == "outbox" and result.message_type == "LMS"
    [record] = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    assert record["to"] == PAYER and record["text"] == text and record["type"] == "LMS"
    assert record["request_id"] == "req_1" and record["kind"] == "billing"
    assert record["id"] == result.message_id and record["subject"] == "[스타커피] 결제 요청"
    assert datetime.fromisoformat(record["time"]).tzinfo is not None
    echoed = capsys.readouterr().out.splitlines()
    assert echoed[0] == "[SMS→010-1234-5678]"
    assert [line.removeprefix("    │ ") for line in echoed[1:]] == text.splitlines()


async def test_concurrent_sends_each_get_a_whole_line(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    sender = OutboxSender(path, echo=False)
    texts = [f"{i}번 메시지 " + "가" * (i * 20) for i in range(30)]
    results = await asyncio.gather(
        *(sender.send(SmsMessage(PAYER, t, kind="receipt")) for t in texts)
    )
    assert all(r.ok for r in results)
    records = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    assert sorted(r["text"] for r in records) == sorted(texts)
    assert {r["type"] for r in records} == {"SMS", "LMS"}
    assert all(r["subject"] is None for r in records if r["type"] == "SMS")


async def test_short_message_is_an_sms_and_quiet_without_echo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sender = OutboxSender(tmp_path / "o.jsonl", echo=False)
    result = await sender.send(SmsMessage(PAYER, "승인 28,500원", subject="ignored"))
    assert result.ok and result.message_type == "SMS"
    assert capsys.readouterr().out == ""
    record = json.loads((tmp_path / "o.jsonl").read_text("utf-8"))
    assert record["subject"] is None and record["kind"] == "billing"


async def test_unwritable_outbox_is_an_error_result(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    sender = OutboxSender(blocker / "outbox.jsonl", echo=False)
    result = await sender.send(SmsMessage(PAYER, "x"))
    assert not result.ok and result.error.startswith("outbox write failed")  # type: ignore[union-attr]


async def test_too_long_is_refused(tmp_path: Path) -> None:
    sender = OutboxSender(tmp_path / "o.jsonl", echo=False)
    result = await sender.send(SmsMessage(PAYER, "가" * 1001))
    assert not result.ok and "2000" in result.error  # type: ignore[operator]
    assert not (tmp_path / "o.jsonl").exists()
