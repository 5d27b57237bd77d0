"""Standard Webhooks signatures (https://www.standardwebhooks.com): sign a callback, verify one.

The signed content is ``"{webhook-id}.{webhook-timestamp}.{body}"``; the signature is
``v1,<base64 HMAC-SHA256>``. ``webhook-signature`` carries one ``v1,…`` per valid secret,
separated by spaces, so a secret can be rotated: sign with the old and the new one for a while,
and a receiver holding either accepts.

Secrets: ``whsec_<base64>`` (the Standard Webhooks form) is base64-decoded to the HMAC key; any
other string is used as its UTF-8 bytes. ``new_secret()`` makes a good one.

A receiver needs only :func:`verify_signature` (this module has no arspay imports)::

    payload = verify_signature(body, request.headers, ["whsec_…"])   # raises on a bad one
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Iterable, Mapping
from secrets import token_bytes
from typing import Any

SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_SECONDS = 300

__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "WebhookVerificationError",
    "new_secret",
    "sign",
    "signature_headers",
    "verify_signature",
]


class WebhookVerificationError(Exception):
    """The callback is not authentic or not fresh; the message says which check failed."""


def secret_key(secret: str) -> bytes:
    """The HMAC key of a configured secret."""
    if secret.startswith(SECRET_PREFIX):
        encoded = secret[len(SECRET_PREFIX) :]
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if key:
            return key
    return secret.encode("utf-8")


def new_secret() -> str:
    """A fresh ``whsec_`` secret with 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(token_bytes(32)).decode()


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes | str) -> str:
    """``v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>``."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    content = f"{webhook_id}.{int(timestamp)}.".encode() + raw
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def signature_headers(
    secrets: Iterable[str], webhook_id: str, timestamp: int, body: bytes | str
) -> dict[str, str]:
    """The three headers of a signed callback, one signature per secret."""
    signatures = " ".join(sign(s, webhook_id, timestamp, body) for s in secrets)
    if not signatures:
        raise ValueError("at least one secret is needed to sign a callback")
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": signatures,
    }


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value.strip()
    raise WebhookVerificationError(f"missing header {name}")


def verify_signature(
    body: bytes | str,
    headers: Mapping[str, str],
    secrets: str | Iterable[str],
    *,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> Any:
    """Check a callback and return its parsed JSON body.

    ``body`` must be the raw bytes received (not re-serialised JSON). ``secrets`` is one secret
    or several (during a rotation). Raises :class:`WebhookVerificationError` when a header is
    missing, the timestamp is more than ``tolerance_seconds`` away from ``now`` (a replay), or
    no signature matches any secret (a tampered body or a wrong secret).
    """
    webhook_id = _header(headers, "webhook-id")
    timestamp_text = _header(headers, "webhook-timestamp")
    signature_text = _header(headers, "webhook-signature")
    if not webhook_id:
        raise WebhookVerificationError("empty webhook-id")
    try:
        timestamp = int(timestamp_text)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not an integer") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        raise WebhookVerificationError(
            f"webhook-timestamp is {int(current - timestamp)} s away from now "
            f"(tolerance {tolerance_seconds} s)"
        )
    candidates = [secrets] if isinstance(secrets, str) else list(secrets)
    if not candidates:
        raise WebhookVerificationError("no secret to verify with")
    expected = [sign(s, webhook_id, timestamp, body) for s in candidates]
    for given in signature_text.split():
        version, _, _ = given.partition(",")
        if version != SIGNATURE_VERSION:
            continue
        if any(hmac.compare_digest(given.encode(), e.encode()) for e in expected):
            raw = body.encode("utf-8") if isinstance(body, str) else body
            try:
                return json.loads(raw)
            except ValueError:
                raise WebhookVerificationError("the signed body is not JSON") from None
    raise WebhookVerificationError("no signature matches")
