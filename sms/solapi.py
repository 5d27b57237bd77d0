"""Solapi (CoolSMS) v4: `POST /messages/v4/send`, HMAC-SHA256 over Date + salt."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from sms.base import DEFAULT_TIMEOUT_S, SmsMessage, SmsResult, outgoing_text
from sms.encoding import message_type
from sms.http import JsonPoster
from sms.phones import national_digits, sender_digits

PROVIDER = "solapi"
SEND_PATH = "/messages/v4/send"
ACCEPTED_STATUS = "2000"


def solapi_signature(api_secret: str, date: str, salt: str) -> str:
    """hex(HMAC-SHA256(secret, Date + salt)) — the salt alone is the classic mistake."""
    return hmac.new(api_secret.encode(), (date + salt).encode(), hashlib.sha256).hexdigest()


def solapi_authorization(api_key: str, api_secret: str, *, date: str, salt: str) -> str:
    signature = solapi_signature(api_secret, date, salt)
    return f"HMAC-SHA256 ApiKey={api_key}, Date={date}, salt={salt}, signature={signature}"


class SolapiSender:
    def __init__(
        self,
        api_key: str,
        api_secret: str,
        sender_number: str,
        *,
        base_url: str = "https://api.solapi.com",
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        if not api_key or not api_secret:
            raise ValueError("Solapi needs api_key and api_secret")
        self.api_key = api_key
        self._api_secret = api_secret
        self.sender = sender_digits(sender_number)
        self.url = base_url.rstrip("/") + SEND_PATH
        self._http = JsonPoster(timeout)

    def __repr__(self) -> str:
        return f"SolapiSender(api_key={self.api_key!r}, sender={self.sender!r}, url={self.url!r})"

    async def send(self, msg: SmsMessage) -> SmsResult:
        try:
            out = outgoing_text(msg)
            to = national_digits(msg.to)
        except ValueError as exc:
            return SmsResult(False, PROVIDER, None, str(exc), message_type(msg.text))
        message: dict[str, str] = {
            "to": to, "from": self.sender, "text": out.text, "type": out.message_type,
        }  # fmt: skip
        if out.subject:
            message["subject"] = out.subject
        date = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        auth = solapi_authorization(
            self.api_key, self._api_secret, date=date, salt=secrets.token_hex(16)
        )
        reply = await self._http.post(self.url, {"Authorization": auth}, {"message": message})
        if reply.error:
            return SmsResult(False, PROVIDER, None, reply.error, out.message_type)
        body = reply.body if isinstance(reply.body, dict) else {}
        status_code = body.get("statusCode")
        if reply.status == 200 and status_code in (None, ACCEPTED_STATUS) and body.get("messageId"):
            return SmsResult(True, PROVIDER, str(body["messageId"]), None, out.message_type)
        code = body.get("errorCode") or status_code or "unknown"
        detail = body.get("errorMessage") or body.get("statusMessage") or ""
        error = f"HTTP {reply.status} {code}: {detail}".strip().rstrip(":")
        return SmsResult(False, PROVIDER, body.get("messageId"), error, out.message_type)

    async def close(self) -> None:
        await self._http.close()

