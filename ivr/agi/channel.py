"""The ``Channel`` API that call flows speak, and its FastAGI implementation.

Flows know prompts and digits, never AGI: ``play`` prompt ids, ``collect`` a field, ``hangup``.
``AgiChannel`` maps that onto one command at a time:

* ``play``: ``STREAM FILE <prefix>/<language>/<id>`` per prompt; a key that interrupts is kept as
  type-ahead and skips the rest of that play (and the prompts of the next collect).
* ``collect``: every prompt but the last through ``STREAM FILE``, the last through
  ``GET DATA <file> <first_timeout_ms> 1`` for the first key (unless a key is already buffered),
  then ``WAIT FOR DIGIT <inter_digit_ms>`` per further key. Keys pressed after ``max_digits``
  stay queued in Asterisk for the next command.
* ``result=-1`` of playback means hangup *or* a file Asterisk could not open (reference: "the two
  look the same"); the channel asks ``CHANNEL STATUS`` (refused with 511 on a dead channel) to
  tell them apart, raising :class:`CallerHungUp` or :class:`PromptMissing`.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from ivr.agi.connection import AgiConnection
from ivr.agi.errors import AgiError, AgiMalformedReply, CallerHungUp, PromptMissing
from ivr.agi.protocol import DTMF_KEYS, AgiReply

log = logging.getLogger("ivr.agi.channel")

EndedBy = Literal["terminator", "max_digits", "timeout", "restart"]
ESCAPE_ALL = DTMF_KEYS
MAX_STRAY_TERMINATORS = 3
# agi_callingpres: bits 0x60 hold the presentation; 0x20 is "restricted".
_PRESENTATION_MASK = 0x60
_PRESENTATION_RESTRICTED = 0x20


@dataclass(frozen=True)
class Collected:
    """What a ``collect`` got. ``digits`` never include ``#``; its repr hides sensitive digits."""

    digits: str
    ended_by: EndedBy
    sensitive: bool = field(default=False, compare=False)

    def __repr__(self) -> str:
        shown = f"<{len(self.digits)} digits>" if self.sensitive else repr(self.digits)
        return f"Collected(digits={shown}, ended_by={self.ended_by!r})"


class Channel(Protocol):
    """What a call flow may do with a call. Every method raises :class:`CallerHungUp` once the
    caller is gone (``hangup`` excepted), and nothing is played after that."""

    language: str

    @property
    def caller_id(self) -> str: ...
    @property
    def caller_withheld(self) -> bool: ...
    @property
    def dialled(self) -> str: ...
    @property
    def unique_id(self) -> str: ...
    @property
    def hung_up(self) -> bool: ...

    async def answer(self) -> None: ...
    async def hangup(self) -> None: ...
    async def play(self, prompts: Sequence[str], *, interruptible: bool = True) -> None: ...
    async def offer(self, prompts: Sequence[str], accept: str, timeout: float) -> str | None: ...
    async def collect(self, prompts: Sequence[str], *, min_digits: int, max_digits: int,
                      terminator: bool = True, first_timeout: float = 6.0,
                      inter_digit_timeout: float = 3.0, sensitive: bool = False) -> Collected: ...


