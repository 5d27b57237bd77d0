"""What can be done with ARS requests: create (with a number and an SMS), cancel, expire, and
the call-side claims. The HTTP API and the call flows both go through here."""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass

from ivr.background import BackgroundTasks
from ivr.config import MerchantSettings, Settings
from ivr.domain.errors import RequestRejected
from ivr.domain.phones import is_mobile, normalize_phone
from ivr.domain.requests import (
    HOLDS_NUMBER,
    ArsRequest,
    Delivery,
    Kind,
    Status,
    new_request_id,
    now_ms,
)
from ivr.store.pool import NumberPool, PoolExhausted
from ivr.store.requests import IllegalTransition, RequestStore
from ivr.store.scripts import DELETE_IF_EQUAL
from pg_client.base import PgClient, idempotency_key_for
from pg_client.outcomes import Approved, Cancelled, Declined
from pg_client.recovery import cancel_with_retry
from sms.base import SmsSender

log = logging.getLogger(__name__)

REFUNDABLE = frozenset({Status.APPROVED, Status.PARTIALLY_REFUNDED})


@dataclass(frozen=True)
class NewRequest:
    kind: Kind
    order_id: str
    product_name: str
    amount: int
    payer_name: str
    payer_phone: str
    delivery: Delivery
    expires_in: int | None = None
    callback_url: str | None = None
    max_installment_months: int | None = None


