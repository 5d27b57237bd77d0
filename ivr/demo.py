"""Demo mode: a demo merchant whose API key is generated once and kept under var/."""

from __future__ import annotations

import secrets
from pathlib import Path

from ivr.config import MerchantSettings, Settings, hash_api_key

DEMO_MERCHANT_ID = "demo"


def demo_api_key(var_dir: Path) -> str:
    path = var_dir / "demo-api-key"
    if path.exists():
        key = path.read_text().strip()
        if key:
            return key
    var_dir.mkdir(parents=True, exist_ok=True)
    key = "demo_sk_" + secrets.token_urlsafe(24)
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


def with_demo_merchant(settings: Settings, api_key: str) -> Settings:
    if settings.merchant(DEMO_MERCHANT_ID) is not None:
        return settings
    merchant = MerchantSettings(
        id=DEMO_MERCHANT_ID,
        display_name="아스페이 데모상점",
        api_key_sha256=hash_api_key(api_key),
        callback_url="",
        require_birthdate=True,
        require_pin=True,
        max_installment_months=12,
        withheld_callerid="ask_mobile",
        english_enabled=True,
        pg="toss",
    )
    return settings.model_copy(update={"merchants": [*settings.merchants, merchant], "demo": True})
