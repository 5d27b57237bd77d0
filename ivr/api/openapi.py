"""The OpenAPI 3.1 document of the HTTP API. A test checks it against the router both ways."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ivr.api.schemas import CancelArsRequest, CreateArsRequest, RefundArsRequest
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


DELIVERY = {
    "type": "object",
    "description": "One outbox delivery: a merchant callback or a payer SMS, with every attempt",
    "properties": {
        "id": {"type": "string", "examples": ["callback:1712345678901-0"]},
        "kind": {
            "type": "string",
            "enum": ["callback", "billing_sms", "receipt_sms", "cancel_sms"],
        },
        "status": {"type": "string", "description": "the request status that caused it"},
        "event_id": {"type": "string"},
        "state": {
            "type": "string",
            "enum": ["queued", "delivering", "retrying", "delivered", "sent", "skipped", "dead"],
        },
        "attempts": {"type": "integer"},
        "max_attempts": {"type": "integer"},
        "created_at": {"type": ["string", "null"], "format": "date-time"},
        "updated_at": {"type": ["string", "null"], "format": "date-time"},
        "next_attempt_at": {"type": ["string", "null"], "format": "date-time"},
        "last_error": {"type": ["string", "null"]},
        "last_http_status": {"type": ["integer", "null"]},
        "webhook_id": {"type": ["string", "null"]},
        "url": {"type": ["string", "null"]},
        "payload": {"type": ["object", "null"], "description": "the callback body as sent"},
        "message_id": {"type": ["string", "null"]},
        "manual_resends": {"type": "integer"},
        "history": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "attempt": {"type": "integer"},
                    "at": {"type": "string", "format": "date-time"},
                    "duration_ms": {"type": "integer"},
                    "outcome": {
                        "type": "string",
                        "enum": ["delivered", "sent", "failed", "skipped"],
                    },
                    "http_status": {"type": ["integer", "null"]},
                    "error": {"type": ["string", "null"]},
                },
            },
        },
    },
}

CALLBACK = {
    "type": "object",
    "description": (
        "POSTed to the callback URL on every terminal status. Headers webhook-id (stable across "
        "retries: dedupe on it), webhook-timestamp, webhook-signature "
        "(v1,<base64 HMAC-SHA256(secret, id.timestamp.body)>, one per valid secret)."
    ),
    "required": ["type", "timestamp", "data"],
    "properties": {
        "type": {
            "type": "string",
            "enum": [f"ars_request.{s.value}" for s in Status if s.value not in
                     ("pending", "in_call", "authorizing")],
        },
        "timestamp": {"type": "string", "format": "date-time"},
        "data": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "order_id": {"type": "string"},
                "kind": {"type": "string"},
                "status": {"type": "string"},
                "amount": {"type": "integer"},
                "approved_amount": {"type": "integer"},
                "refunded_amount": {"type": "integer"},
                "remaining_amount": {"type": "integer"},
                "refund": {"type": ["object", "null"]},
                "approval_number": {"type": ["string", "null"]},
                "pg_payment_ref": {"type": ["string", "null"]},
                "card": {
                    "type": ["object", "null"],
                    "properties": {
                        "masked": {"type": "string", "examples": ["433028******0019"]},
                        "brand": {"type": ["string", "null"]},
                        "issuer": {"type": ["string", "null"]},
                    },
                },
                "installment_months": {"type": ["integer", "null"]},
                "decline": {"type": ["object", "null"]},
                "cancellation": {"type": ["object", "null"]},
                "failure_reason": {"type": ["string", "null"]},
                "created_at": {"type": "string", "format": "date-time"},
                "expires_at": {"type": "string", "format": "date-time"},
                "approved_at": {"type": ["string", "null"], "format": "date-time"},
                "event_at": {"type": "string", "format": "date-time"},
                "event_id": {"type": "string"},
            },
        },
    },
}

_SSE = {
    "description": (
        "text/event-stream: `id:` (resume with Last-Event-ID), `event:` (type), `data:` "
        "{id, request_id, type, status, at, data}; a `: keepalive` comment every 15 s"
    ),
    "content": {"text/event-stream": {"schema": {"type": "string"}}},
}
_LAST_EVENT_ID = {
    "name": "Last-Event-ID",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "resume after this event (also accepted as the last_event_id query parameter)",
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
    "/v1/ars-requests/{request_id}/refund": {
        "post": {
            "operationId": "refund_ars_request",
            "summary": "Refund an approved payment, fully or partly, through the PG",
            "description": (
                "amount defaults to all that remains. 409 not_refundable (not approved), "
                "refund_in_progress, refund_in_doubt (an unconfirmed refund of another amount); "
                "422 refund_exceeds_remaining, refund_declined (the PG refused); 502 "
                "refund_in_doubt (the PG did not answer: nothing changed, retry safely)."
            ),
            "security": _BEARER,
            "parameters": [_ID, _IDEMPOTENCY],
            "requestBody": {"required": True, **_json("RefundArsRequest")},
            "responses": {
                "200": {"description": "refunded or partially_refunded", **_json("ArsRequest")},
                **_errors(401, 404, 409, 415, 422, 502, 503),
            },
        },
    },
    "/v1/ars-requests/{request_id}/deliveries": {
        "get": {
            "operationId": "list_deliveries",
            "summary": "The request's callbacks and SMS, with every attempt",
            "security": _BEARER,
            "parameters": [_ID],
            "responses": {
                "200": {
                    "description": "deliveries, oldest first",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "request_id": {"type": "string"},
                                    "items": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/Delivery"},
                                    },
                                },
                            }
                        }
                    },
                },
                **_errors(401, 404),
            },
        },
    },
    "/v1/ars-requests/{request_id}/deliveries/{delivery_id}/resend": {
        "post": {
            "operationId": "resend_delivery",
            "summary": "Send a callback again now (same webhook-id and body, fresh retries)",
            "security": _BEARER,
            "parameters": [
                _ID,
                {"name": "delivery_id", "in": "path", "required": True,
                 "schema": {"type": "string"}},
            ],
            "responses": {
                "202": {"description": "queued", **_json("Delivery")},
                **_errors(401, 404, 409),
            },
        },
    },
    "/v1/dead-letters": {
        "get": {
            "operationId": "list_dead_letters",
            "summary": "The merchant's deliveries that failed every attempt, newest first",
            "security": _BEARER,
            "parameters": [
                {"name": "limit", "in": "query",
                 "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
            ],
            "responses": {
                "200": {
                    "description": "dead letters",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"items": {"type": "array", "items": {
                                    "type": "object"}}},
                            }
                        }
                    },
                },
                **_errors(401, 422),
            },
        },
    },
    "/v1/ars-requests/{request_id}/events": {
        "get": {
            "operationId": "ars_request_events",
            "summary": "Live events of one request (Server-Sent Events), from its first one",
            "security": _BEARER,
            "parameters": [_ID, _LAST_EVENT_ID],
            "responses": {"200": _SSE, **_errors(401, 404, 422, 503)},
        },
    },
    "/v1/events": {
        "get": {
            "operationId": "merchant_events",
            "summary": "Live events of all the merchant's requests (Server-Sent Events), from now",
            "security": _BEARER,
            "parameters": [_LAST_EVENT_ID],
            "responses": {"200": _SSE, **_errors(401, 422, 503)},
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
                "RefundArsRequest": RefundArsRequest.model_json_schema(),
                "Delivery": DELIVERY,
                "Callback": CALLBACK,
            },
        },
        "webhooks": {
            "arsRequestResult": {
                "post": {
                    "summary": "A request reached a terminal status (signed, Standard Webhooks)",
                    "requestBody": _json("Callback"),
                    "responses": {"2XX": {"description": "accepted; anything else is retried"}},
                }
            }
        },
    }
