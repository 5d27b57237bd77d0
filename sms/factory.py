"""Pick the SMS sender from configuration: `outbox` (default), `solapi` or `sens`.

Settings keys (a mapping, e.g. the `[sms]` table of the TOML config):
- solapi: `api_key`, `api_secret`, `sender_number`, optional `base_url`, `timeout`
- sens: `access_key`, `secret_key`, `service_id`, `sender_number`, optional `base_url`,
  `timeout`, `content_type` (COMM | AD)
- outbox: optional `echo` (default true); the file is `outbox_path`.

`from_number` is accepted for `sender_number`, and a nested table named after the kind is
merged over the top level, so the whole `[sms]` table can be passed as it is:
`build_sms_sender(cfg["sender"], cfg, outbox_path=cfg["outbox_path"])` with
`cfg = {"sender": "solapi", "from_number": "1600-5000", "timeout": 10,
"solapi": {"api_key": …, "api_secret": …}}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sms.base import DEFAULT_TIMEOUT_S, SmsSender
from sms.outbox import OutboxSender
from sms.sens import SensSender
from sms.solapi import SolapiSender

SENDER_KINDS = ("outbox", "solapi", "sens")


def _required(settings: Mapping[str, Any], kind: str, *keys: str) -> list[str]:
    missing = [k for k in keys if not settings.get(k)]
    if missing:
        raise ValueError(f"sms sender {kind!r} needs settings: {', '.join(missing)}")
    return [str(settings[k]) for k in keys]


def _timeout(settings: Mapping[str, Any]) -> float:
    value = settings.get("timeout", DEFAULT_TIMEOUT_S)
    try:
        timeout = float(value)
    except (TypeError, ValueError):
        raise ValueError("sms timeout must be a number of seconds") from None
    if timeout <= 0:
        raise ValueError("sms timeout must be positive")
    return timeout


def _flatten(kind: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    flat = {k: v for k, v in settings.items() if not isinstance(v, Mapping)}
    nested = settings.get(kind)
    if isinstance(nested, Mapping):
        flat.update(nested)
    if not flat.get("sender_number") and flat.get("from_number"):
        flat["sender_number"] = flat["from_number"]
    return flat


def build_sms_sender(
    kind: str, settings: Mapping[str, Any], *, outbox_path: str | Path
) -> SmsSender:
    """The sender for `kind`; ValueError naming what is missing or wrong."""
    settings = _flatten(kind, settings)
    if kind == "outbox":
        return OutboxSender(outbox_path, echo=bool(settings.get("echo", True)))
    if kind == "solapi":
        key, secret, sender = _required(settings, kind, "api_key", "api_secret", "sender_number")
        return SolapiSender(
            key, secret, sender,
            base_url=str(settings.get("base_url") or "https://api.solapi.com"),
            timeout=_timeout(settings),
        )  # fmt: skip
    if kind == "sens":
        access, secret, service, sender = _required(
            settings, kind, "access_key", "secret_key", "service_id", "sender_number"
        )
        return SensSender(
            access, secret, service, sender,
            base_url=str(settings.get("base_url") or "https://sens.apigw.ntruss.com"),
            timeout=_timeout(settings),
            content_type=str(settings.get("content_type") or "COMM"),
        )  # fmt: skip
    raise ValueError(f"unknown sms sender {kind!r}; expected one of {', '.join(SENDER_KINDS)}")
