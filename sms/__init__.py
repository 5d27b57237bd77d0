"""SMS senders behind one interface (outbox, Solapi, Naver Cloud SENS) and message templates."""

from sms.base import SmsMessage, SmsResult, SmsSender
from sms.factory import build_sms_sender
from sms.phones import is_mobile, national_display, normalize_phone

__all__ = [
    "SmsMessage",
    "SmsResult",
    "SmsSender",
    "build_sms_sender",
    "is_mobile",
    "national_display",
    "normalize_phone",
]
