"""Configuration: defaults, file, environment, and errors that name the key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ivr.config import ConfigError, hash_api_key, load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_load_and_pool_expands_ranges():
    settings = load_settings(environ={})
    numbers = settings.pool.numbers()
    assert numbers[0] == "+8216005001" and numbers[-1] == "+8216005010" and len(numbers) == 10


def test_production_example_is_valid():
    settings = load_settings(ROOT / "config" / "production.example.toml", environ={})
    assert settings.merchants[0].id == "shop1"
    assert settings.redis.managed is False


def test_environment_overrides_are_typed():
    settings = load_settings(
        environ={
            "ARSPAY_HTTP__PORT": "8181",
            "ARSPAY_SMS__ECHO": "false",
            "ARSPAY_POOL__DIDS": '["1600-7000"]',
        }
    )
    assert settings.http.port == 8181
    assert settings.sms.echo is False
    assert "+8216007000" in settings.pool.numbers()


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"ARSPAY_HTTP__PORT": "70000"}, "http.port"),
        ({"ARSPAY_HTTP__PROT": "1"}, "http.prot"),
        ({"ARSPAY_REQUESTS__MAX_AMOUNT": "ten"}, "requests.max_amount"),
        ({"ARSPAY_POOL__RANGES": '[["1600-5010", "1600-5001"]]'}, "ranges"),
        ({"ARSPAY_SMS__SENDER": "pigeon"}, "sms.sender"),
    ],
)
def test_bad_values_name_the_key(env, names):
    with pytest.raises(ConfigError) as err:
        load_settings(environ=env)
    assert names in str(err.value)


def test_merchant_api_key_hash_and_duplicates(tmp_path: Path):
    config = tmp_path / "c.toml"
    config.write_text(f"""
[[merchants]]
id = "aa"
display_name = "A"
api_key_sha256 = "{hash_api_key("k1")}"
[[merchants]]
id = "aa"
display_name = "B"
api_key_sha256 = "{hash_api_key("k2")}"
""")
    with pytest.raises(ConfigError, match="share an id"):
        load_settings(config, environ={})
    config.write_text('[[merchants]]\nid = "a"\ndisplay_name = "A"\napi_key_sha256 = "xyz"\n')
    with pytest.raises(ConfigError, match=r"merchants\.0\.api_key_sha256"):
        load_settings(config, environ={})


def test_cli_exits_non_zero_naming_the_key(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[http]\nport = -1\n")
    result = subprocess.run(
        [sys.executable, "-m", "ivr.cli", "check-config", "--config", str(bad)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 2
    assert "http.port" in result.stderr
    ok = subprocess.run(
        [sys.executable, "-m", "ivr.cli", "check-config"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert "10 virtual numbers" in ok.stdout
