"""Typed errors of the FastAGI layer.

Messages never carry reply data or digits: a reply to a capture step holds card digits, so an
error describes *what* went wrong (sizes, codes, command names), never the bytes themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ivr.agi.protocol import AgiReply


class AgiError(Exception):
    """Base of every error raised by ``ivr.agi``."""


class CallerHungUp(AgiError):
    """The caller is gone: a ``HANGUP`` notice, a 511 reply, ``-1`` after hangup, or EOF."""


class AgiProtocolError(AgiError):
    """The peer broke the protocol; the call's connection can no longer be used."""


class AgiMalformedReply(AgiProtocolError):
    """A reply line that is none of the forms Asterisk sends."""


class AgiTruncatedReply(AgiProtocolError):
    """The connection closed in the middle of a multi-line (``520-``) reply."""


class AgiLineTooLong(AgiProtocolError):
    """A line longer than the configured limit (or without an end)."""


class AgiBadEnvironment(AgiProtocolError):
    """The environment block is malformed, too large, or ended before its blank line."""


class AgiTimeout(AgiProtocolError):
    """The peer sent nothing for longer than the idle timeout."""


class AgiCallTooLong(AgiTimeout):
    """The call went past its maximum duration; no further command is sent."""


class AgiConnectionBroken(AgiProtocolError):
    """A command was abandoned mid-flight (cancelled or failed), so replies would be out of step."""


class AgiCommandTooLong(AgiError, ValueError):
    """A command line that Asterisk would not accept (over 8,192 bytes, or a newline inside)."""


class AgiCommandFailed(AgiError):
    """Asterisk refused a command: 510 (unknown), 520 (bad syntax) or 503 (no memory)."""

    def __init__(self, command: str, reply: AgiReply) -> None:
        super().__init__(f"{command} failed with AGI code {reply.code}")
        self.command = command
        self.reply = reply


class PromptMissing(AgiError):
    """Asterisk could not open a prompt's sound file (``result=-1`` on a live channel)."""

    def __init__(self, file: str) -> None:
        super().__init__(f"sound file not found by Asterisk: {file}")
        self.file = file
