"""The one error shape of the HTTP API: ``{"error": {"code", "message", "field"}}``."""

from __future__ import annotations

import json

from aiohttp import web

from ivr.domain.errors import RequestRejected


class ApiError(RequestRejected):
    """A refusal decided by the HTTP layer itself (auth, body, parameters)."""


def error_response(exc: RequestRejected) -> web.Response:
    return web.json_response(exc.body(), status=exc.status, dumps=_dumps)


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def json_response(data: object, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=_dumps)
