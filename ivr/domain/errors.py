"""The one refusal type: a well-formed request that cannot be done, with what to answer."""

from __future__ import annotations


class RequestRejected(Exception):
    """Raised by the service layer and the HTTP layer alike; the API turns it into
    ``{"error": {"code", "message", "field", …extra}}`` with ``status``."""

    def __init__(
        self, status: int, code: str, message: str, field: str | None = None, **extra: object
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.extra = extra

    def body(self) -> dict[str, object]:
        return {
            "error": {"code": self.code, "message": self.message, "field": self.field, **self.extra}
        }
