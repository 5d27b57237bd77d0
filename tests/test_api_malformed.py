"""Every malformed request gets the right 4xx naming the field, and leaves nothing in Redis."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from tests.conftest import MERCHANT_KEY, RunningServer, payment_body

AUTH = {"Authorization": f"Bearer {MERCHANT_KEY}", "Content-Type": "application/json"}

async def redis_snapshot(redis: Redis) -> dict[str, object]:
    """Every key with its type and size: what a refused request must not change."""
    snapshot: dict[str, object] = {}
    async for key in redis.scan_iter(count=1000):
        kind = await redis.type(key)
        size = {"string": redis.strlen, "hash": redis.hlen, "stream": redis.xlen,
                "zset": redis.zcard, "list": redis.llen, "set": redis.scard}[kind](key)
        snapshot[key] = (kind, await size)
    return snapshot


CASES = [
    # (name, body or raw bytes, headers override, status, code, field)
    ("unknown field", payment_body(colour="red"), None, 422, "unknown_field", "colour"),
    (
        "missing amount",
        {k: v for k, v in payment_body().items() if k != "amount"},
        None,
        422,
        "missing_field",
        "amount",
    ),
    (
        "missing kind",
        {k: v for k, v in payment_body().items() if k != "kind"},
        None,
        422,
        "missing_field",
        "kind",
    ),
    ("amount as string", payment_body(amount="28500"), None, 422, "invalid_field", "amount"),
    ("amount as float", payment_body(amount=28500.5), None, 422, "invalid_field", "amount"),
    ("amount as bool", payment_body(amount=True), None, 422, "invalid_field", "amount"),
    ("amount below minimum", payment_body(amount=99), None, 422, "invalid_field", "amount"),
    ("amount above maximum", payment_body(amount=10_000_001), None, 422, "invalid_field", "amount"),
    ("negative amount", payment_body(amount=-5), None, 422, "invalid_field", "amount"),
    ("unknown kind", payment_body(kind="refund"), None, 422, "invalid_field", "kind"),
    (
        "kind not yet available",
        payment_body(kind="billing_register"),
        None,
        422,
        "kind_not_supported",
        "kind",
    ),
    ("bad phone", payment_body(payer_phone="12345"), None, 422, "invalid_field", "payer_phone"),
    (
        "anonymous phone",
        payment_body(payer_phone="anonymous"),
        None,
        422,
        "invalid_field",
        "payer_phone",
    ),
    (
        "landline for SMS",
        payment_body(payer_phone="02-123-4567"),
        None,
        422,
        "invalid_field",
        "payer_phone",
    ),
    (
        "control char in product",
        payment_body(product_name="커피\x00원두"),
        None,
        422,
        "invalid_field",
        "product_name",
    ),
    ("blank product", payment_body(product_name="   "), None, 422, "invalid_field", "product_name"),
    (
        "product too long",
        payment_body(product_name="가" * 101),
        None,
        422,
        "invalid_field",
        "product_name",
    ),
    (
        "payer name with newline",
        payment_body(payer_name="홍\n길동"),
        None,
        422,
        "invalid_field",
        "payer_name",
    ),
    (
        "order id with space",
        payment_body(order_id="order 1"),
        None,
        422,
        "invalid_field",
        "order_id",
    ),
    ("order id too long", payment_body(order_id="x" * 65), None, 422, "invalid_field", "order_id"),
    ("expires_in too short", payment_body(expires_in=5), None, 422, "invalid_field", "expires_in"),
    (
        "expires_in too long",
        payment_body(expires_in=8 * 86400),
        None,
        422,
        "invalid_field",
        "expires_in",
    ),
    (
        "callback not a URL",
        payment_body(callback_url="ftp://x"),
        None,
        422,
        "invalid_field",
        "callback_url",
    ),
    (
        "installments above merchant max",
        payment_body(max_installment_months=24),
        None,
        422,
        "invalid_field",
        "max_installment_months",
    ),
    (
        "one-month installment",
        payment_body(max_installment_months=1),
        None,
        422,
        "invalid_field",
        "max_installment_months",
    ),
    ("unknown delivery", payment_body(delivery="email"), None, 422, "invalid_field", "delivery"),
    ("body is a list", [payment_body()], None, 422, "invalid_body", None),
    ("not JSON", b"{kind: payment", None, 400, "invalid_json", None),
    ("not UTF-8", b'{"kind": "\xff"}', None, 400, "invalid_json", None),
    (
        "wrong content type",
        b"kind=payment",
        {"Content-Type": "application/x-www-form-urlencoded"},
        415,
        "unsupported_media_type",
        None,
    ),
    ("body too large", payment_body(product_name="a" * 20_000), None, 413, "body_too_large", None),
    ("missing API key", payment_body(), {"Authorization": ""}, 401, "unauthorized", None),
    ("wrong API key", payment_body(), {"Authorization": "Bearer nope"}, 401, "unauthorized", None),
    (
        "basic auth instead of bearer",
        payment_body(),
        {"Authorization": "Basic Zm9vOmJhcg=="},
        401,
        "unauthorized",
        None,
    ),
    (
        "bad idempotency key",
        payment_body(),
        {"Idempotency-Key": "x" * 300},
        400,
        "invalid_header",
        "Idempotency-Key",
    ),
]


@pytest.mark.parametrize(
    ("name", "body", "headers", "status", "code", "field"), CASES, ids=[c[0] for c in CASES]
)
async def test_malformed_create_is_refused_and_leaves_nothing(
    arspay: RunningServer,
    redis: Redis,
    name,
    body,
    headers,
    status,
    code,
    field,
):
    before = await redis_snapshot(redis)
    all_headers = {**AUTH, **(headers or {})}
    all_headers = {k: v for k, v in all_headers.items() if v}
    import json as _json

    data = body if isinstance(body, bytes) else _json.dumps(body).encode()
    async with arspay.http.post(
        arspay.base_url + "/v1/ars-requests", data=data, headers=all_headers
    ) as resp:
        got = await resp.json()
        assert resp.status == status, got
        assert resp.content_type == "application/json"
    assert got["error"]["code"] == code
    assert got["error"]["field"] == field
    assert got["error"]["message"]
    assert await redis_snapshot(redis) == before


async def test_malformed_list_queries(arspay: RunningServer):
    for query, field in [
        ("status=done", "status"),
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("created_from=yesterday", "created_from"),
        ("created_to=2026-01-01T00:00:00", "created_to"),
        ("cursor=!!!", "cursor"),
        ("colour=red", "colour"),
    ]:
        status, body = await arspay.get(f"/v1/ars-requests?{query}")
        assert status == 422, query
        assert body["error"]["field"] == field, query
