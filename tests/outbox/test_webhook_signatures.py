"""Standard Webhooks signatures: what a merchant's receiver accepts and what it refuses."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random

import pytest

from ivr.outbox import (
    WebhookVerificationError,
    new_secret,
    sign,
    signature_headers,
    verify_signature,
)
from ivr.outbox.retry import max_attempts, retry_delay

NOW = 1_763_800_000
BODY = json.dumps({"type": "ars_request.approved", "data": {"id": "ars_1", "amount": 28500}})


def signed(secret: str | list[str], body: str = BODY, at: int = NOW) -> dict[str, str]:
    secrets = [secret] if isinstance(secret, str) else secret
    return signature_headers(secrets, "msg_ars_1_1-0", at, body)


def test_matches_the_standard_webhooks_reference_vector():
    # The example of the Standard Webhooks specification and its reference libraries.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = '{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == expected
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": expected,
    }
    assert verify_signature(body, headers, secret, now=1614265330) == {"test": 2432232314}


def test_a_genuine_callback_verifies_and_returns_the_payload():
    secret = new_secret()
    headers = signed(secret)
    assert headers["webhook-id"] == "msg_ars_1_1-0"
    assert headers["webhook-timestamp"] == str(NOW)
    assert headers["webhook-signature"].startswith("v1,")
    payload = verify_signature(BODY.encode(), headers, secret, now=NOW + 10)
    assert payload["data"]["amount"] == 28500
    # header names are case-insensitive, as HTTP says
    upper = {k.upper(): v for k, v in headers.items()}
    assert verify_signature(BODY, upper, [secret], now=NOW)["data"]["id"] == "ars_1"


def test_a_tampered_body_is_refused():
    secret = new_secret()
    headers = signed(secret)
    tampered = BODY.replace("28500", "2850")
    with pytest.raises(WebhookVerificationError, match="no signature matches"):
        verify_signature(tampered, headers, secret, now=NOW)


def test_a_wrong_secret_is_refused():
    headers = signed(new_secret())
    with pytest.raises(WebhookVerificationError, match="no signature matches"):
        verify_signature(BODY, headers, new_secret(), now=NOW)


def test_a_stale_or_future_timestamp_is_refused_even_when_signed_correctly():
    secret = new_secret()
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify_signature(BODY, signed(secret, at=NOW - 301), secret, now=NOW)
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify_signature(BODY, signed(secret, at=NOW + 301), secret, now=NOW)
    assert verify_signature(BODY, signed(secret, at=NOW - 299), secret, now=NOW)
    # the timestamp is part of what is signed: moving it breaks the signature
    headers = signed(secret, at=NOW - 1000)
    headers["webhook-timestamp"] = str(NOW)
    with pytest.raises(WebhookVerificationError, match="no signature matches"):
        verify_signature(BODY, headers, secret, now=NOW)


def test_the_id_is_signed_too():
    secret = new_secret()
    headers = signed(secret)
    headers["webhook-id"] = "msg_other"
    with pytest.raises(WebhookVerificationError):
        verify_signature(BODY, headers, secret, now=NOW)


def test_rotation_two_secrets_sign_and_either_verifies():
    old, new = new_secret(), new_secret()
    headers = signed([old, new])
    assert len(headers["webhook-signature"].split()) == 2
    assert verify_signature(BODY, headers, old, now=NOW)
    assert verify_signature(BODY, headers, new, now=NOW)
    assert verify_signature(BODY, signed(old), [new, old], now=NOW)
    with pytest.raises(WebhookVerificationError):
        verify_signature(BODY, headers, new_secret(), now=NOW)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"webhook-id": None}, "missing header webhook-id"),
        ({"webhook-signature": None}, "missing header webhook-signature"),
        ({"webhook-timestamp": "yesterday"}, "not an integer"),
        ({"webhook-signature": "v2,AAAA"}, "no signature matches"),
        ({"webhook-signature": ""}, "no signature matches"),
    ],
)
def test_malformed_headers_are_refused_with_the_reason(change, message):
    secret = new_secret()
    headers = signed(secret)
    for name, value in change.items():
        if value is None:
            del headers[name]
        else:
            headers[name] = value
    with pytest.raises(WebhookVerificationError, match=message):
        verify_signature(BODY, headers, secret, now=NOW)


def test_plain_secrets_are_used_as_bytes_and_whsec_ones_decoded():
    def reference(key: bytes) -> str:
        digest = hmac.new(key, b"m.1.{}", hashlib.sha256).digest()
        return "v1," + base64.b64encode(digest).decode()

    assert sign("plain-secret", "m", 1, "{}") == reference(b"plain-secret")
    # whsec_ + base64: the decoded bytes are the key
    assert sign("whsec_cGxhaW4tc2VjcmV0", "m", 1, "{}") == reference(b"plain-secret")
    # whsec_ + something that is not base64: the whole text is the key
    assert sign("whsec_one", "m", 1, "{}") == reference(b"whsec_one")
    with pytest.raises(ValueError):
        signature_headers([], "m", 1, "{}")


def test_retry_schedule_backs_off_with_bounded_jitter_and_repeats_the_last_step():
    rng = random.Random(7)
    schedule = [5, 30, 120]
    for attempt, base in [(1, 5), (2, 30), (3, 120), (9, 120)]:
        waits = [retry_delay(attempt, schedule, 0.2, rng) for _ in range(200)]
        assert min(waits) >= base * 0.8 and max(waits) <= base * 1.2
        assert len(set(waits)) > 1  # jittered
    assert retry_delay(1, schedule, 0.0, rng) == 5
    assert retry_delay(1, [], 0.2, rng) == 0
    assert max_attempts("callback", schedule, 3) == 4
    assert max_attempts("receipt_sms", schedule, 3) == 3


def test_default_schedule_spans_about_three_days():
    from ivr.config import load_settings

    outbox = load_settings(environ={}).outbox
    total = sum(outbox.retry_schedule)
    assert 2.5 * 86_400 <= total <= 3.5 * 86_400
    assert max_attempts("callback", outbox.retry_schedule, outbox.sms_max_attempts) == 13
