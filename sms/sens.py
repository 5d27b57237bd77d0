"""Naver Cloud SENS SMS v2: `POST /sms/v2/services/{serviceId}/messages`, signature v2."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time

from sms.base import DEFAULT_TIMEOUT_S, SmsMessage, SmsResult, outgoing_text
from sms.encoding import message_type
from sms.http import JsonPoster
from sms.phones import national_digits, sender_digits

PROVIDER = "sens"


def sens_signature(secret_key: str, method: str, uri: str, timestamp: str, access_key: str) -> str:
    """base64(HMAC-SHA256(secretKey, "{method} {uri}\\n{timestamp}\\n{accessKey}"))."""
    message = f"{method} {uri}\n{timestamp}\n{access_key}"
    digest = hmac.new(secret_key.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class SensSender:
    def __init__(
        self,
        access_key: str,
        secret_key: str,
        service_id: str,
        sender_number: str,
        *,
        base_url: str = "https://sens.apigw.ntruss.com",
        timeout: float = DEFAULT_TIMEOUT_S,
        content_type: str = "COMM",
    ) -> None:
        if not access_key or not secret_key or not service_id:
            raise ValueError("SENS needs access_key, secret_key and service_id")
        if content_type not in ("COMM", "AD"):
            raise ValueError("content_type must be COMM or AD")
        self.access_key = access_key
        self._secret_key = secret_key
        self.sender = sender_digits(sender_number)
        self.content_type = content_type
        if not re.fullmatch(r"[A-Za-z0-9:_.\-]+", service_id):
            raise ValueError("service_id must look like ncp:sms:kr:<number>:<name>")
        # Signed exactly as sent: NCP service ids keep their colons in the path.
        self.uri = f"/sms/v2/services/{service_id}/messages"
        self.url = base_url.rstrip("/") + self.uri
        self._http = JsonPoster(timeout)

    def __repr__(self) -> str:
        return (
            f"SensSender(access_key={self.access_key!r}, sender={self.sender!r}, url={self.url!r})"
        )

    async def send(self, msg: SmsMessage) -> SmsResult:
        try:
            out = outgoing_text(msg)
            to = national_digits(msg.to)
        except ValueError as exc:
            return SmsResult(False, PROVIDER, None, str(exc), message_type(msg.text))
        body: dict[str, object] = {
            "type": out.message_type,
            "contentType": self.content_type,
            "countryCode": "82",
            "from": self.sender,
            "content": out.text,
            "messages": [{"to": to}],
        }
        if out.subject:
            body["subject"] = out.subject
        timestamp = str(int(time.time() * 1000))
        headers = {
            "x-ncp-apigw-timestamp": timestamp,
            "x-ncp-iam-access-key": self.access_key,
            "x-ncp-apigw-signature-v2": sens_signature(
                self._secret_key, "POST", self.uri, timestamp, self.access_key
            ),
        }
        reply = await self._http.post(self.url, headers, body)
        if reply.error:
            return SmsResult(False, PROVIDER, None, reply.error, out.message_type)
        data = reply.body if isinstance(reply.body, dict) else {}
        if reply.status == 202 and str(data.get("statusCode")) == "202":
            return SmsResult(True, PROVIDER, data.get("requestId"), None, out.message_type)
        error_info = data.get("error") if isinstance(data.get("error"), dict) else {}
        code = data.get("statusCode") or error_info.get("errorCode") or "unknown"
        detail = (
            data.get("statusName") or data.get("errorMessage") or error_info.get("message") or ""
        )
        error = f"HTTP {reply.status} {code}: {detail}".strip().rstrip(":")
        return SmsResult(False, PROVIDER, data.get("requestId"), error, out.message_type)

    async def close(self) -> None:
        await self._http.close()
