"""Render the prompt catalogue to WAV files: `arspay prompts build [--out DIR]`.

Layout: `<out_dir>/<language>/<prompt id>.wav` (8 kHz, mono, 16-bit), ids with `/` in
subdirectories (`ko/num/10000.wav`). Point Asterisk's sounds at it so that the FastAGI channel's
`arspay/<language>/<id>` resolves, e.g. `--out /var/lib/asterisk/sounds/arspay`.
`<out_dir>/manifest.json` records a hash of each file's text and voice; unchanged prompts are
not rendered again.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from prompts.catalogue import LANGUAGES, all_prompt_ids, playable_texts
from prompts.dynamic import dynamic_prompt_id, normalize_dynamic_text, voice_for
from prompts.render import RenderError, missing_tools, render_hash, render_wav

# The configuration's default `[agi] sounds_dir` (var/sounds in the project directory).
DEFAULT_OUT_DIR = Path(__file__).resolve().parents[1] / "var" / "sounds"
MANIFEST_NAME = "manifest.json"
WAV_HEADER_BYTES = 44


@dataclass
class BuildReport:
    rendered: list[str] = field(default_factory=list)  # "ko/greet"
    unchanged: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # "ko/greet" → reason

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class _Job:
    key: str  # "<language>/<prompt id>"
    text: str
    voice: str
    path: Path
    text_file: Path | None = None  # dynamic prompts keep their text beside the audio


def wav_path(sounds_dir: Path, language: str, prompt_id: str) -> Path:
    return sounds_dir / language / f"{prompt_id}.wav"


def _has_audio(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > WAV_HEADER_BYTES


def _jobs(
    out_dir: Path, languages: Sequence[str], extra_texts: Iterable[str], only: set[str] | None
) -> list[_Job]:
    extras = [t for t in (normalize_dynamic_text(t) for t in extra_texts) if t]
    jobs: list[_Job] = []
    for language in languages:
        for prompt_id, (text, voice) in playable_texts(language).items():
            if only is None or prompt_id in only:
                path = wav_path(out_dir, language, prompt_id)
                jobs.append(_Job(f"{language}/{prompt_id}", text, voice, path))
        for text in extras:
            prompt_id = dynamic_prompt_id(text)
            path = wav_path(out_dir, language, prompt_id)
            jobs.append(
                _Job(f"{language}/{prompt_id}", text, voice_for(text, language), path,
                     path.with_suffix(".txt"))
            )  # fmt: skip
    return jobs


def _load_manifest(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    entries = data.get("entries") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        return {}
    return {str(k): str(v) for k, v in entries.items()}


def _save_manifest(path: Path, entries: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".manifest-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"version": 1, "entries": dict(sorted(entries.items()))}, f,
                  ensure_ascii=False, indent=1)  # fmt: skip
    os.replace(tmp, path)


def build_prompts(
    out_dir: str | Path,
    languages: Sequence[str] = LANGUAGES,
    extra_texts: Iterable[str] = (),
    *,
    only: Iterable[str] | None = None,
    force: bool = False,
    workers: int | None = None,
) -> BuildReport:
    """Render every playable id (or only the ids in `only`) for the languages, plus
    `extra_texts` as dynamic prompts (`dyn/…`, e.g. merchant names known ahead).

    Raises RenderError when espeak-ng or sox is not installed; failures of single prompts
    are reported in `BuildReport.failed`.
    """
    for language in languages:
        if language not in LANGUAGES:
            raise ValueError(f"unsupported language {language!r}; expected one of {LANGUAGES}")
    missing = missing_tools()
    if missing:
        raise RenderError(f"not installed: {', '.join(missing)} (apt-get install espeak-ng sox)")
    wanted = set(only) if only is not None else None
    if wanted is not None:
        known = {pid for language in languages for pid in playable_texts(language)}
        unknown = sorted(wanted - known)
        if unknown:
            raise ValueError(f"unknown prompt ids: {', '.join(unknown)}")
    out = Path(out_dir)
    manifest_path = out / MANIFEST_NAME
    manifest = _load_manifest(manifest_path)
    report = BuildReport()
    todo: list[tuple[_Job, str]] = []
    for job in _jobs(out, languages, extra_texts, wanted):
        digest = render_hash(job.text, job.voice)
        if job.text_file is not None:
            job.text_file.parent.mkdir(parents=True, exist_ok=True)
            job.text_file.write_text(job.text + "\n", encoding="utf-8")
        if not force and manifest.get(job.key) == digest and _has_audio(job.path):
            report.unchanged.append(job.key)
        else:
            todo.append((job, digest))

    def run(item: tuple[_Job, str]) -> tuple[_Job, str, str | None]:
        job, digest = item
        try:
            render_wav(job.text, job.voice, job.path)
        except (RenderError, OSError, ValueError) as exc:
            return job, digest, str(exc)
        return job, digest, None

    try:
        with ThreadPoolExecutor(max_workers=workers or min(8, os.cpu_count() or 2)) as pool:
            for job, digest, error in pool.map(run, todo):
                if error is None:
                    manifest[job.key] = digest
                    report.rendered.append(job.key)
                else:
                    manifest.pop(job.key, None)
                    report.failed[job.key] = error
    finally:
        _save_manifest(manifest_path, manifest)
    return report


def missing_prompts(sounds_dir: str | Path, languages: Sequence[str] = LANGUAGES) -> list[str]:
    """`<language>/<id>` of every catalogue prompt without a usable WAV (check at start)."""
    root = Path(sounds_dir)
    return [
        f"{language}/{prompt_id}"
        for language in languages
        for prompt_id in all_prompt_ids(language)
        if not _has_audio(wav_path(root, language, prompt_id))
    ]


def cli_build(argv: list[str]) -> int:
    """`arspay prompts build` → exit status (0 done, 1 some prompts failed/missing, 2 no tools)."""
    parser = argparse.ArgumentParser(
        prog="arspay prompts build",
        description="Render the IVR prompts to 8 kHz WAV files with espeak-ng and sox.",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT_DIR,
                        help=f"sounds directory (default: {DEFAULT_OUT_DIR})")  # fmt: skip
    parser.add_argument("--language", "-l", action="append", choices=LANGUAGES,
                        help="language to build (repeatable; default: all)")  # fmt: skip
    parser.add_argument("--text", action="append", default=[], metavar="TEXT",
                        help="extra dynamic text to pre-render, e.g. a merchant name")  # fmt: skip
    parser.add_argument("--only", action="append", metavar="ID",
                        help="build only this prompt id (repeatable)")  # fmt: skip
    parser.add_argument("--force", action="store_true", help="re-render unchanged prompts")
    parser.add_argument("--check", action="store_true",
                        help="only list prompts missing from --out; exit 1 if any")  # fmt: skip
    args = parser.parse_args(argv)
    languages = tuple(args.language or LANGUAGES)

    if args.check:
        missing = missing_prompts(args.out, languages)
        for key in missing:
            print(f"missing: {key}")
        print(f"{len(missing)} prompt(s) missing in {args.out}")
        return 1 if missing else 0

    try:
        report = build_prompts(args.out, languages, args.text, only=args.only, force=args.force)
    except ValueError as exc:
        parser.error(str(exc))
    except RenderError as exc:
        print(f"arspay prompts build: {exc}", file=sys.stderr)
        return 2
    for key, reason in sorted(report.failed.items()):
        print(f"failed: {key}: {reason}", file=sys.stderr)
    print(
        f"prompts in {args.out}: {len(report.rendered)} rendered, "
        f"{len(report.unchanged)} unchanged, {len(report.failed)} failed"
    )
    return 0 if report.ok else 1


def main(argv: list[str] | None = None) -> int:
    return cli_build(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    raise SystemExit(main())
