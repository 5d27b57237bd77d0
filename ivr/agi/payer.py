"""The person on the phone, for the Asterisk-side simulator.

Two kinds of payer:

* :class:`Payer` lives in **virtual time**: a script of actions keyed to what it hears. Nothing
  sleeps; the simulator compares key times with each command's timeout. Tests read like calls::

      payer = Payer.scripted([
          OnPrompt("confirm", Keys("1")),
          OnPrompt("card_number", Keys("4111111111111111#", gap_ms=200)),
          OnPrompt("pin", HangUp()),
      ])
      payer = Payer.sequence([Keys("1"), Keys("4111111111111111#"), Silence(), HangUp()])

  ``scripted`` rules fire when a prompt (its id, or an fnmatch pattern) starts playing; rules
  for the same prompt fire in order on its successive plays, once each unless ``every_time``.
  ``sequence`` actions are taken one by one each time the IVR starts waiting for a field (a
  ``GET DATA``, or a ``WAIT FOR DIGIT`` that follows a prompt) while the payer has no keys left
  to press. Both can be combined in one ``Payer(rules=…, sequence=…)``.

* An :class:`InteractivePayer` lives in **real time** (the terminal softphone): the simulator
  tells it which prompt plays and asks it for keys with a timeout. :class:`KeypadPayer` is the
  queue-backed one.
"""

from __future__ import annotations

import asyncio
import fnmatch
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

from ivr.agi.protocol import DTMF_KEYS

EventKind = Literal["key", "hangup", "disconnect"]


@dataclass(frozen=True, order=True)
class PayerEvent:
    """Something the payer does at a virtual time (ms since the call started)."""

    at_ms: int
    seq: int
    kind: EventKind
    key: str = ""


_seq = itertools.count()


def _event(at_ms: float, kind: EventKind, key: str = "") -> PayerEvent:
    return PayerEvent(max(0, round(at_ms)), next(_seq), kind, key)


# --- actions -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Keys:
    """Press ``keys`` one after another.

    By default the first key comes ``after_ms`` after the prompt ends; with ``during_ms`` it
    comes that long after the prompt *starts* (type-ahead: it interrupts the prompt). Later keys
    follow every ``gap_ms``, or after the explicit ``gaps_ms`` (one per following key).
    """

    keys: str
    gap_ms: int = 300
    after_ms: int = 500
    during_ms: int | None = None
    gaps_ms: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if not self.keys or any(k not in DTMF_KEYS for k in self.keys):
            raise ValueError("Keys needs one or more of 0-9 * #")
        if self.gaps_ms is not None and len(self.gaps_ms) != len(self.keys) - 1:
            raise ValueError("gaps_ms needs one gap per key after the first")

    def events(self, start_ms: int, end_ms: int) -> list[PayerEvent]:
        at = start_ms + self.during_ms if self.during_ms is not None else end_ms + self.after_ms
        gaps = self.gaps_ms if self.gaps_ms is not None else [self.gap_ms] * (len(self.keys) - 1)
        out = [_event(at, "key", self.keys[0])]
        for key, gap in zip(self.keys[1:], gaps, strict=True):
            at += gap
            out.append(_event(at, "key", key))
        return out


def TypeAhead(keys: str, at_ms: int = 300, gap_ms: int = 300) -> Keys:
    """Keys pressed while the prompt is still playing (the first one interrupts it)."""
    return Keys(keys, gap_ms=gap_ms, during_ms=at_ms)


@dataclass(frozen=True)
class Silence:
    """Press nothing (the IVR's timeout runs out, in virtual time)."""

    def events(self, start_ms: int, end_ms: int) -> list[PayerEvent]:
        return []


@dataclass(frozen=True)
class HangUp:
    """Hang up ``delay_ms`` after the prompt starts (or ends, with ``after_prompt``). Asterisk
    answers the running command (``result=-1``) and then sends ``HANGUP``; when no command is
    running it sends ``HANGUP`` at once."""

    delay_ms: int = 0
    after_prompt: bool = False

    def events(self, start_ms: int, end_ms: int) -> list[PayerEvent]:
        return [_event((end_ms if self.after_prompt else start_ms) + self.delay_ms, "hangup")]


