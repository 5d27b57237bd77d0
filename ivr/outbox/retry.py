"""When to try a failed delivery again: a configured back-off schedule with jitter."""

from __future__ import annotations

import random
from collections.abc import Sequence


def max_attempts(kind: str, schedule: Sequence[float], sms_max_attempts: int) -> int:
    """Callbacks: one attempt plus one per schedule step. SMS: ``sms_max_attempts``."""
    if kind == "callback":
        return len(schedule) + 1
    return sms_max_attempts


def retry_delay(
    failed_attempt: int, schedule: Sequence[float], jitter: float, rng: random.Random
) -> float:
    """Seconds to wait after attempt number ``failed_attempt`` (from 1) failed.

    Past the end of the schedule the last step repeats; each wait is scaled by a random factor
    in [1 - jitter, 1 + jitter] so that a receiver coming back up is not hit by every retry at
    once.
    """
    if not schedule:
        return 0.0
    base = schedule[min(failed_attempt, len(schedule)) - 1]
    return max(base * (1 + rng.uniform(-jitter, jitter)), 0.0)
