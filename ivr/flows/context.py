"""What a call flow works with: the channel, the request it holds, and the server's parts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ivr.agi.channel import Channel
from ivr.config import MerchantSettings
from ivr.domain.requests import ArsRequest
from ivr.flows.fields import Timing
from ivr.services import Services
from pg_client.base import PgClient
from pg_client.outcomes import Declined
from prompts.dynamic import DynamicPrompts


@dataclass
class FlowDeps:
    services: Services
    pg_clients: Mapping[str, PgClient]
    dynamic_prompts: DynamicPrompts

    @property
    def timing(self) -> Timing:
        agi = self.services.settings.agi
        return Timing(agi.first_digit_timeout, agi.inter_digit_timeout, agi.tries_per_field)

    def pg_for(self, merchant: MerchantSettings) -> PgClient:
        return self.pg_clients[merchant.pg]


@dataclass
class CallState:
    channel: Channel
    deps: FlowDeps
    merchant: MerchantSettings
    request: ArsRequest
    call_id: str
    # A definite decline the payer may still answer with another card; becomes final if the
    # payer leaves or declines to retry.
    open_decline: tuple[Declined, str] | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def language(self) -> str:
        return self.channel.language

    async def event(self, name: str, **data: Any) -> None:
        await self.deps.services.store.add_event(self.request, name, data)
