"""PG authorization clients behind one interface (`PgClient`), their outcomes, the card-data
type, recovery of in-doubt payments, and a local PG simulator (`pg_client.simulator`)."""

from pg_client.base import Order, PgClient, idempotency_key_for, order_id_for
from pg_client.card import (
    CardData,
    CardDataError,
    check_card_number,
    check_expiry,
    check_identity,
    check_pin2,
)
from pg_client.factory import build_pg_client
from pg_client.outcomes import (
    NOT_CHARGED,
    Approved,
    BillingKeyIssued,
    BillingKeyOutcome,
    Cancelled,
    CancelOutcome,
    DeclineCategory,
    Declined,
    InDoubt,
    LookupOutcome,
    NotFound,
    PaymentOutcome,
    PaymentStateOutcome,
)
from pg_client.portone import PortOneClient
from pg_client.recovery import authorize_with_recovery, cancel_with_retry, resolve_in_doubt
from pg_client.toss import TossClient

__all__ = [
    "NOT_CHARGED",
    "Approved",
    "BillingKeyIssued",
    "BillingKeyOutcome",
    "CancelOutcome",
    "Cancelled",
    "CardData",
    "CardDataError",
    "DeclineCategory",
    "Declined",
    "InDoubt",
    "LookupOutcome",
    "NotFound",
    "Order",
    "PaymentOutcome",
    "PaymentStateOutcome",
    "PgClient",
    "PortOneClient",
    "TossClient",
    "authorize_with_recovery",
    "build_pg_client",
    "cancel_with_retry",
    "check_card_number",
    "check_expiry",
    "check_identity",
    "check_pin2",
    "idempotency_key_for",
    "order_id_for",
    "resolve_in_doubt",
]
