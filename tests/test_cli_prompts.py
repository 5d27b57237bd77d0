"""``arspay prompts build`` and the server's start-up check of the prompt files."""

from __future__ import annotations

import subprocess
import sys
import wave
from pathlib import Path

import pytest

from ivr.redis_process import RedisProcess
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parent.parent


def arspay(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ivr.cli", *args], capture_output=True,
                          text=True, cwd=ROOT, check=False)


def test_prompts_build_renders_8khz_mono_wav(tmp_path: Path):
    result = arspay("prompts", "build", "--out", str(tmp_path), "--only", "greet")
    assert result.returncode == 0, result.stderr
    with wave.open(str(tmp_path / "ko" / "greet.wav")) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        assert wav.getnframes() > 4000  # more than half a second of speech
    assert arspay("prompts").returncode == 2


async def test_server_refuses_to_start_with_missing_prompts(
    redis_server: RedisProcess, tmp_path: Path
):
    from ivr.server import ArsPayServer

    settings = make_settings(redis_server, tmp_path, agi={"port": 0, "check_prompts": True,
                                                          "sounds_dir": str(tmp_path / "none")})
    server = ArsPayServer(settings)
    with pytest.raises(RuntimeError, match="prompts build"):
        await server.start()
    await server.stop()
