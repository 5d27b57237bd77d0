"""What can be done with ARS requests: create (with a number and an SMS), cancel, expire, and
the call-side claims. The HTTP API and the call flows both go through here."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from ivr.background import BackgroundTasks
from ivr.config import MerchantSettings, Settings
from ivr.domain.phones import is_mobile, national_display, normalize_phone
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
from pg_client.outcomes import Approved, Declined
from sms.base import SmsMessage, SmsSender
from sms.templates import billing_sms

log = logging.getLogger(__name__)


class RequestRejected(Exception):
    """A request that is well-formed but cannot be accepted; carries the API error parts."""

    def __init__(
        self, status: int, code: str, message: str, field: str | None = None, **extra: object
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.extra = extra


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
        try:
            await self.store.create(request, {"virtual_number": did, "delivery": new.delivery})
        except Exception:
            await self.pool.release(phone, did, request_id)
            await self.store.redis.delete(order_key)
            raise
        if new.delivery is Delivery.SMS:
            self.background.spawn(self._send_billing_sms(merchant, request), f"sms:{request_id}")
        return request

    async def _send_billing_sms(self, merchant: MerchantSettings, request: ArsRequest) -> None:
        text = billing_sms(
            merchant.display_name,
            request.product_name,
            request.amount,
            national_display(request.virtual_number),
            datetime.fromtimestamp(request.expires_at / 1000, tz=UTC),
        )
        result = await self.sms.send(
            SmsMessage(to=request.payer_phone, text=text, kind="billing", request_id=request.id)
        )
        status = "sent" if result.ok else "failed"
        await self.store.record(
            request.id,
            {
                "sms_status": status,
                "sms_error": result.error or "",
                "sms_message_id": result.message_id or "",
            },
        )
        await self.store.add_event(
            request, f"sms_{status}", {"kind": "billing", "error": result.error or ""}
        )
        if not result.ok:
            log.warning("billing SMS for %s failed: %s", request.id, result.error)

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

    async def begin_authorization(self, request: ArsRequest, call_id: str) -> ArsRequest:
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
