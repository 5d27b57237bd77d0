"""Turning "we don't know" into an answer, by asking the PG about the order.

`authorize_with_recovery` runs a payment call; if it ends `InDoubt` it looks the order up
(bounded retries, exponential back-off) and returns:
  * `Approved`                     – the PG has the payment (charged exactly once);
  * `Declined` with `.not_charged` – the PG has no payment for the order (code NOT_CHARGED,
                                     category other): nothing was charged, the payer may retry
                                     with a new order id;
  * `Declined` (PG's own code)     – the PG recorded the attempt as failed;
  * `InDoubt`                      – the lookups themselves kept failing; leave the request in
                                     `authorizing` and let `resolve_in_doubt` settle it later.
A definite `Declined` from the operation itself is returned at once: never retried.

Residual risk (inherent to any PG): a request that is still queued inside the PG when the
lookups say "not found" could complete afterwards. The back-off window (≈ backoff·(2^lookups-1),
3 s by default) keeps that small; merchants reconcile against the PG's settlement file.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from pg_client.outcomes import (
    Approved,
    CancelOutcome,
    Declined,
    InDoubt,
    LookupOutcome,
    NotFound,
    PaymentOutcome,
    not_charged,
)

log = logging.getLogger("pg_client.recovery")


class _CanLookUp(Protocol):
    async def lookup(self, order_id: str) -> LookupOutcome: ...


class _CanCancel(Protocol):
    async def cancel(
        self, payment_ref: str, amount: int | None, reason: str, idempotency_key: str
    ) -> CancelOutcome: ...


def lookup_delays(lookups: int, backoff: float, first_delay: float) -> list[float]:
    """Seconds to wait before each lookup: first_delay, then backoff·2, backoff·4, …"""
    return [first_delay] + [backoff * (2**attempt) for attempt in range(1, max(lookups, 1))]


async def resolve_in_doubt(
    client: _CanLookUp,
    order_id: str,
    *,
    lookups: int = 4,
    backoff: float = 0.2,
    first_delay: float = 0.0,
) -> Approved | Declined | InDoubt:
    """Settle a payment whose outcome is unknown (e.g. at start-up for requests stuck in
    `authorizing`). Returns Approved, Declined (NOT_CHARGED when the PG has nothing) or
    InDoubt when the PG could not be asked. Waits `first_delay`, then backoff·2, backoff·4…
    between lookups."""
    last: InDoubt = InDoubt("no_lookup_made")
    for delay in lookup_delays(lookups, backoff, first_delay):
        if delay > 0:
            await asyncio.sleep(delay)
        found = await client.lookup(order_id)
        if isinstance(found, Approved | Declined):
            log.info("order %s resolved by lookup: %s", order_id, type(found).__name__)
            return found
        if isinstance(found, NotFound):
            log.info("order %s resolved by lookup: not charged", order_id)
            return not_charged()
        last = found
    log.warning("order %s still in doubt after %d lookups (%s)", order_id, lookups, last.reason)
    return InDoubt(f"unresolved:{last.reason}")


async def authorize_with_recovery(
    client: _CanLookUp,
    operation: Callable[[], Awaitable[PaymentOutcome]],
    order_id: str,
    *,
    lookups: int = 4,
    backoff: float = 0.2,
) -> Approved | Declined | InDoubt:
    """Run a payment operation (keyed-in or billing-key charge) for `order_id` and resolve an
    in-doubt ending by lookups. See the module doc for what each outcome means."""
    outcome = await operation()
    if not isinstance(outcome, InDoubt):
        return outcome
    if not outcome.maybe_charged:
        log.info("order %s: request never reached the PG (%s)", order_id, outcome.reason)
        return not_charged(f"the request never reached the PG ({outcome.reason})")
    log.info("order %s in doubt (%s); looking it up", order_id, outcome.reason)
    return await resolve_in_doubt(
        client, order_id, lookups=lookups, backoff=backoff, first_delay=backoff
    )


async def cancel_with_retry(
    client: _CanCancel,
    payment_ref: str,
    amount: int | None,
    reason: str,
    idempotency_key: str,
    *,
    attempts: int = 3,
    backoff: float = 0.2,
) -> CancelOutcome:
    """Cancel, resending with the same idempotency key while the outcome is unknown (the PG
    replays the first result for a repeated key, so a resend never refunds twice)."""
    outcome: CancelOutcome = InDoubt("no_attempt_made")
    for attempt in range(max(attempts, 1)):
        if attempt:
            await asyncio.sleep(backoff * (2 ** (attempt - 1)))
        outcome = await client.cancel(payment_ref, amount, reason, idempotency_key)
        if not isinstance(outcome, InDoubt):
            return outcome
    return outcome
