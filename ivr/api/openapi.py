"""The OpenAPI 3.1 document of the HTTP API. A test checks it against the router both ways."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ivr.api.schemas import CancelArsRequest, CreateArsRequest
from ivr.domain.requests import Status

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "field"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": ["string", "null"]},
            },
        }
    },
}

ARS_REQUEST = {
    "type": "object",
    "required": ["id", "kind", "status", "order_id", "amount", "virtual_number", "expires_at"],
    "properties": {
        "id": {"type": "string", "examples": ["ars_18f3c2a1b2c4d5e6f708a9"]},
        "kind": {"type": "string", "enum": ["payment", "billing_register", "billing_charge"]},
        "status": {"type": "string", "enum": [s.value for s in Status]},
        "order_id": {"type": "string"},
        "product_name": {"type": "string"},
        "amount": {"type": "integer"},
        "payer_name": {"type": "string"},
        "payer_phone": {"type": "string", "description": "E.164"},
        "virtual_number": {
            "type": "object",
            "properties": {
                "e164": {"type": "string"},
                "display": {"type": "string", "examples": ["1600-5001"]},
            },
        },
        "delivery": {"type": "string", "enum": ["sms", "display"]},
        "callback_url": {"type": ["string", "null"]},
        "max_installment_months": {"type": "integer"},
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
        "expires_at": {"type": "string", "format": "date-time"},
        "call_attempts": {"type": "integer"},
        "sms": {"type": "object"},
        "payment": {"type": ["object", "null"]},
        "decline": {"type": ["object", "null"]},
        "cancellation": {"type": ["object", "null"]},
        "failure_reason": {"type": ["string", "null"]},
    },
}


def _errors(*codes: int) -> dict[str, Any]:
    return {
        str(code): {
            "description": "error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for code in codes
    }


def _json(ref: str) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


_BEARER = [{"merchantKey": []}]
_ID = {"name": "request_id", "in": "path", "required": True, "schema": {"type": "string"}}
_IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "maxLength": 255},
}

PATHS: dict[str, dict[str, Any]] = {
    "/v1/ars-requests": {
        "post": {
            "operationId": "create_ars_request",
            "summary": "Create an ARS request: allocate a virtual number and text it to the payer",
            "security": _BEARER,
            "parameters": [_IDEMPOTENCY],
            "requestBody": {"required": True, **_json("CreateArsRequest")},
            "responses": {
                "201": {"description": "created", **_json("ArsRequest")},
                **_errors(400, 401, 409, 413, 415, 422),
            },
        },
        "get": {
            "operationId": "list_ars_requests",
            "summary": "List the merchant's requests, newest first",
            "security": _BEARER,
            "parameters": [
                {
                    "name": "status",
                    "in": "query",
                    "schema": {"type": "string"},
                    "description": "comma-separated statuses",
                },
                {
                    "name": "created_from",
                    "in": "query",
                    "schema": {"type": "string", "format": "date-time"},
                },
                {
                    "name": "created_to",
                    "in": "query",
                    "schema": {"type": "string", "format": "date-time"},
                },
                {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50},
                },
            ],
            "responses": {
                "200": {
                    "description": "a page",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "items": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/ArsRequest"},
                                    },
                                    "next_cursor": {"type": ["string", "null"]},
                                },
                            }
                        }
                    },
                },
                **_errors(401, 422),
            },
        },
    },
    "/v1/ars-requests/{request_id}": {
        "get": {
            "operationId": "get_ars_request",
            "summary": "One request of the merchant's",
            "security": _BEARER,
            "parameters": [_ID],
            "responses": {
                "200": {"description": "the request", **_json("ArsRequest")},
                **_errors(401, 404),
            },
        },
    },
    "/v1/ars-requests/{request_id}/cancel": {
        "post": {
            "operationId": "cancel_ars_request",
            "summary": "Cancel a pending request and free its number",
            "security": _BEARER,
            "parameters": [_ID, _IDEMPOTENCY],
            "requestBody": {"required": False, **_json("CancelArsRequest")},
            "responses": {
                "200": {"description": "cancelled", **_json("ArsRequest")},
                **_errors(401, 404, 409, 415, 422),
            },
        },
    },
    "/v1/openapi.json": {
        "get": {
            "operationId": "openapi",
            "summary": "This document",
            "responses": {"200": {"description": "OpenAPI 3.1"}},
        },
    },
    "/healthz": {
        "get": {
            "operationId": "healthz",
            "summary": "The process is alive",
            "responses": {"200": {"description": "ok"}},
        },
    },
    "/readyz": {
        "get": {
            "operationId": "readyz",
            "summary": "Redis reachable and the pool configured",
            "responses": {"200": {"description": "ready"}, "503": {"description": "not ready"}},
        },
    },
}


def openapi_document(router: web.UrlDispatcher | None = None) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "arspay",
            "version": "1",
            "description": "Virtual-ARS-number card payments: the merchant API.",
        },
        "paths": PATHS,
        "components": {
            "securitySchemes": {"merchantKey": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": ERROR,
                "ArsRequest": ARS_REQUEST,
                "CreateArsRequest": CreateArsRequest.model_json_schema(),
                "CancelArsRequest": CancelArsRequest.model_json_schema(),
            },
        },
    }
