"""The SMS sender interface: one message in, one result out, provider errors never raised."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from sms.encoding import (
    LMS_MAX_BYTES,
    SUBJECT_MAX_BYTES,
    MessageType,
    euckr_length,
    make_euckr_safe,
    message_type,
    truncate_euckr,
)

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
DEFAULT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class SmsMessage:
    to: str  # E.164, e.g. +821012345678
    text: str
    subject: str | None = None  # used for LMS only
    kind: str = "billing"  # billing | receipt | cancel | billing_register | charge | …
    request_id: str | None = None

    def __post_init__(self) -> None:
        if not _E164.match(self.to):
            raise ValueError("SmsMessage.to must be an E.164 number like +821012345678")
        if not self.text.strip():
            raise ValueError("SmsMessage.text is empty")


@dataclass(frozen=True)
class SmsResult:
    ok: bool
    provider: str
    message_id: str | None
    error: str | None
    message_type: MessageType


class SmsSender(Protocol):
    async def send(self, msg: SmsMessage) -> SmsResult: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class OutgoingText:
    """What actually goes to the provider: safe text, SMS/LMS, subject for LMS only."""

    text: str
    message_type: MessageType
    subject: str | None


def outgoing_text(msg: SmsMessage) -> OutgoingText:
    """ValueError when the text is over the LMS limit (senders turn it into ok=False)."""
    text = make_euckr_safe(msg.text)
    if euckr_length(text) > LMS_MAX_BYTES:
        raise ValueError(f"text is {euckr_length(text)} bytes; LMS allows {LMS_MAX_BYTES}")
    kind = message_type(text)
    subject = None
    if kind == "LMS" and msg.subject and msg.subject.strip():
        subject = truncate_euckr(" ".join(msg.subject.split()), SUBJECT_MAX_BYTES)
    return OutgoingText(text, kind, subject)
