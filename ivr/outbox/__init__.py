"""The durable outbox: signed merchant callbacks and payer SMS, delivered at least once.

Public for merchants' receivers: :func:`verify_signature` (and :func:`sign`)."""

from ivr.outbox.webhooks import (
    WebhookVerificationError,
    new_secret,
    sign,
    signature_headers,
    verify_signature,
)

__all__ = [
    "WebhookVerificationError",
    "new_secret",
    "sign",
    "signature_headers",
    "verify_signature",
]
