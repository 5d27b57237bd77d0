"""Rendering prompts for real with espeak-ng and sox (a handful only, to stay fast)."""

from __future__ import annotations

import json
import subprocess
import wave
from pathlib import Path

import pytest

from prompts import dynamic
from prompts.build import MANIFEST_NAME, build_prompts, cli_build, missing_prompts
from prompts.catalogue import all_prompt_ids, text_for
from prompts.dynamic import dynamic_prompt_id

FEW = {"greet", "announce.0", "num/10000", "digit/0"}


def assert_telephone_wav(path: Path) -> None:
    with wave.open(str(path), "rb") as w:
        assert w.getframerate() == 8000
        assert w.getnchannels() == 1
        assert w.getsampwidth() == 2
        assert w.getnframes() > 800  # more than 0.1 s of sound


def test_build_renders_8khz_mono_16bit(tmp_path: Path) -> None:
    report = build_prompts(tmp_path, ("ko", "en"), only=FEW)
    assert report.ok
    # English counts in thousands and has no 만 piece.
    expected = {f"ko/{pid}" for pid in FEW} | {f"en/{pid}" for pid in FEW - {"num/10000"}}
    assert set(report.rendered) == expected
    for key in report.rendered:
        assert_telephone_wav(tmp_path / f"{key}.wav")
    assert (tmp_path / "ko" / "num" / "10000.wav").is_file()  # ids with '/' → subdirectories
    soxi = subprocess.run(
        ["soxi", "-r", str(tmp_path / "ko" / "greet.wav")], capture_output=True, text=True
    )
    assert soxi.stdout.strip() == "8000"


def test_english_has_no_man_piece(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown prompt ids"):
        build_prompts(tmp_path, ("en",), only={"num/10000"})


def test_manifest_skips_unchanged_and_rerenders_changed(tmp_path: Path) -> None:
    first = build_prompts(tmp_path, ("ko",), only={"greet", "pin"})
    assert sorted(first.rendered) == ["ko/greet", "ko/pin"]
    greet = tmp_path / "ko" / "greet.wav"
    before = greet.stat().st_mtime_ns

    second = build_prompts(tmp_path, ("ko",), only={"greet", "pin"})
    assert second.rendered == [] and sorted(second.unchanged) == ["ko/greet", "ko/pin"]
    assert greet.stat().st_mtime_ns == before

    # A text change (here: a stale hash in the manifest) renders that prompt again.
    manifest_path = tmp_path / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text())
    manifest["entries"]["ko/pin"] = "0" * 64
    manifest_path.write_text(json.dumps(manifest))
    third = build_prompts(tmp_path, ("ko",), only={"greet", "pin"})
    assert third.rendered == ["ko/pin"] and third.unchanged == ["ko/greet"]

    forced = build_prompts(tmp_path, ("ko",), only={"greet"}, force=True)
    assert forced.rendered == ["ko/greet"]


def test_missing_prompts_finds_a_deleted_one(tmp_path: Path) -> None:
    build_prompts(tmp_path, ("ko",), only={"greet", "pin"})
    missing = missing_prompts(tmp_path, ("ko",))
    assert "ko/greet" not in missing and "ko/pin" not in missing
    assert len(missing) == len(all_prompt_ids("ko")) - 2

    (tmp_path / "ko" / "greet.wav").unlink()
    assert "ko/greet" in missing_prompts(tmp_path, ("ko",))
    # A deleted file is rendered again even though the manifest still lists it.
    assert build_prompts(tmp_path, ("ko",), only={"greet"}).rendered == ["ko/greet"]


def test_empty_wav_counts_as_missing(tmp_path: Path) -> None:
    build_prompts(tmp_path, ("ko",), only={"pin"})
    (tmp_path / "ko" / "pin.wav").write_bytes(b"")
    assert "ko/pin" in missing_prompts(tmp_path, ("ko",))


def test_extra_texts_become_dynamic_prompts(tmp_path: Path) -> None:
    report = build_prompts(tmp_path, ("ko",), extra_texts=["홍길동 상회"], only=())
    prompt_id = dynamic_prompt_id("홍길동 상회")
    assert report.rendered == [f"ko/{prompt_id}"]
    assert_telephone_wav(tmp_path / "ko" / f"{prompt_id}.wav")
    dynamic._registry.clear()  # forget this process's memory: read the text file instead
    assert text_for(prompt_id, "ko") is None
    assert text_for(prompt_id, "ko", sounds_dir=tmp_path) == "홍길동 상회"


def test_cli_build_and_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_build(["--out", str(tmp_path), "-l", "ko", "--only", "goodbye"]) == 0
    assert_telephone_wav(tmp_path / "ko" / "goodbye.wav")
    assert "1 rendered" in capsys.readouterr().out

    assert cli_build(["--out", str(tmp_path), "-l", "ko", "--check"]) == 1
    out = capsys.readouterr().out
    assert "missing: ko/greet" in out and "missing: ko/goodbye" not in out


def test_cli_rejects_unknown_ids(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        cli_build(["--out", str(tmp_path), "--only", "nope"])
    assert exc.value.code == 2


def test_cli_reports_missing_tools(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    assert cli_build(["--out", str(tmp_path / "out"), "--only", "greet"]) == 2
    assert "espeak-ng" in capsys.readouterr().err
