"""Local PG simulator speaking the Toss Payments v1 subset (see README.md in this folder)."""

from pg_client.simulator.app import (
    LEDGER,
    ROUTE_BILLING_AUTH,
    ROUTE_BILLING_CHARGE,
    ROUTE_CANCEL,
    ROUTE_KEY_IN,
    ROUTE_LOOKUP_ORDER,
    ROUTE_LOOKUP_PAYMENT,
    create_app,
    start_simulator,
)
from pg_client.simulator.cards import FAULT_AMOUNTS, TEST_CARDS, Fault, Stage, TestCard, fault_for
from pg_client.simulator.ledger import Ledger, SimBillingKey, SimPayment

__all__ = [
    "FAULT_AMOUNTS",
    "LEDGER",
    "ROUTE_BILLING_AUTH",
    "ROUTE_BILLING_CHARGE",
    "ROUTE_CANCEL",
    "ROUTE_KEY_IN",
    "ROUTE_LOOKUP_ORDER",
    "ROUTE_LOOKUP_PAYMENT",
    "TEST_CARDS",
    "Fault",
    "Ledger",
    "SimBillingKey",
    "SimPayment",
    "Stage",
    "TestCard",
    "create_app",
    "fault_for",
    "start_simulator",
]
