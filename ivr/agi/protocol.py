"""The FastAGI wire format as Asterisk 22 speaks it: pure functions and data, no I/O.

See shared/reference/agi.md. Both sides use this module: the server (``connection``) to format
commands and parse replies, the Asterisk-side simulator to parse commands and format replies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import parse_qsl

from ivr.agi.errors import (
    AgiBadEnvironment,
    AgiCommandTooLong,
    AgiMalformedReply,
)

DEFAULT_PORT: Final = 4573
MAX_COMMAND_BYTES: Final = 8192  # one command line, newline included
DTMF_KEYS: Final = "0123456789*#"

# Commands that play audio or wait for keys: ``result=-1`` from them means hangup (or, for
# playback, a file that cannot be opened), and a new line sent while they run aborts them.
MEDIA_COMMANDS: Final = frozenset({
    "STREAM FILE", "CONTROL STREAM FILE", "GET DATA", "GET OPTION", "WAIT FOR DIGIT",
    "SAY DIGITS", "SAY NUMBER", "SAY ALPHA", "SAY PHONETIC", "SAY DATE", "SAY TIME",
    "SAY DATETIME", "RECORD FILE",
})

HANGUP_LINE: Final = "HANGUP"

_ENV_NAME = re.compile(r"agi_[A-Za-z0-9_]+\Z")
_CODE_LINE = re.compile(r"(?P<code>\d{3})(?:(?P<sep>[ -])(?P<rest>.*))?\Z", re.DOTALL)
_RESULT_200 = re.compile(
    r"result=(?P<result>\S*)(?: \((?P<data>.*)\))?(?: endpos=(?P<endpos>-?\d+))?\s*\Z",
    re.DOTALL,
)
_RESULT_OTHER = re.compile(r"result=(?P<result>\S*)(?: (?P<data>.*))?\Z", re.DOTALL)
_USAGE_END = "520 End of proper usage."


# --- environment -------------------------------------------------------------------------------

def parse_env_line(line: str) -> tuple[str, str]:
    """Split one ``agi_name: value`` line (without its newline) into name and value."""
    name, sep, value = line.partition(":")
    if not sep or not _ENV_NAME.match(name):
        raise AgiBadEnvironment(f"environment line is not 'agi_name: value' ({len(line)} chars)")
    if value.startswith(" "):
        value = value[1:]
    return name, value


def split_network_script(network_script: str) -> tuple[str, dict[str, str]]:
    """``agi_network_script`` is everything after the URL's first ``/``, query string included:
    return the script name (before ``?``) and the parsed query (last value of a name wins)."""
    script, _, query = network_script.partition("?")
    return script, dict(parse_qsl(query, keep_blank_values=True))


def env_args(env: dict[str, str]) -> list[str]:
    """The dialplan's extra arguments, ``agi_arg_1``, ``agi_arg_2``, … in order."""
    args: list[str] = []
    while (value := env.get(f"agi_arg_{len(args) + 1}")) is not None:
        args.append(value)
    return args


def format_env(env: dict[str, str]) -> bytes:
    """The environment block as Asterisk writes it: ``name: value`` lines and one blank line."""
    return "".join(f"{name}: {value}\n" for name, value in env.items()).encode() + b"\n"


# --- commands ----------------------------------------------------------------------------------

def quote_arg(arg: str) -> str:
    """Quote one argument so Asterisk's parser gives it back unchanged."""
    if any(c in arg for c in "\r\n\0"):
        raise AgiCommandTooLong("an AGI argument may not contain a newline or NUL")
    if arg and not any(c in arg for c in ' \t"\\'):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_command(command: str, *args: object) -> str:
    """One command line (without its newline): the command words, then quoted arguments."""
    words = command.split()
    if not words or any(c in command for c in "\r\n\0"):
        raise AgiCommandTooLong("an AGI command needs a name and no newline")
    line = " ".join([*words, *(quote_arg(str(a)) for a in args)])
    if len(line.encode()) + 1 > MAX_COMMAND_BYTES:
        raise AgiCommandTooLong(f"AGI command line over {MAX_COMMAND_BYTES} bytes")
    return line


def split_command_line(line: str) -> list[str]:
    """Split a command line into words exactly like Asterisk's ``parse_args``: spaces and tabs
    separate, double quotes group, a backslash makes the next character literal."""
    words: list[str] = []
    current: list[str] = []
    in_word = quoted = escaped = False
    for ch in line:
        if ch == '"' and not escaped:
            quoted = not quoted
            if quoted and not in_word:
                in_word = True
            continue
        if ch in " \t" and not quoted and not escaped:
            if in_word:
                words.append("".join(current))
                current = []
                in_word = False
            continue
        if ch == "\\" and not escaped:
            escaped = True
            continue
        in_word = True
        current.append(ch)
        escaped = False
    if in_word:
        words.append("".join(current))
    return words


