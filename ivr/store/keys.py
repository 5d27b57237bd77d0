"""Redis key names. A request's keys share a hash slot ({id}); a phone's pool keys share {phone}."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str = "arspay"

    def request(self, request_id: str) -> str:
        return f"{self.prefix}:req:{{{request_id}}}"

    def request_events(self, request_id: str) -> str:
        return f"{self.prefix}:req:{{{request_id}}}:events"

    def did_slot(self, phone: str, did: str) -> str:
        return f"{self.prefix}:pool:{{{phone}}}:{did}"

    def pool_cursor(self, phone: str) -> str:
        return f"{self.prefix}:pool:{{{phone}}}:cursor"

    def order_index(self, merchant_id: str, order_id: str) -> str:
        return f"{self.prefix}:m:{{{merchant_id}}}:order:{order_id}"

    def merchant_requests(self, merchant_id: str) -> str:
        return f"{self.prefix}:m:{{{merchant_id}}}:requests"

    def merchant_events(self, merchant_id: str) -> str:
        return f"{self.prefix}:m:{{{merchant_id}}}:events"

    def idempotency(self, merchant_id: str, key: str) -> str:
        return f"{self.prefix}:m:{{{merchant_id}}}:idem:{key}"

    def outbox(self) -> str:
        return f"{self.prefix}:outbox"

    def expiries(self) -> str:
        return f"{self.prefix}:expiries"

    def authorizing(self) -> str:
        return f"{self.prefix}:authorizing"

    def call_leases(self) -> str:
        return f"{self.prefix}:call-leases"

    def lookup_misses(self, caller: str) -> str:
        return f"{self.prefix}:misses:{{{caller}}}"
