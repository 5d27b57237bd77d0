"""The default sender: one JSON line per message in a file, and a readable line on stdout.

Used by the demo and tests; nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sms.base import SmsMessage, SmsResult, outgoing_text
from sms.encoding import message_type
from sms.phones import national_display

PROVIDER = "outbox"
_ECHO_MAX_CHARS = 60


class OutboxSender:
    def __init__(self, path: str | Path, *, echo: bool = True) -> None:
        self.path = Path(path)
        self.echo = echo
        self._lock = asyncio.Lock()

    async def send(self, msg: SmsMessage) -> SmsResult:
        try:
            out = outgoing_text(msg)
        except ValueError as exc:
            return SmsResult(False, PROVIDER, None, str(exc), message_type(msg.text))
        message_id = uuid.uuid4().hex
        record = {
            "id": message_id,
            "to": msg.to,
            "text": out.text,
            "subject": out.subject,
            "type": out.message_type,
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "request_id": msg.request_id,
            "kind": msg.kind,
        }
        line = json.dumps(record, ensure_ascii=False) + "\n"
        try:
            async with self._lock:
                await asyncio.to_thread(self._append, line)
        except OSError as exc:
            return SmsResult(False, PROVIDER, None, f"outbox write failed: {exc}", out.message_type)
        if self.echo:
            print(self._echo_line(msg.to, out.text), flush=True, file=sys.stdout)
        return SmsResult(True, PROVIDER, message_id, None, out.message_type)

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(line)

    @staticmethod
    def _echo_line(to: str, text: str) -> str:
        """The whole message, indented under a header: a demo user needs the number in it."""
        lines = [line.rstrip() for line in text.splitlines()]
        body = "\n".join(f"    │ {line[:_ECHO_MAX_CHARS]}" for line in lines)
        return f"[SMS→{national_display(to)}]\n{body}"

    async def close(self) -> None:
        return None
