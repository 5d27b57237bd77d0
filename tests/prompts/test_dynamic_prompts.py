"""Dynamic prompts: free text (merchant, product names) rendered on demand."""

from __future__ import annotations

import asyncio
import logging
import wave
from pathlib import Path

import pytest

from prompts.catalogue import text_for
from prompts.dynamic import DynamicPrompts, dynamic_prompt_id, normalize_dynamic_text, voice_for


def test_id_is_stable_and_whitespace_insensitive() -> None:
    a = dynamic_prompt_id("스타 커피  강남점")
    assert a == dynamic_prompt_id(" 스타 커피 강남점\n")
    assert a != dynamic_prompt_id("스타 커피 역삼점")
    assert a.startswith("dyn/") and len(a) == len("dyn/") + 12
    int(a[4:], 16)


def test_empty_text_is_refused() -> None:
    with pytest.raises(ValueError):
        dynamic_prompt_id(" \t\n")


def test_normalisation_strips_controls_and_caps_length() -> None:
    assert normalize_dynamic_text("A\x00B\u200bC\r\nD") == "A B C D"
    assert len(normalize_dynamic_text("가" * 500)) == 120


def test_voice_follows_the_script() -> None:
    assert voice_for("홍길동 상회", "en") == "ko"
    assert voice_for("Blue Bottle", "ko") == "ko"
    assert voice_for("Blue Bottle", "en") == "en"


async def test_ensure_renders_wav_and_text(tmp_path: Path) -> None:
    prompts = DynamicPrompts(tmp_path)
    prompt_id = await prompts.ensure("홍길동 상회", "ko")
    assert prompt_id == dynamic_prompt_id("홍길동 상회")
    wav = tmp_path / "ko" / f"{prompt_id}.wav"
    with wave.open(str(wav), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        assert w.getnframes() > 800
    assert (tmp_path / "ko" / f"{prompt_id}.txt").read_text("utf-8") == "홍길동 상회\n"
    assert prompts.has_audio(prompt_id, "ko")
    assert text_for(prompt_id, "ko", sounds_dir=tmp_path) == "홍길동 상회"

    before = wav.stat().st_mtime_ns
    assert await prompts.ensure("홍길동  상회", "ko") == prompt_id
    assert wav.stat().st_mtime_ns == before  # not rendered again


async def test_concurrent_ensures_share_one_render(tmp_path: Path) -> None:
    prompts = DynamicPrompts(tmp_path)
    ids = await asyncio.gather(*(prompts.ensure("Blue Bottle Coffee", "en") for _ in range(5)))
    assert len(set(ids)) == 1
    assert prompts.has_audio(ids[0], "en")
    assert prompts._inflight == {}
    leftovers = [p.name for p in (tmp_path / "en" / "dyn").iterdir() if p.name.startswith(".")]
    assert leftovers == []


async def test_text_starting_with_dash_is_text_not_an_option(tmp_path: Path) -> None:
    prompts = DynamicPrompts(tmp_path)
    prompt_id = await prompts.ensure("--version 상회", "ko")
    assert prompts.has_audio(prompt_id, "ko")


async def test_without_espeak_records_text_and_warns_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    prompts = DynamicPrompts(tmp_path / "sounds")
    assert not prompts.can_render
    with caplog.at_level(logging.WARNING, logger="prompts.dynamic"):
        first = await prompts.ensure("가나다 마트", "ko")
        second = await prompts.ensure("라마바 마트", "en")
        await prompts.ensure("가나다 마트", "ko")
    assert not prompts.has_audio(first, "ko")
    assert (tmp_path / "sounds" / "ko" / f"{first}.txt").read_text("utf-8") == "가나다 마트\n"
    assert (tmp_path / "sounds" / "en" / f"{second}.txt").is_file()
    warnings = [r for r in caplog.records if "not installed" in r.getMessage()]
    assert len(warnings) == 1


async def test_unsupported_language(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        await DynamicPrompts(tmp_path).ensure("x", "ja")
