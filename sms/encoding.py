"""Korean message byte limits (EUC-KR) and making text safe for them.

Korean carriers count SMS/LMS length in EUC-KR bytes (a Hangul syllable is 2 bytes). We
encode with CP949, the superset providers accept as "EUC-KR": it also has the 8,822 Hangul
syllables EUC-KR lacks (똠, 햏 …), each still 2 bytes. Characters outside it (emoji, most
accented Latin letters, rare hanja) make some providers reject the whole message, so
`make_euckr_safe` replaces them with a close ASCII form or drops them.
"""

from __future__ import annotations

import unicodedata
from typing import Literal

MessageType = Literal["SMS", "LMS"]

SMS_MAX_BYTES = 90
LMS_MAX_BYTES = 2000
SUBJECT_MAX_BYTES = 40
CODEC = "cp949"

# Typographic characters: replaced by the plain form even where CP949 has them (1 byte
# instead of 2, and every handset shows them).
_REPLACEMENTS = {
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u2022": "·", "\u2219": "·",
    "\u20a9": "\uffe6",  # ₩ → fullwidth ￦ (in KS X 1001)
    "\u2713": "V", "\u2714": "V",
    "\r": "",
}  # fmt: skip


def _encodable(char: str) -> bool:
    try:
        char.encode(CODEC)
    except UnicodeEncodeError:
        return False
    return True


def _safe_char(char: str) -> str:
    if char in _REPLACEMENTS:
        return _REPLACEMENTS[char]
    if char in "\n\t":
        return char
    category = unicodedata.category(char)
    if category == "Zs":
        return " "
    if category[0] == "C":  # controls, format characters (ZWJ, zero-width space), private use
        return ""
    if _encodable(char):
        return char
    # Accented letters, ligatures, fullwidth forms: the compatibility decomposition's
    # encodable part (é → e, ﬁ → fi); emoji and the like have none and are dropped.
    decomposed = unicodedata.normalize("NFKD", char)
    return "".join(c for c in decomposed if unicodedata.category(c)[0] != "M" and _encodable(c))


def make_euckr_safe(text: str) -> str:
    """Text every Korean SMS provider accepts: NFC, CRLF → LF, unencodable characters
    replaced (— → -, “ ” → ", é → e) or dropped (emoji). Never raises."""
    text = unicodedata.normalize("NFC", text)
    return "".join(_safe_char(c) for c in text)


def euckr_length(text: str) -> int:
    """Bytes the text takes once made safe (what the carrier counts)."""
    return len(make_euckr_safe(text).encode(CODEC))


def message_type(text: str) -> MessageType:
    """SMS up to 90 EUC-KR bytes, LMS above."""
    return "SMS" if euckr_length(text) <= SMS_MAX_BYTES else "LMS"


def truncate_euckr(text: str, max_bytes: int, ellipsis: str = "…") -> str:
    """Safe text cut at a character boundary to at most `max_bytes`, ending in `ellipsis`
    when something was cut."""
    safe = make_euckr_safe(text)
    if len(safe.encode(CODEC)) <= max_bytes:
        return safe
    budget = max_bytes - len(ellipsis.encode(CODEC))
    out: list[str] = []
    used = 0
    for char in safe:
        size = len(char.encode(CODEC))
        if used + size > budget:
            break
        out.append(char)
        used += size
    return "".join(out).rstrip() + ellipsis if budget >= 0 else ""


def lms_subject(text: str) -> str:
    """An LMS subject: the first non-empty line, at most 40 bytes."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return truncate_euckr(first, SUBJECT_MAX_BYTES)
