"""Configuration: TOML defaults, an optional file, ``ARSPAY_…`` environment overrides.

Loaded once at start into a typed, validated :class:`Settings`; a wrong value names the key.
Environment overrides use ``__`` between levels: ``ARSPAY_HTTP__PORT=8081``. Values are read as
TOML literals when they parse as one (numbers, booleans, arrays), else as plain strings.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ivr.domain.phones import normalize_did

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "default.toml"
ENV_PREFIX = "ARSPAY_"


class ConfigError(Exception):
    """A configuration problem, its message naming the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _sha256_hex(value: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{64}", value):
        raise ValueError("must be a 64-character lowercase hex SHA-256 digest")
    return value


class MerchantSettings(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,31}$")
    display_name: str = Field(min_length=1, max_length=40)
    api_key_sha256: Annotated[str, AfterValidator(_sha256_hex)]
    callback_url: str = ""
    callback_secrets: list[str] = Field(default_factory=list)
    require_birthdate: bool = True
    require_pin: bool = True
    max_installment_months: int = Field(default=12, ge=0, le=36)
    withheld_callerid: Literal["refuse", "ask_mobile"] = "refuse"
    default_ttl: int = Field(default=86_400, ge=60)
    language: Literal["ko", "en"] = "ko"
    english_enabled: bool = False
    pg: str = "toss"
    decline_retries: int = Field(default=1, ge=0, le=3)

    @field_validator("callback_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value and not re.match(r"^https?://", value):
            raise ValueError("must be an http:// or https:// URL")
        return value

    def key_matches(self, api_key: str) -> bool:
        return hmac.compare_digest(hash_api_key(api_key), self.api_key_sha256)


class HttpSettings(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    max_body_bytes: int = Field(default=16_384, ge=1024)


class AgiSettings(_Strict):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=4573, ge=0, le=65535)
    sound_prefix: str = "arspay"
    default_language: Literal["ko", "en"] = "ko"
    sounds_dir: str = "var/sounds"
    check_prompts: bool = False
    first_digit_timeout: float = Field(default=8.0, gt=0)
    inter_digit_timeout: float = Field(default=4.0, gt=0)
    tries_per_field: int = Field(default=3, ge=1, le=10)
    max_call_seconds: float = Field(default=600.0, gt=0)
    idle_timeout: float = Field(default=120.0, gt=0)
    shutdown_grace: float = Field(default=30.0, ge=0)
    lookup_misses_per_hour: int = Field(default=5, ge=1)


class RedisSettings(_Strict):
    url: str = ""
    managed: bool = True
    port: int = Field(default=6390, ge=0, le=65535)
    data_dir: str = "var/redis"
    key_prefix: str = "arspay"
    max_connections: int = Field(default=256, ge=4)


class RequestSettings(_Strict):
    min_amount: int = Field(default=100, ge=1)
    max_amount: int = Field(default=10_000_000, ge=100)
    min_ttl: int = Field(default=60, ge=10)
    max_ttl: int = Field(default=7 * 86_400, ge=60)
    max_call_attempts: int = Field(default=3, ge=1, le=20)
    installment_min_amount: int = Field(default=50_000, ge=0)
    sweep_interval: float = Field(default=5.0, gt=0)


class PoolSettings(_Strict):
    dids: list[str] = Field(default_factory=list)
    ranges: list[tuple[str, str]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _valid_numbers(self) -> PoolSettings:
        for did in self.dids:
            if normalize_did(did) is None:
                raise ValueError(f"dids: {did!r} is not a phone number")
        for first, last in self.ranges:
            a, b = normalize_did(first), normalize_did(last)
            if a is None or b is None:
                raise ValueError(f"ranges: {first!r}..{last!r} is not a pair of phone numbers")
            if len(a) != len(b) or int(b[1:]) < int(a[1:]):
                raise ValueError(f"ranges: {first!r}..{last!r} is not an ascending range")
            if int(b[1:]) - int(a[1:]) >= 100_000:
                raise ValueError(f"ranges: {first!r}..{last!r} is larger than 100,000 numbers")
        return self

    def numbers(self) -> list[str]:
        """Every DID of the pool in E.164, in configured order, without repeats."""
        seen: dict[str, None] = {}
        for did in self.dids:
            seen[normalize_did(did) or did] = None
        for first, last in self.ranges:
            a, b = normalize_did(first), normalize_did(last)
            assert a is not None and b is not None
            width = len(a) - 1
            for n in range(int(a[1:]), int(b[1:]) + 1):
                seen["+" + str(n).zfill(width)] = None
        return list(seen)


class SmsSettings(_Strict):
    sender: Literal["outbox", "solapi", "sens"] = "outbox"
    outbox_path: str = "var/sms-outbox.jsonl"
    from_number: str = "1600-5000"
    echo: bool = True
    timeout: float = Field(default=10.0, gt=0)
    solapi: dict[str, str] = Field(default_factory=dict)
    sens: dict[str, str] = Field(default_factory=dict)


class PgSettings(_Strict):
    simulator: bool = True
    simulator_host: str = "127.0.0.1"
    simulator_port: int = Field(default=8091, ge=0, le=65535)
    simulator_latency: float = Field(default=2.0, ge=0)
    simulator_hang: float = Field(default=30.0, ge=0)
    toss: dict[str, Any] = Field(default_factory=dict)
    portone: dict[str, Any] = Field(default_factory=dict)
    timeout: float = Field(default=10.0, gt=0)


class OutboxSettings(_Strict):
    """The durable outbox (merchant callbacks, payer SMS): delivery, retries, dead letters."""

    enabled: bool = True  # run an outbox worker inside the server
    # Seconds to wait before each retry; attempts = len(retry_schedule) + 1 (≈ 3 days in all).
    retry_schedule: list[Annotated[float, Field(ge=0)]] = Field(
        default_factory=lambda: [
            5,
            30,
            120,
            600,
            1800,
            3600,
            7200,
            14_400,
            28_800,
            43_200,
            86_400,
            86_400,
        ]
    )
    jitter: float = Field(default=0.2, ge=0, le=1)
    request_timeout: float = Field(default=10.0, gt=0)
    # An entry a worker took and has not finished after this long is taken over by another.
    claim_idle_seconds: float = Field(default=60.0, gt=0)
    # A delivery whose worker died this many times is dead-lettered instead of tried again.
    max_claims: int = Field(default=5, ge=1)
    concurrency: int = Field(default=32, ge=1, le=1024)
    poll_interval: float = Field(default=1.0, gt=0, le=60)
    sms_max_attempts: int = Field(default=3, ge=1)
    dead_letter_maxlen: int = Field(default=100_000, ge=100)
    consumer: str = Field(default="", pattern=r"^[A-Za-z0-9_.:@-]{0,64}$")

    @model_validator(mode="after")
    def _claim_after_timeout(self) -> OutboxSettings:
        if self.claim_idle_seconds <= self.request_timeout:
            raise ValueError(
                "claim_idle_seconds must be longer than request_timeout "
                "(else a live delivery could be taken over)"
            )
        return self


class Settings(_Strict):
    demo: bool = False
    var_dir: str = "var"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_file: str = "var/arspay.log"
    http: HttpSettings = HttpSettings()
    agi: AgiSettings = AgiSettings()
    redis: RedisSettings = RedisSettings()
    requests: RequestSettings = RequestSettings()
    pool: PoolSettings = PoolSettings()
    sms: SmsSettings = SmsSettings()
    pg: PgSettings = PgSettings()
    outbox: OutboxSettings = OutboxSettings()
    merchants: list[MerchantSettings] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        ids = [m.id for m in self.merchants]
        if len(ids) != len(set(ids)):
            raise ValueError("merchants: two merchants share an id")
        keys = [m.api_key_sha256 for m in self.merchants]
        if len(keys) != len(set(keys)):
            raise ValueError("merchants: two merchants share an API key")
        if self.requests.min_amount > self.requests.max_amount:
            raise ValueError("requests: min_amount is above max_amount")
        if self.requests.min_ttl > self.requests.max_ttl:
            raise ValueError("requests: min_ttl is above max_ttl")
        return self

    def merchant(self, merchant_id: str) -> MerchantSettings | None:
        return next((m for m in self.merchants if m.id == merchant_id), None)

    def path(self, relative: str) -> Path:
        """Resolve a configured path against the project directory when relative."""
        p = Path(relative)
        return p if p.is_absolute() else DEFAULT_CONFIG.parent.parent / p


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _env_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name == ENV_PREFIX + "CONFIG":
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX) :].split("__") if part]
        if not path:
            continue
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{name}: conflicts with another ARSPAY_ variable")
        node[path[-1]] = _env_value(raw)
    return tree


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: {exc}") from exc


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"]) or "(top level)"
        lines.append(f"{key}: {err['msg']}")
    return "; ".join(lines)


def load_settings(
    config_file: Path | str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Defaults ← optional file ← environment ← explicit overrides, validated once."""
    environ = os.environ if environ is None else environ
    data = _read_toml(DEFAULT_CONFIG)
    config_file = config_file or environ.get(ENV_PREFIX + "CONFIG")
    if config_file:
        data = _deep_merge(data, _read_toml(Path(config_file)))
    data = _deep_merge(data, _env_overrides(environ))
    if overrides:
        data = _deep_merge(data, overrides)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"invalid configuration: {_describe(exc)}") from None


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()
