"""Live events over Server-Sent Events: what the agent console sees during a call, resuming
with Last-Event-ID without gaps, and one stream per merchant."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from tests.conftest import (
    MERCHANT_KEY,
    OTHER_MERCHANT_KEY,
    RunningServer,
    create_request,
    place_call,
)
from tests.outbox.conftest import BIRTHDATE, CARD, PIN, paying_payer


@asynccontextmanager
async def sse(
    arspay: RunningServer, path: str, *, key: str = MERCHANT_KEY, last_event_id: str | None = None
) -> AsyncIterator[aiohttp.ClientResponse]:
    headers = {"Authorization": f"Bearer {key}"}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    async with aiohttp.ClientSession() as session:
        async with session.get(arspay.base_url + path, headers=headers) as resp:
            yield resp


async def read_events(
    resp: aiohttp.ClientResponse,
    until: Callable[[list[dict[str, Any]]], bool],
    raw: list[str] | None = None,
    timeout: float = 5.0,
) -> list[dict[str, Any]]:
    """Parse frames until ``until(events)`` holds."""
    events: list[dict[str, Any]] = []
    frame: dict[str, str] = {}
    async with asyncio.timeout(timeout):
        while True:
            line = (await resp.content.readline()).decode()
            if raw is not None:
                raw.append(line)
            line = line.rstrip("\n")
            if line.startswith(":"):
                continue
            if line:
                name, _, value = line.partition(": ")
                frame[name] = value
                continue
            if "data" in frame:
                event = json.loads(frame["data"])
                assert event["id"] == frame["id"] and event["type"] == frame["event"]
                events.append(event)
                if until(events):
                    return events
            frame = {}


def has_type(name: str) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda events: any(e["type"] == name for e in events)


async def test_the_console_sees_the_call_step_by_step_and_never_the_digits(
    arspay: RunningServer,
):
    made = await create_request(arspay, delivery="display")
    raw: list[str] = []
    async with sse(arspay, f"/v1/ars-requests/{made['id']}/events") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        first = await read_events(resp, lambda events: len(events) == 1, raw)
        assert first[0]["type"] == "created" and first[0]["request_id"] == made["id"]
        dialled = made["virtual_number"]["display"].replace("-", "")
        call = asyncio.create_task(place_call(arspay, paying_payer(), dialled=dialled))
        events = first + await read_events(resp, has_type("approved"), raw)
        await call
    types = [e["type"] for e in events]
    for expected in ("call_connected", "caller_identified", "authorizing", "approved"):
        assert expected in types, types
    steps = [e["data"]["step"] for e in events if e["type"] == "step"]
    card_steps = ["card_number", "expiry", "identity", "pin"]
    assert [s for s in steps if s in card_steps] == card_steps, steps
    assert types.index("call_connected") < types.index("authorizing") < types.index("approved")
    [approved] = [e for e in events if e["type"] == "approved"]
    assert approved["status"] == "approved" and approved["data"]["card"].endswith("0019")
    text = "".join(raw)
    assert CARD not in text and CARD[6:12] not in text and BIRTHDATE not in text
    data_values = [json.dumps(e["data"]) for e in events]
    assert not any(f'"{PIN}"' in v for v in data_values)


async def test_last_event_id_resumes_without_gaps_or_repeats(arspay: RunningServer):
    made = await create_request(arspay, delivery="display")
    dialled = made["virtual_number"]["display"].replace("-", "")
    await place_call(arspay, paying_payer(), dialled=dialled)
    stored = [e.id for e in await arspay.server.services.store.events(made["id"])]
    assert len(stored) > 8
    path = f"/v1/ars-requests/{made['id']}/events"
    async with sse(arspay, path) as resp:
        head = await read_events(resp, lambda events: len(events) == 4)
    assert [e["id"] for e in head] == stored[:4]
    async with sse(arspay, path, last_event_id=head[-1]["id"]) as resp:
        rest = await read_events(resp, lambda events: events[-1]["id"] == stored[-1])
    assert [e["id"] for e in head + rest] == stored
    # the query-parameter form, for clients that cannot set headers
    async with sse(arspay, f"{path}?last_event_id={stored[-2]}") as resp:
        tail = await read_events(resp, lambda events: len(events) == 1)
    assert [e["id"] for e in tail] == stored[-1:]


async def test_one_stream_per_merchant_carries_all_its_requests_and_nothing_else(
    arspay: RunningServer,
):
    async with sse(arspay, "/v1/events") as mine, sse(
        arspay, "/v1/events", key=OTHER_MERCHANT_KEY
    ) as theirs:
        assert mine.status == theirs.status == 200
        one = await create_request(arspay, delivery="display", order_id="m-1")
        two = await create_request(arspay, delivery="display", order_id="m-2",
                                   payer_phone="010-2222-3333")
        await arspay.post(f"/v1/ars-requests/{one['id']}/cancel", {})
        status, other = await arspay.post(
            "/v1/ars-requests",
            {"kind": "payment", "order_id": "x-1", "product_name": "p", "amount": 1000,
             "payer_name": "김", "payer_phone": "010-9999-8888", "delivery": "display"},
            key=OTHER_MERCHANT_KEY,
        )
        assert status == 201
        events = await read_events(mine, has_type("cancelled"))
        theirs_events = await read_events(theirs, lambda events: len(events) == 1)
    assert [(e["request_id"], e["type"]) for e in events if e["type"] != "callback_delivered"][
        :3
    ] == [(one["id"], "created"), (two["id"], "created"), (one["id"], "cancelled")]
    assert [(e["request_id"], e["type"]) for e in theirs_events] == [(other["id"], "created")]


async def test_event_streams_refuse_bad_requests(arspay: RunningServer):
    made = await create_request(arspay, delivery="display")
    path = f"/v1/ars-requests/{made['id']}/events"
    async with sse(arspay, path, key=OTHER_MERCHANT_KEY) as resp:
        assert resp.status == 404
    async with sse(arspay, path, key="nope") as resp:
        assert resp.status == 401
    async with sse(arspay, path, last_event_id="not-an-id") as resp:
        assert resp.status == 422
        assert (await resp.json())["error"]["field"] == "Last-Event-ID"
    async with sse(arspay, "/v1/events", last_event_id="1-0; DROP") as resp:
        assert resp.status == 422
