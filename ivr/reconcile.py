"""Requests stuck in ``authorizing`` (a worker died mid-PG-call, or the PG never answered):
ask the PG what happened to the order and record it. Runs at start-up and periodically."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from ivr.ars_requests import ArsRequestService
from ivr.config import Settings
from ivr.domain.requests import Status, now_ms
from ivr.store.requests import IllegalTransition
from pg_client.base import PgClient, order_id_for
from pg_client.outcomes import Approved, Declined
from pg_client.recovery import resolve_in_doubt

log = logging.getLogger(__name__)


async def reconcile_authorizing(
    settings: Settings,
    ars: ArsRequestService,
    pg_clients: Mapping[str, PgClient],
    *,
    older_than_ms: int,
    lookups: int = 3,
    backoff: float = 0.2,
) -> dict[str, int]:
    """Resolve requests that have been authorizing for longer than ``older_than_ms``."""
    counts = {"approved": 0, "declined": 0, "not_charged": 0, "still_in_doubt": 0}
    for request_id in await ars.store.authorizing_since(now_ms() - older_than_ms):
        request = await ars.store.get(request_id)
        if request is None or request.status is not Status.AUTHORIZING:
            continue
        merchant = settings.merchant(request.merchant_id)
        client = pg_clients.get(merchant.pg) if merchant else None
        if client is None:
            log.error("request %s: no PG client for its merchant; left authorizing", request_id)
            counts["still_in_doubt"] += 1
            continue
        order_id = order_id_for(request.id, request.pg_attempts)
        outcome = await resolve_in_doubt(client, order_id, lookups=lookups, backoff=backoff)
        try:
            if isinstance(outcome, Approved):
                await ars.record_approval(request, outcome)
                counts["approved"] += 1
            elif isinstance(outcome, Declined) and outcome.not_charged:
                await ars.store.transition(
                    request.id,
                    Status.PENDING if request.expires_at > now_ms() else Status.FAILED,
                    expected={Status.AUTHORIZING},
                    fields={
                        "call_id": "",
                        "lease_until": 0,
                        "failure_reason": ""
                        if request.expires_at > now_ms()
                        else "authorization_not_completed",
                    },
                    event="authorization_not_charged",
                    data={"order_id": order_id},
                )
                counts["not_charged"] += 1
            elif isinstance(outcome, Declined):
                await ars.record_decline(request, outcome, request.card_masked, final=True)
                counts["declined"] += 1
            else:
                counts["still_in_doubt"] += 1
        except IllegalTransition:
            continue  # the live call recorded it meanwhile
    if any(counts.values()):
        log.info("reconciliation: %s", counts)
    return counts
