"""The one error shape of the HTTP API: ``{"error": {"code", "message", "field"}}``."""

from __future__ import annotations

import json

from aiohttp import web


class ApiError(Exception):
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

    def response(self) -> web.Response:
        return web.json_response(self.body(), status=self.status, dumps=_dumps)


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def json_response(data: object, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=_dumps)
