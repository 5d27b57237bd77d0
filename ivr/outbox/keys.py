"""Redis names of the outbox. A request's delivery records share its hash slot ({id})."""

from __future__ import annotations

from dataclasses import dataclass

from ivr.store.keys import Keys

GROUP = "arspay-outbox"


@dataclass(frozen=True)
class OutboxKeys:
    keys: Keys

    @property
    def stream(self) -> str:
        """Entries waiting for a worker (written by the store's Lua scripts)."""
        return self.keys.outbox()

    @property
    def retries(self) -> str:
        """Sorted set: an entry to put back on the stream, scored by when (ms)."""
        return f"{self.keys.prefix}:outbox:retries"

    @property
    def dead_letters(self) -> str:
        """Every dead-lettered delivery, all merchants (for operators)."""
        return f"{self.keys.prefix}:outbox:dead"

    def merchant_dead_letters(self, merchant_id: str) -> str:
        return f"{self.keys.prefix}:m:{{{merchant_id}}}:outbox-dead"

    def deliveries(self, request_id: str) -> str:
        """Hash: delivery id → JSON record (state, attempts, frozen callback body)."""
        return f"{self.keys.prefix}:req:{{{request_id}}}:deliveries"

    def in_flight(self, request_id: str) -> str:
        """Hash: delivery id → JSON of the attempt a worker is making right now (or was making
        when it died: cleared when the attempt's outcome is recorded)."""
        return f"{self.keys.prefix}:req:{{{request_id}}}:delivering"

    def attempts(self, request_id: str) -> str:
        """List of JSON attempt records of all of a request's deliveries, oldest first."""
        return f"{self.keys.prefix}:req:{{{request_id}}}:delivery-attempts"
