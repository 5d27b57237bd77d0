"""Build the configured PG client from a settings mapping (read once from config)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pg_client.base import PgClient
from pg_client.portone import PortOneClient
from pg_client.toss import TossClient

# "simulator" is the bundled PG simulator, which speaks the Toss subset.
KINDS = ("toss", "portone", "simulator")


def _required(settings: Mapping[str, Any], name: str, kind: str) -> str:
    value = settings.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"pg settings for {kind!r} need a non-empty {name!r}")
    return value


def build_pg_client(kind: str, settings: Mapping[str, Any]) -> PgClient:
    """kind "toss" | "simulator": base_url, secret_key, timeout;
    kind "portone": base_url, imp_key, imp_secret, pg, timeout."""
    timeout = float(settings.get("timeout", 10.0))
    if timeout <= 0:
        raise ValueError("pg timeout must be positive")
    if kind in ("toss", "simulator"):
        return TossClient(
            _required(settings, "base_url", kind),
            _required(settings, "secret_key", kind),
            timeout=timeout,
        )
    if kind == "portone":
        return PortOneClient(
            _required(settings, "base_url", kind),
            _required(settings, "imp_key", kind),
            _required(settings, "imp_secret", kind),
            _required(settings, "pg", kind),
            timeout=timeout,
        )
    raise ValueError(f"unknown pg kind {kind!r} (expected one of {', '.join(KINDS)})")
