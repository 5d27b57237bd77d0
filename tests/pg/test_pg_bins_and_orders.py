"""BIN table, Order, idempotency keys, the factory and outcome conventions."""

from __future__ import annotations

import pytest

from pg_client import (
    NOT_CHARGED,
    DeclineCategory,
    Declined,
    Order,
    PgClient,
    PortOneClient,
    TossClient,
    build_pg_client,
    idempotency_key_for,
    order_id_for,
)
from pg_client.base import check_installment
from pg_client.bins import lookup_bin
from pg_client.outcomes import BillingKeyIssued, not_charged
from pg_client.simulator import TEST_CARDS


@pytest.mark.parametrize(
    ("number", "brand", "issuer"),
    [
        ("4330280000000019", "Visa", "신한카드"),
        ("5409260000000014", "Mastercard", "KB국민카드"),
        ("9441160000000018", "BC", "BC카드"),
        ("5310700000000000", "Mastercard", "삼성카드"),
        ("4332900000000000", "Visa", "현대카드"),
        ("4673090000000000", "Visa", "롯데카드"),
        ("4048250000000000", "Visa", "하나카드"),
        ("5240400000000000", "Mastercard", "우리카드"),
        ("5461120000000000", "Mastercard", "NH농협카드"),
        ("4111111111111111", "Visa", None),
        ("5105105105105100", "Mastercard", None),
        ("2221000000000009", "Mastercard", None),
        ("2720990000000000", "Mastercard", None),
        ("2721000000000000", "unknown", None),
        ("2220990000000000", "unknown", None),
        ("341111111111111", "AMEX", None),
        ("371449635398431", "AMEX", None),
        ("3528000000000000", "JCB", None),
        ("3589990000000000", "JCB", None),
        ("3590000000000000", "unknown", None),
        ("6200000000000005", "UnionPay", None),
        ("36000000000008", "Diners", None),
        ("38000000000006", "Diners", None),
        ("30569309025904", "Diners", None),
        ("43302812****123*", "Visa", "신한카드"),  # Toss-style masked numbers work too
        ("1234567890123", "unknown", None),
    ],
)
def test_bin_lookup(number: str, brand: str, issuer: str | None) -> None:
    info = lookup_bin(number)
    assert (info.brand, info.issuer) == (brand, issuer)


def test_every_simulator_test_card_is_in_the_bin_table() -> None:
    for number in TEST_CARDS:
        info = lookup_bin(number)
        assert info.issuer is not None, number
        assert info.brand != "unknown"


def test_order_validation() -> None:
    Order("order-1", "상품", 100, None, "key")
    for bad in (
        dict(order_id="short"),
        dict(order_id="x" * 65),
        dict(order_id="has space"),
        dict(order_id="주문번호123"),
        dict(amount=0),
        dict(amount=-5),
        dict(amount=1.5),
        dict(amount=True),
        dict(order_name=""),
        dict(idempotency_key=""),
        dict(idempotency_key="k" * 301),
    ):
        fields = dict(order_id="order-1", order_name="상품", amount=100, customer_name=None,
                      idempotency_key="key")
        fields.update(bad)
        with pytest.raises(ValueError):
            Order(**fields)  # type: ignore[arg-type]


def test_idempotency_key_is_deterministic_and_bounded() -> None:
    a = idempotency_key_for("req123", 1, "authorize")
    assert a == idempotency_key_for("req123", 1, "authorize")
    assert a != idempotency_key_for("req123", 2, "authorize")
    assert a != idempotency_key_for("req123", 1, "cancel")
    long_key = idempotency_key_for("r" * 400, 1, "authorize")
    assert len(long_key) <= 300 and long_key == idempotency_key_for("r" * 400, 1, "authorize")
    with pytest.raises(ValueError):
        idempotency_key_for("", 1, "authorize")


def test_order_id_for_is_pg_safe_and_unique_per_attempt() -> None:
    ids = {order_id_for("01HZX/abc:9", attempt) for attempt in range(5)}
    assert len(ids) == 5
    for order_id in ids:
        Order(order_id, "n", 100, None, "k")  # passes Toss's orderId rule
    assert order_id_for("r", 1) == "000r-1"
    long_id = order_id_for("x" * 100, 3)
    assert len(long_id) <= 64 and long_id.endswith("-3")


def test_installment_rule() -> None:
    for ok in (0, 2, 12):
        check_installment(ok)
    for bad in (1, 13, -1):
        with pytest.raises(ValueError):
            check_installment(bad)
    with pytest.raises(TypeError):
        check_installment(True)


def test_not_charged_convention() -> None:
    outcome = not_charged()
    assert outcome.code == NOT_CHARGED and outcome.not_charged
    assert outcome.category is DeclineCategory.other
    assert not Declined("REJECT_CARD_PAYMENT", "", DeclineCategory.insufficient_limit).not_charged


def test_billing_key_is_kept_out_of_repr() -> None:
    import datetime as dt

    issued = BillingKeyIssued("bk_secret_value", "cust-1", "신한카드", "Visa",
                              "433028******0019", dt.datetime.now(dt.UTC))
    assert "bk_secret_value" not in repr(issued)


async def test_factory_builds_each_kind() -> None:
    toss = build_pg_client("toss", {"base_url": "http://127.0.0.1:9",
                                    "secret_key": "sk_SECRET_A", "timeout": 3})
    sim = build_pg_client("simulator", {"base_url": "http://127.0.0.1:9",
                                        "secret_key": "sk_SECRET_A"})
    portone = build_pg_client("portone", {"base_url": "http://127.0.0.1:9",
                                          "imp_key": "KEY_C", "imp_secret": "SECRET_B",
                                          "pg": "nice"})
    assert isinstance(toss, TossClient) and isinstance(sim, TossClient)
    assert isinstance(portone, PortOneClient)
    for client in (toss, sim, portone):
        assert isinstance(client, PgClient)
        assert "SECRET" not in repr(client) and "KEY_C" not in repr(client)
        await client.close()


@pytest.mark.parametrize(
    ("kind", "settings"),
    [
        ("stripe", {"base_url": "http://x", "secret_key": "sk_live_SECRET"}),
        ("toss", {"base_url": "http://x"}),
        ("toss", {"base_url": "http://x", "secret_key": ""}),
        ("toss", {"base_url": "http://x", "secret_key": "sk_live_SECRET", "timeout": 0}),
        ("portone", {"base_url": "http://x", "imp_key": "k", "imp_secret": "sk_live_SECRET"}),
    ],
)
def test_factory_rejects_bad_settings(kind: str, settings: dict[str, object]) -> None:
    with pytest.raises(ValueError) as info:
        build_pg_client(kind, settings)
    assert "SECRET" not in str(info.value)
