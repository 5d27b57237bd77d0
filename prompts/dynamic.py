"""Prompts for free text that cannot be recorded ahead: merchant and product names.

`dynamic_prompt_id(text)` names the text (`dyn/<12 hex of sha1>`); `DynamicPrompts.ensure`
renders it once to `<sounds_dir>/<language>/dyn/<hex>.wav` in a worker thread and writes the
text beside it (`<hex>.txt`) so `text_for` and the softphone can show what is said. Without
espeak-ng the text file is still written and a warning is logged once.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import tempfile
import unicodedata
from collections import OrderedDict
from pathlib import Path

from prompts.render import RenderError, missing_tools, render_wav

log = logging.getLogger(__name__)

MAX_DYNAMIC_CHARS = 120
_REGISTRY_SIZE = 4096
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_DYN_ID = re.compile(r"^dyn/[0-9a-f]{12}$")

# Texts this process has named, so `text_for` can show them without touching the disk.
_registry: OrderedDict[str, str] = OrderedDict()


def normalize_dynamic_text(text: str) -> str:
    """NFC, control characters removed, whitespace collapsed, at most MAX_DYNAMIC_CHARS."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in text)
    text = " ".join(text.split())
    return text[:MAX_DYNAMIC_CHARS].rstrip()


def dynamic_prompt_id(text: str) -> str:
    """`dyn/<first 12 hex digits of sha1(normalised text)>`; remembers the text for display."""
    norm = normalize_dynamic_text(text)
    if not norm:
        raise ValueError("dynamic prompt text is empty")
    prompt_id = "dyn/" + hashlib.sha1(norm.encode("utf-8")).hexdigest()[:12]
    _remember(prompt_id, norm)
    return prompt_id


def _remember(prompt_id: str, text: str) -> None:
    _registry[prompt_id] = text
    _registry.move_to_end(prompt_id)
    while len(_registry) > _REGISTRY_SIZE:
        _registry.popitem(last=False)


def dynamic_text(prompt_id: str, language: str, sounds_dir: str | Path | None = None) -> str | None:
    """The text of a `dyn/…` id, from memory or from the `.txt` written beside its audio."""
    if not _DYN_ID.match(prompt_id):
        return None
    if prompt_id in _registry:
        return _registry[prompt_id]
    if sounds_dir is None:
        return None
    try:
        return (Path(sounds_dir) / language / f"{prompt_id}.txt").read_text("utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None


def voice_for(text: str, language: str) -> str:
    """Korean names are read by the Korean voice even in an English call."""
    return "ko" if _HANGUL.search(text) else language


class DynamicPrompts:
    """Renders dynamic prompts on demand; one render per (language, text) at a time."""

    def __init__(self, sounds_dir: str | Path) -> None:
        self.sounds_dir = Path(sounds_dir)
        self._inflight: dict[tuple[str, str], asyncio.Future[None]] = {}
        self._warned_missing_tools = False

    @property
    def can_render(self) -> bool:
        return not missing_tools()

    def audio_path(self, prompt_id: str, language: str) -> Path:
        return self.sounds_dir / language / f"{prompt_id}.wav"

    def has_audio(self, prompt_id: str, language: str) -> bool:
        path = self.audio_path(prompt_id, language)
        return path.is_file() and path.stat().st_size > 44

    async def ensure(self, text: str, language: str) -> str:
        """The prompt id for `text`, its audio (when it can be made) and text file on disk."""
        if language not in ("ko", "en"):
            raise ValueError(f"unsupported language {language!r}")
        prompt_id = dynamic_prompt_id(text)
        norm = normalize_dynamic_text(text)
        if self._txt_path(prompt_id, language).exists() and (
            self.has_audio(prompt_id, language) or self._warned_missing_tools
        ):
            return prompt_id
        key = (language, prompt_id)
        job = self._inflight.get(key)
        if job is None:
            job = asyncio.ensure_future(asyncio.to_thread(self._make, norm, prompt_id, language))
            self._inflight[key] = job
            job.add_done_callback(lambda _job: self._inflight.pop(key, None))
        await asyncio.shield(job)
        return prompt_id

    def _txt_path(self, prompt_id: str, language: str) -> Path:
        return self.sounds_dir / language / f"{prompt_id}.txt"

    def _make(self, text: str, prompt_id: str, language: str) -> None:
        txt = self._txt_path(prompt_id, language)
        txt.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(txt, text + "\n")
        if self.has_audio(prompt_id, language):
            return
        missing = missing_tools()
        if missing:
            if not self._warned_missing_tools:
                self._warned_missing_tools = True
                log.warning(
                    "dynamic prompts: %s not installed; recording texts only, no audio",
                    ", ".join(missing),
                )
            return
        try:
            render_wav(text, voice_for(text, language), self.audio_path(prompt_id, language))
        except RenderError as exc:
            log.warning("dynamic prompt %s/%s not rendered: %s", language, prompt_id, exc)


def _write_atomically(path: Path, content: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".txt-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(content)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