@dataclass(frozen=True)
class Disconnect:
    """The socket closes without ``HANGUP`` (EOF), like a crashed or killed Asterisk."""

    delay_ms: int = 0
    after_prompt: bool = False

    def events(self, start_ms: int, end_ms: int) -> list[PayerEvent]:
        return [_event((end_ms if self.after_prompt else start_ms) + self.delay_ms,
                       "disconnect")]


Action = Keys | Silence | HangUp | Disconnect


class OnPrompt:
    """When the prompt ``prompt`` (id or fnmatch pattern, e.g. ``"num/*"``) starts, do
    ``actions``. Fires once unless ``every_time``."""

    def __init__(self, prompt: str, *actions: Action, every_time: bool = False) -> None:
        if not actions:
            raise ValueError("OnPrompt needs at least one action")
        self.prompt = prompt
        self.actions: tuple[Action, ...] = actions
        self.every_time = every_time

    def matches(self, prompt_id: str) -> bool:
        return prompt_id == self.prompt or fnmatch.fnmatchcase(prompt_id, self.prompt)

    def __repr__(self) -> str:
        return f"OnPrompt({self.prompt!r}, {', '.join(map(repr, self.actions))})"


class Payer:
    """A virtual-time payer (see the module docstring)."""

    def __init__(self, rules: Iterable[OnPrompt] = (), sequence: Iterable[Action] = ()) -> None:
        self._rules = list(rules)
        self._sequence = list(sequence)
        self.fired: list[str] = []  # what the payer reacted to, for the transcript

    @classmethod
    def scripted(cls, rules: Iterable[OnPrompt]) -> Payer:
        return cls(rules=rules)

    @classmethod
    def sequence(cls, actions: Iterable[Action]) -> Payer:
        return cls(sequence=actions)

    @classmethod
    def silent(cls) -> Payer:
        return cls()

    @property
    def actions_left(self) -> int:
        return len(self._sequence) + sum(1 for r in self._rules if not r.every_time)

    def on_prompt(self, prompt_id: str, start_ms: int, end_ms: int) -> list[PayerEvent]:
        for index, rule in enumerate(self._rules):
            if rule.matches(prompt_id):
                if not rule.every_time:
                    del self._rules[index]
                self.fired.append(f"prompt {prompt_id}")
                return [e for a in rule.actions for e in a.events(start_ms, end_ms)]
        return []

    def on_input_wanted(self, start_ms: int, end_ms: int) -> list[PayerEvent]:
        if not self._sequence:
            return []
        action = self._sequence.pop(0)
        self.fired.append(f"input {type(action).__name__}")
        return action.events(start_ms, end_ms)


# --- real time ---------------------------------------------------------------------------------

class InteractivePayer(Protocol):
    """A real-time payer: told what plays, asked for keys."""

    def on_prompt(self, prompt_id: str, file: str) -> None: ...

    async def next_key(self, timeout: float | None) -> str | None:
        """The next key pressed (already pressed ones first), or None after ``timeout`` s."""
        ...


class KeypadPayer:
    """An :class:`InteractivePayer` fed by ``press()`` (a terminal, a test, a benchmark)."""

    def __init__(self, on_prompt: Callable[[str, str], None] | None = None) -> None:
        self._keys: asyncio.Queue[str] = asyncio.Queue()
        self._on_prompt = on_prompt
        self.heard: list[str] = []

    def press(self, keys: str) -> None:
        for key in keys:
            if key not in DTMF_KEYS:
                raise ValueError(f"not a DTMF key: {key!r}")
            self._keys.put_nowait(key)

    def on_prompt(self, prompt_id: str, file: str) -> None:
        self.heard.append(prompt_id)
        if self._on_prompt is not None:
            self._on_prompt(prompt_id, file)

    async def next_key(self, timeout: float | None) -> str | None:
        if timeout is not None and timeout <= 0:
            return None if self._keys.empty() else self._keys.get_nowait()
        try:
            async with asyncio.timeout(timeout):
                return await self._keys.get()
        except TimeoutError:
            return None


