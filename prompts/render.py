"""Text → 8 kHz mono 16-bit WAV (what Asterisk's format_wav plays) with espeak-ng and sox."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

# Bump when the rendering pipeline changes so `build_prompts` re-renders everything.
RENDER_VERSION = "1"
SAMPLE_RATE = 8000
SPEED_WPM = 150  # a little slower than espeak's 175: telephone audio, listeners keying digits
TOOL_TIMEOUT_S = 60

VOICES = {"ko": "ko", "en": "en"}

# Words the synthesiser reads badly, spelled the way they should sound.
_SPEECH_SUBSTITUTIONS = {"ko": {"ARS": "에이알에스"}}


class RenderError(RuntimeError):
    """espeak-ng or sox is missing or failed."""


def missing_tools() -> list[str]:
    return [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]


def speech_text(text: str, voice_language: str) -> str:
    for written, spoken in _SPEECH_SUBSTITUTIONS.get(voice_language, {}).items():
        text = text.replace(written, spoken)
    return text


def render_hash(text: str, voice_language: str) -> str:
    """Changes whenever the audio for this text would change."""
    key = "\0".join((RENDER_VERSION, VOICES[voice_language], str(SPEED_WPM), text))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def render_wav(text: str, voice_language: str, out_path: Path) -> None:
    """Render `text` to `out_path` atomically (written to a temp file, then renamed)."""
    if not text.strip():
        raise ValueError("nothing to render: empty text")
    if voice_language not in VOICES:
        raise ValueError(f"no voice for language {voice_language!r}")
    missing = missing_tools()
    if missing:
        raise RenderError(f"not installed: {', '.join(missing)} (apt-get install espeak-ng sox)")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_path.parent, prefix=".render-") as tmp:
        raw = Path(tmp) / "espeak.wav"
        final = Path(tmp) / "final.wav"
        # Text goes in on stdin, never argv: a name starting with '-' stays text.
        _run(
            ["espeak-ng", "-v", VOICES[voice_language], "-s", str(SPEED_WPM), "-b", "1",
             "-w", str(raw), "--stdin"],
            stdin=speech_text(text, voice_language).encode("utf-8"),
        )  # fmt: skip
        _run(
            ["sox", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16",
             "-e", "signed-integer", str(final), "norm", "-3"],
        )  # fmt: skip
        os.replace(final, out_path)


def _run(argv: list[str], stdin: bytes | None = None) -> None:
    try:
        subprocess.run(argv, input=stdin, capture_output=True, check=True, timeout=TOOL_TIMEOUT_S)
    except subprocess.CalledProcessError as exc:
        detail = exc.stderr.decode("utf-8", "replace").strip()[:200]
        raise RenderError(f"{argv[0]} failed (exit {exc.returncode}): {detail}") from None
    except subprocess.TimeoutExpired:
        raise RenderError(f"{argv[0]} timed out after {TOOL_TIMEOUT_S}s") from None