class ArsRequestService:
    def __init__(
        self,
        settings: Settings,
        store: RequestStore,
        pool: NumberPool,
        sms: SmsSender,
        background: BackgroundTasks,
    ) -> None:
        self.settings = settings
        self.store = store
        self.pool = pool
        self.sms = sms
        self.background = background

    # --- merchant side -------------------------------------------------------------------

    def _check(self, merchant: MerchantSettings, new: NewRequest) -> tuple[str, int, int]:
        limits = self.settings.requests
        if new.kind is not Kind.PAYMENT:
            raise RequestRejected(
                422, "kind_not_supported", f"kind {new.kind.value!r} is not available yet", "kind"
            )
        if not limits.min_amount <= new.amount <= limits.max_amount:
            raise RequestRejected(
                422,
                "invalid_field",
                f"amount must be between {limits.min_amount:,} and {limits.max_amount:,} KRW",
                "amount",
            )
        phone = normalize_phone(new.payer_phone)
        if phone is None:
            raise RequestRejected(
                422,
                "invalid_field",
                "payer_phone is not a valid Korean phone number",
                "payer_phone",
            )
        if new.delivery is Delivery.SMS and not is_mobile(phone):
            raise RequestRejected(
                422,
                "invalid_field",
                "payer_phone must be a mobile number for SMS delivery",
                "payer_phone",
            )
        ttl = new.expires_in if new.expires_in is not None else merchant.default_ttl
        if not limits.min_ttl <= ttl <= limits.max_ttl:
            raise RequestRejected(
                422,
                "invalid_field",
                f"expires_in must be between {limits.min_ttl} and {limits.max_ttl} seconds",
                "expires_in",
            )
        months = (
            new.max_installment_months
            if new.max_installment_months is not None
            else merchant.max_installment_months
        )
        if months > merchant.max_installment_months or months == 1:
            raise RequestRejected(
                422,
                "invalid_field",
                f"max_installment_months must be 0 or 2..{merchant.max_installment_months}",
                "max_installment_months",
            )
        return phone, ttl, months

    async def create(self, merchant: MerchantSettings, new: NewRequest) -> ArsRequest:
        phone, ttl, months = self._check(merchant, new)
        request_id = new_request_id()
        order_key = self.store.keys.order_index(merchant.id, new.order_id)
        ttl_ms = ttl * 1000
        retention_ms = ttl_ms + 90 * 86_400_000
        if not await self.store.redis.set(order_key, request_id, nx=True, px=retention_ms):
            existing = await self.store.redis.get(order_key)
            raise RequestRejected(
                409,
                "duplicate_order_id",
                f"order_id {new.order_id!r} already has request {existing}",
                "order_id",
                existing_request_id=existing,
            )
        try:
            did = await self.pool.allocate(phone, request_id, ttl_ms)
        except PoolExhausted as exc:
            await self.store.redis.delete(order_key)
            raise RequestRejected(
                409,
                "pool_exhausted",
                f"no virtual number is free for this phone: it already has "
                f"{exc.phone_pending} pending requests",
                "payer_phone",
                pending_requests=exc.phone_pending,
            ) from None
        created = now_ms()
        request = ArsRequest(
            id=request_id,
            merchant_id=merchant.id,
            kind=new.kind,
            order_id=new.order_id,
            product_name=new.product_name,
            amount=new.amount,
            payer_name=new.payer_name,
            payer_phone=phone,
            virtual_number=did,
            delivery=new.delivery,
            status=Status.PENDING,
            created_at=created,
            expires_at=created + ttl_ms,
            updated_at=created,
            callback_url=new.callback_url or merchant.callback_url,
            max_installment_months=months,
            language=merchant.language,
            sms_status="queued" if new.delivery is Delivery.SMS else "not_sent",
        )
        # The billing SMS leaves through the durable outbox (ivr.outbox), enqueued atomically.
        outbox = ("billing_sms",) if new.delivery is Delivery.SMS else ()
        try:
            await self.store.create(
                request, {"virtual_number": did, "delivery": new.delivery}, outbox
            )
        except Exception:
            await self.pool.release(phone, did, request_id)
            await self.store.redis.delete(order_key)
            raise
        return request

    async def cancel(self, request: ArsRequest, cancelled_by: str, reason: str) -> ArsRequest:
        try:
            return await self.store.transition(
                request.id,
                Status.CANCELLED,
                expected={Status.PENDING},
                fields={"cancelled_by": cancelled_by, "cancel_reason": reason},
                data={"cancelled_by": cancelled_by, "reason": reason},
            )
        except IllegalTransition as exc:
            raise RequestRejected(
                409,
                "not_cancellable",
                f"request {request.id} is {exc.current}; only pending requests can be cancelled",
                "status",
            ) from None

    async def refund(
        self,
        merchant: MerchantSettings,
        request: ArsRequest,
        amount: int | None,
        reason: str,
        pg: PgClient,
    ) -> ArsRequest:
        """Refund ``amount`` (default: all that remains) through the PG's cancel API.

        approved / partially_refunded → refunded / partially_refunded. One refund of a request
        runs at a time. Each refund gets its own PG idempotency key (request + refund number),
        kept on the request until the PG answers: if the answer is lost, the next attempt with
        the same amount resends under the same key, so the PG replays instead of refunding
        twice; a different amount is refused until then.
        """
        redis = self.store.redis
        record_key = self.store.keys.request(request.id)
        lock_key = record_key + ":refund-lock"
        token = secrets.token_hex(8)
        lock_ms = int(max(self.settings.pg.timeout * 4 + 10, 60) * 1000)
        if not await redis.set(lock_key, token, nx=True, px=lock_ms):
            raise RequestRejected(
                409, "refund_in_progress", "another refund of this request is in progress"
            )
        try:
            current = await self.store.get(request.id)
            assert current is not None
            if current.status not in REFUNDABLE or not current.pg_payment_ref:
                raise RequestRejected(
                    409,
                    "not_refundable",
                    f"request {current.id} is {current.status.value}; only approved or "
                    "partially refunded payments can be refunded",
                    "status",
                )
            remaining = current.remaining_amount
            wanted = remaining if amount is None else amount
            if not 0 < wanted <= remaining:
                raise RequestRejected(
                    422,
                    "refund_exceeds_remaining",
                    f"amount {wanted:,} KRW is more than the {remaining:,} KRW that remains "
                    "refundable",
                    "amount",
                    remaining_amount=remaining,
                )
            pending = json.loads(await redis.hget(record_key, "refund_pending") or "null")
            if pending and pending["amount"] != wanted:
                raise RequestRejected(
                    409,
                    "refund_in_doubt",
                    f"a refund of {pending['amount']:,} KRW was sent to the PG and not "
                    "confirmed; retry that refund (same amount) first",
                    "amount",
                    pending_amount=pending["amount"],
                )
            if pending:
                pg_key = pending["key"]
            else:
                number = await redis.hincrby(record_key, "refund_seq", 1)
                pg_key = idempotency_key_for(current.id, number, "refund")
                await redis.hset(
                    record_key,
                    "refund_pending",
                    json.dumps({"key": pg_key, "amount": wanted, "at": now_ms()}),
                )
            outcome = await cancel_with_retry(
                pg, current.pg_payment_ref, wanted, reason, pg_key
            )
            if isinstance(outcome, Cancelled):
                refunded = current.refunded_amount + outcome.cancelled_amount
                left = current.approved_amount - refunded
                status = Status.REFUNDED if left <= 0 else Status.PARTIALLY_REFUNDED
                return await self.store.transition(
                    current.id,
                    status,
                    expected=REFUNDABLE,
                    fields={"refunded_amount": refunded, "refund_pending": ""},
                    data={
                        "refund_amount": outcome.cancelled_amount,
                        "refunded_amount": refunded,
                        "remaining_amount": max(left, 0),
                        "reason": reason,
                    },
                )
            if isinstance(outcome, Declined):
                await redis.hset(record_key, "refund_pending", "")
                await self.store.add_event(
                    current, "refund_declined", {"code": outcome.code, "amount": wanted}
                )
                raise RequestRejected(
                    422,
                    "refund_declined",
                    f"the PG refused the refund: {outcome.message or outcome.code}",
                    pg_code=outcome.code,
                )
            await self.store.add_event(
                current, "refund_in_doubt", {"reason": outcome.reason[:200], "amount": wanted}
            )
            raise RequestRejected(
                502,
                "refund_in_doubt",
                f"the PG did not confirm the refund ({outcome.reason}); nothing was changed "
                "here. Retry with the same amount: it cannot refund twice",
            )
        finally:
            await redis.eval(DELETE_IF_EQUAL, 1, lock_key, token)

    # --- housekeeping ----------------------------------------------------------------------

    async def expire_due(self, now: int | None = None) -> int:
        """Move pending requests whose time is up to ``expired``; returns how many."""
        now = now if now is not None else now_ms()
        expired = 0
        for request_id in await self.store.due_expiries(now):
            request = await self.store.get(request_id)
            if request is None or request.status not in HOLDS_NUMBER:
                await self.store.forget_expiry(request_id)
                continue
            if request.status is not Status.PENDING:
                continue  # a call holds it; end_call expires it when the payer leaves
            try:
                await self.store.transition(request_id, Status.EXPIRED, expected={Status.PENDING})
                expired += 1
            except IllegalTransition:
                continue
        return expired

    async def release_stale_calls(self, now: int | None = None) -> int:
        """A call that outlived its lease (a worker died mid-call) gives the request back."""
        now = now if now is not None else now_ms()
        released = 0
        for request_id in await self.store.due_call_leases(now):
            request = await self.store.get(request_id)
            if request is None or request.status is not Status.IN_CALL:
                await self.store.redis.zrem(self.store.keys.call_leases(), request_id)
                continue
            await self.end_call(request, request.call_id, reason="lease_expired")
            released += 1
        return released

    # --- call side -------------------------------------------------------------------------

    async def find_for_call(self, dialled: str, caller: str) -> ArsRequest | None:
        request_id = await self.pool.lookup(dialled, caller)
        return await self.store.get(request_id) if request_id else None

    async def claim_for_call(self, request: ArsRequest) -> tuple[ArsRequest, str]:
        """pending → in_call for one call; raises IllegalTransition if another call holds it."""
        if request.expires_at <= now_ms():
            raise IllegalTransition(request.id, "expired", Status.IN_CALL)
        call_id = secrets.token_hex(8)
        lease = now_ms() + int(self.settings.agi.max_call_seconds * 1000) + 60_000
        claimed = await self.store.transition(
            request.id,
            Status.IN_CALL,
            expected={Status.PENDING},
            fields={"call_id": call_id, "lease_until": lease},
            increments={"call_attempts": 1},
            event="call_connected",
        )
        await self.store.set_call_lease(request.id, lease)
        return claimed, call_id

    async def end_call(self, request: ArsRequest, call_id: str, reason: str) -> ArsRequest | None:
        """The payer left before authorization: back to pending, or failed after the limit,
        or expired when its time ran out meanwhile."""
        current = await self.store.get(request.id)
        if current is None or current.status is not Status.IN_CALL or current.call_id != call_id:
            return current
        if current.expires_at <= now_ms():
            target = Status.EXPIRED
        elif current.call_attempts >= self.settings.requests.max_call_attempts:
            target = Status.FAILED
        else:
            target = Status.PENDING
        fields: dict[str, str | int] = {"call_id": "", "lease_until": 0}
        if target is Status.FAILED:
            fields["failure_reason"] = "too_many_call_attempts"
        try:
            return await self.store.transition(
                request.id,
                target,
                expected={Status.IN_CALL},
                fields=fields,
                event="call_ended",
                data={"reason": reason, "status": target.value},
            )
        except IllegalTransition:
            return await self.store.get(request.id)

    # --- authorization -------------------------------------------------------------------

    async def begin_authorization(self, request: ArsRequest) -> ArsRequest:
        """in_call → authorizing; counts the PG attempt (the attempt number names the PG order)."""
        return await self.store.transition(
            request.id,
            Status.AUTHORIZING,
            expected={Status.IN_CALL},
            increments={"pg_attempts": 1},
            event="authorizing",
        )

    async def record_approval(self, request: ArsRequest, approved: Approved) -> ArsRequest:
        return await self.store.transition(
            request.id,
            Status.APPROVED,
            expected={Status.AUTHORIZING},
            fields={
                "pg_order_id": approved.order_id,
                "pg_payment_ref": approved.payment_ref,
                "approval_number": approved.approval_number,
                "approved_at": int(approved.approved_at.timestamp() * 1000),
                "approved_amount": approved.amount,
                "card_masked": approved.masked_number,
                "card_brand": approved.brand or "",
                "card_issuer": approved.issuer or "",
                "installment_months": approved.installment_months,
                "call_id": "",
                "lease_until": 0,
            },
            event="approved",
            data={"approval_number": approved.approval_number, "card": approved.masked_number},
        )

    async def record_decline(
        self, request: ArsRequest, declined: Declined, card_masked: str, *, final: bool
    ) -> ArsRequest:
        """A definite decline: final → declined; otherwise back to in_call for another card."""
        fields: dict[str, str | int] = {
            "decline_code": declined.code,
            "decline_category": declined.category.value,
            "decline_message": declined.message[:200],
            "card_masked": card_masked,
        }
        if final:
            fields.update({"call_id": "", "lease_until": 0})
        return await self.store.transition(
            request.id,
            Status.DECLINED if final else Status.IN_CALL,
            expected={Status.AUTHORIZING, Status.IN_CALL},
            fields=fields,
            event="declined" if final else "declined_retry",
            data={"category": declined.category.value, "code": declined.code, "card": card_masked},
        )

    async def record_in_doubt(self, request: ArsRequest, reason: str) -> None:
        """The PG's answer is unknown: the request stays in authorizing for reconciliation."""
        await self.store.add_event(request, "authorization_in_doubt", {"reason": reason[:200]})

    async def cancel_by_payer(self, request: ArsRequest) -> ArsRequest:
        return await self.store.transition(
            request.id,
            Status.CANCELLED,
            expected={Status.IN_CALL},
            fields={
                "cancelled_by": "payer",
                "cancel_reason": "payer pressed 2 in the call",
                "call_id": "",
                "lease_until": 0,
            },
            data={"cancelled_by": "payer"},
        )
