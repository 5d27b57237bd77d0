"""Scrub text that comes from a PG before it goes into an outcome or a log line.

PG messages are not supposed to echo card data, but we do not rely on that: any run of six
or more digits (spaces/dashes allowed between) is replaced.
"""

from __future__ import annotations

import re

_DIGIT_RUN = re.compile(r"\d(?:[ -]?\d){5,}")
MAX_MESSAGE = 200


def scrub_text(text: object) -> str:
    if not isinstance(text, str):
        return ""
    return _DIGIT_RUN.sub("[digits]", text)[:MAX_MESSAGE]