class AgiChannel:
    """:class:`Channel` over one :class:`AgiConnection`."""

    def __init__(self, connection: AgiConnection, env: Mapping[str, str], *,
                 sound_prefix: str = "arspay", language: str | None = None) -> None:
        self.connection = connection
        self.env = dict(env)
        self.sound_prefix = sound_prefix.strip("/")
        self.language = language or self.env.get("agi_language") or "en"
        self._typeahead: deque[str] = deque()
        self._hung_up = False

    def __repr__(self) -> str:
        return f"AgiChannel(unique_id={self.unique_id!r}, hung_up={self._hung_up})"

    # --- who and what --------------------------------------------------------------------------

    @property
    def caller_id(self) -> str:
        return self.env.get("agi_callerid", "unknown")

    @property
    def caller_withheld(self) -> bool:
        """No usable caller ID: missing, ``unknown``/``anonymous``, or presentation restricted."""
        number = self.caller_id.strip().lower()
        if number in ("", "unknown", "anonymous", "restricted", "private"):
            return True
        try:
            pres = int(self.env.get("agi_callingpres", "0"))
        except ValueError:
            return False
        return pres & _PRESENTATION_MASK == _PRESENTATION_RESTRICTED

    @property
    def dialled(self) -> str:
        return self.env.get("agi_extension", "")

    @property
    def unique_id(self) -> str:
        return self.env.get("agi_uniqueid", "")

    @property
    def hung_up(self) -> bool:
        return self._hung_up

    def prompt_file(self, prompt_id: str) -> str:
        """The sound file Asterisk plays for a prompt id in the current language."""
        parts = [self.sound_prefix, self.language, prompt_id] if self.sound_prefix \
            else [self.language, prompt_id]
        return "/".join(parts)

    # --- commands ------------------------------------------------------------------------------

    def _ensure_alive(self) -> None:
        if self._hung_up:
            raise CallerHungUp("the caller has hung up")

    async def _command(self, command: str, *args: object, sensitive: bool = False,
                       check: bool = True) -> AgiReply:
        self._ensure_alive()
        try:
            reply = await self.connection.command(command, *args, sensitive=sensitive,
                                                  check=check)
        except CallerHungUp:
            self._hung_up = True
            raise
        if self.connection.hung_up:
            self._hung_up = True
            raise CallerHungUp(f"caller hung up during {command}")
        return reply

    def _gone(self, why: str) -> CallerHungUp:
        self._hung_up = True
        return CallerHungUp(why)

    async def _after_minus_one(self, file: str) -> None:
        """``result=-1`` from playback: find out whether the caller or the file is missing."""
        await self._command("CHANNEL STATUS", check=False)  # 511 / HANGUP notice → CallerHungUp
        raise PromptMissing(file)

    @staticmethod
    def _key_from_ascii(reply: AgiReply) -> str | None:
        code = reply.result_int
        if code is None or code < 0:
            raise AgiMalformedReply("a key result that is not a character code")
        if code == 0:
            return None
        key = chr(code)
        if key not in DTMF_KEYS:
            raise AgiMalformedReply("a key result that is not a DTMF key")
        return key

    async def _stream(self, prompt_id: str, escape: str, *, sensitive: bool) -> str | None:
        """Play one prompt; return the key that interrupted it, if any."""
        file = self.prompt_file(prompt_id)
        reply = await self._command("STREAM FILE", file, escape, sensitive=sensitive)
        if reply.result == "-1":
            if (reply.endpos or 0) > 0:  # it was playing, so the file exists: a hangup
                raise self._gone("caller hung up during a prompt")
            await self._after_minus_one(file)
        return self._key_from_ascii(reply)

    async def _get_first_key(self, prompt_id: str, timeout_ms: int, *,
                             sensitive: bool) -> str | None:
        """``GET DATA`` for one key: the prompt, interrupted by the first key, then its wait."""
        file = self.prompt_file(prompt_id)
        reply = await self._command("GET DATA", file, timeout_ms, 1, sensitive=sensitive)
        result = reply.result or ""
        if result == "-1":
            await self._after_minus_one(file)
        if reply.timed_out and result == "":
            return None
        if result == "":
            return "#"  # "200 result=" : '#' was the first key
        if len(result) != 1 or result not in DTMF_KEYS:
            raise AgiMalformedReply("GET DATA returned more than the one key asked for")
        return result

    async def _wait_key(self, timeout_ms: int, *, sensitive: bool) -> str | None:
        reply = await self._command("WAIT FOR DIGIT", timeout_ms, sensitive=sensitive)
        if reply.result == "-1":
            raise self._gone("caller hung up while keys were awaited")
        return self._key_from_ascii(reply)

    # --- the Channel API -----------------------------------------------------------------------

    async def answer(self) -> None:
        reply = await self._command("ANSWER")
        if reply.result == "-1":
            raise self._gone("ANSWER failed: the channel is gone")

    async def hangup(self) -> None:
        """Hang up the call; a no-op when it is already over. Never raises CallerHungUp."""
        if self._hung_up:
            return
        self._hung_up = True
        self._typeahead.clear()
        try:
            await self.connection.command("HANGUP")
        except AgiError as exc:
            log.debug("%s HANGUP not confirmed (%s)", self.connection.label, type(exc).__name__)

    async def play(self, prompts: Sequence[str], *, interruptible: bool = True) -> None:
        """Play prompts in order. When ``interruptible``, a key stops the rest and is kept for
        the next ``collect``; a key already kept skips the prompts altogether (type-ahead)."""
        self._ensure_alive()
        if interruptible and self._typeahead:
            return
        # Keys typed during an announcement may be the start of card data: never log them.
        for prompt_id in prompts:
            key = await self._stream(prompt_id, ESCAPE_ALL if interruptible else "",
                                     sensitive=interruptible)
            if key is not None:
                self._typeahead.append(key)
                return

    async def offer(self, prompts: Sequence[str], accept: str, timeout: float) -> str | None:
        """Play ``prompts`` and wait up to ``timeout`` s for a key; return it if it is one of
        ``accept``. Any other key stays buffered as type-ahead for the next field (a payer who
        answers the next question early loses nothing)."""
        self._ensure_alive()
        if not self._typeahead:
            await self.play(prompts)
        if not self._typeahead:
            key = await self._wait_key(round(timeout * 1000), sensitive=True)
            if key is None:
                return None
            self._typeahead.append(key)
        if self._typeahead[0] in accept:
            return self._typeahead.popleft()
        return None

    async def collect(self, prompts: Sequence[str], *, min_digits: int, max_digits: int,
                      terminator: bool = True, first_timeout: float = 6.0,
                      inter_digit_timeout: float = 3.0, sensitive: bool = False) -> Collected:
        """Collect one field of keys.

        Keys pressed during the prompts count (type-ahead). ``#`` ends variable-length input
        (when ``terminator``) and is never part of the digits; ``*`` restarts the field at once
        (``ended_by="restart"``, digits discarded). A ``#`` before any digit when
        ``min_digits > 0`` is a stray left over from an earlier field: it is ignored and the
        prompts it cut short are played again (at most three times). With ``terminator=False``
        ``#`` is ignored. ``first_timeout`` runs after the prompts, ``inter_digit_timeout``
        between keys.
        """
        if not 0 <= min_digits <= max_digits or max_digits < 1:
            raise ValueError("need 0 <= min_digits <= max_digits and max_digits >= 1")
        if first_timeout <= 0 or inter_digit_timeout <= 0:
            raise ValueError("timeouts must be positive")
        self._ensure_alive()
        first_ms = round(first_timeout * 1000)
        inter_ms = round(inter_digit_timeout * 1000)
        all_prompts = list(prompts)
        unheard = all_prompts
        digits: list[str] = []
        strays = 0
        while True:
            if digits:
                key = await self._wait_key(inter_ms, sensitive=sensitive)
                cut_at = len(all_prompts)
            else:
                key, cut_at = await self._first_key(unheard, first_ms, sensitive=sensitive)
                cut_at += len(all_prompts) - len(unheard)
            unheard = []
            if key is None:
                return self._done(digits, "timeout", sensitive)
            if key == "*":
                return self._done([], "restart", sensitive)
            if key == "#":
                if terminator and (digits or min_digits == 0):
                    return self._done(digits, "terminator", sensitive)
                if not digits:
                    strays += 1
                    if strays <= MAX_STRAY_TERMINATORS:
                        unheard = all_prompts[cut_at:]
                continue
            digits.append(key)
            if len(digits) >= max_digits:
                return self._done(digits, "max_digits", sensitive)

    async def _first_key(self, prompts: list[str], timeout_ms: int, *,
                         sensitive: bool) -> tuple[str | None, int]:
        """The first key of a field, and the index of the prompt it cut short (a key from the
        type-ahead buffer cut all of them; a key after the prompts, none)."""
        if self._typeahead:
            return self._typeahead.popleft(), 0
        for index, prompt_id in enumerate(prompts[:-1]):
            key = await self._stream(prompt_id, ESCAPE_ALL, sensitive=True)
            if key is not None:
                return key, index
        if prompts:
            key = await self._get_first_key(prompts[-1], timeout_ms, sensitive=sensitive)
            return key, len(prompts) - 1
        return await self._wait_key(timeout_ms, sensitive=sensitive), 0

    def _done(self, digits: list[str], ended_by: EndedBy, sensitive: bool) -> Collected:
        got = Collected("".join(digits), ended_by, sensitive)
        log.debug("%s collect ended by %s: %r", self.connection.label, ended_by, got)
        return got


__all__ = ["AgiChannel", "CallerHungUp", "Channel", "Collected", "PromptMissing"]
