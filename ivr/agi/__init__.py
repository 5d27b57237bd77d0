"""FastAGI: the wire protocol, the server, the ``Channel`` that flows use, and an Asterisk-side
simulator to test them. Protocol parsing knows nothing of payments."""

from ivr.agi.channel import AgiChannel, Channel, Collected
from ivr.agi.connection import AgiConnection, AgiLimits
from ivr.agi.errors import (
    AgiCommandFailed,
    AgiError,
    AgiProtocolError,
    AgiTimeout,
    CallerHungUp,
    PromptMissing,
)
from ivr.agi.server import AgiCall, AgiServer, Handler

__all__ = [
    "AgiCall",
    "AgiChannel",
    "AgiCommandFailed",
    "AgiConnection",
    "AgiError",
    "AgiLimits",
    "AgiProtocolError",
    "AgiServer",
    "AgiTimeout",
    "CallerHungUp",
    "Channel",
    "Collected",
    "Handler",
    "PromptMissing",
]