def canonical_command(command: str) -> str:
    """``stream  file`` → ``STREAM FILE``: the form used to classify commands."""
    return " ".join(command.split()).upper()


# --- replies -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class AgiReply:
    """One complete reply. ``result`` is the text after ``result=`` ('' when empty, None when
    the reply has none); ``data`` the text in parentheses (``timeout``, a variable's value), or
    the message of an error reply, or the usage text of a 520 block."""

    code: int
    result: str | None
    data: str | None
    endpos: int | None
    raw: str
    sensitive: bool = field(default=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.code == 200

    @property
    def timed_out(self) -> bool:
        return self.data == "timeout"

    @property
    def result_int(self) -> int | None:
        """``result`` as an integer, or None when it is empty or not a number."""
        if self.result is None or not re.fullmatch(r"-?\d+", self.result):
            return None
        return int(self.result)

    def __repr__(self) -> str:
        if self.sensitive:
            return f"AgiReply(code={self.code}, <redacted>)"
        return (f"AgiReply(code={self.code}, result={self.result!r}, data={self.data!r}, "
                f"endpos={self.endpos!r})")


class _HangupNotice:
    """The out-of-band ``HANGUP`` line: the caller hung up; not a reply to anything."""

    _instance: _HangupNotice | None = None

    def __new__(cls) -> _HangupNotice:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "HANGUP_NOTICE"


HANGUP_NOTICE: Final = _HangupNotice()


def parse_reply_line(line: str) -> AgiReply:
    """Parse one final reply line (``200 …``, ``100 …``, ``503 …``, ``510 …``, ``511 …``,
    single-line ``520 …``). Multi-line 520 blocks need :class:`ReplyReader`."""
    m = _CODE_LINE.match(line)
    if m is None or m["sep"] == "-":
        raise AgiMalformedReply(f"not an AGI reply line ({len(line)} chars)")
    code = int(m["code"])
    rest = m["rest"] or ""
    if code == 200:
        r = _RESULT_200.match(rest)
        if r is None:
            raise AgiMalformedReply(f"200 reply without a valid result= ({len(line)} chars)")
        endpos = int(r["endpos"]) if r["endpos"] is not None else None
        return AgiReply(200, r["result"], r["data"], endpos, line)
    if rest.startswith("result="):
        r = _RESULT_OTHER.match(rest)
        assert r is not None  # the pattern accepts anything after result=
        return AgiReply(code, r["result"], r["data"], None, line)
    return AgiReply(code, None, rest or None, None, line)


class ReplyReader:
    """Assemble replies from lines: ``feed(line)`` returns :data:`HANGUP_NOTICE`, a complete
    :class:`AgiReply` (code 100 included; the caller skips it), or None while a ``520-`` block
    is still open. One reader per command; it is pure and keeps the block's lines bounded."""

    def __init__(self, max_block_lines: int = 256) -> None:
        self._max_block_lines = max_block_lines
        self._block: list[str] | None = None

    @property
    def in_block(self) -> bool:
        return self._block is not None

    def feed(self, line: str) -> AgiReply | _HangupNotice | None:
        if line == HANGUP_LINE:
            return HANGUP_NOTICE
        if self._block is not None:
            self._block.append(line)
            # Old Asterisk wrote the usage without a final newline, gluing the end marker on.
            if line.startswith("520 ") or line == "520" or line.endswith(_USAGE_END):
                block, self._block = self._block, None
                usage = block[1:-1]
                if not line.startswith("520"):
                    usage.append(line[: -len(_USAGE_END)])
                return AgiReply(520, None, "\n".join(usage), None, "\n".join(block))
            if len(self._block) > self._max_block_lines:
                raise AgiMalformedReply(f"520 block longer than {self._max_block_lines} lines")
            return None
        if line.startswith("520-"):
            self._block = [line]
            return None
        return parse_reply_line(line)


# --- replies, the Asterisk side ----------------------------------------------------------------

def reply_200(result: object, data: str | None = None, endpos: int | None = None) -> str:
    """A success reply line as Asterisk formats it."""
    text = f"200 result={result}"
    if data is not None:
        text += f" ({data})"
    if endpos is not None:
        text += f" endpos={endpos}"
    return text


REPLY_INVALID: Final = "510 Invalid or unknown command"
REPLY_DEAD: Final = "511 Command Not Permitted on a dead channel or intercept routine"
REPLY_USAGE_UNAVAILABLE: Final = "520 Invalid command syntax.  Proper usage not available."
REPLY_TRYING: Final = "100 result=0 Trying..."
REPLY_NO_MEMORY: Final = "503 result=-2 Memory allocation failure"


def reply_usage(usage: str) -> str:
    """The multi-line 520 block for a command used with the wrong arguments."""
    return f"520-Invalid command syntax.  Proper usage follows:\n{usage}\n{_USAGE_END}"
