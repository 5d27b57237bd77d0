"""Solapi and SENS senders against local HTTP servers that verify the signatures for real."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from sms.base import SmsMessage
from sms.factory import build_sms_sender
from sms.outbox import OutboxSender
from sms.sens import SensSender, sens_signature
from sms.solapi import SolapiSender, solapi_authorization, solapi_signature

API_KEY = "NCSTESTKEY0001"
API_SECRET = "solapi-secret-for-tests"
ACCESS_KEY = "ncp-access-key"
SECRET_KEY = "ncp-secret-key"
SERVICE_ID = "ncp:sms:kr:1234567:arspay"
PAYER = "+821012345678"
SHORT = "[스타커피] 결제 요청\n1600-5001"
LONG = "[스타커피 강남점] 결제 요청\n상품: 아메리카노\n금액: 28,500원\n" + "안내 " * 30 + "\n1600"

SOLAPI_AUTH = re.compile(
    r"^HMAC-SHA256 ApiKey=(?P<key>[^,\s]+), Date=(?P<date>[^,\s]+), "
    r"salt=(?P<salt>[^,\s]+), signature=(?P<sig>[0-9a-f]{64})$"
)


@dataclass(eq=False)
class FakeProvider:
    """A provider stand-in: checks what the real one checks, records accepted messages."""

    base_url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    fail_with: tuple[int, dict[str, Any]] | None = None
    hang: bool = False
    release: asyncio.Event = field(default_factory=asyncio.Event)
    seen_salts: set[str] = field(default_factory=set)


PROVIDER_KEY = web.AppKey("provider", FakeProvider)


def _reject(provider: FakeProvider, status: int, body: dict[str, Any], why: str) -> web.Response:
    provider.rejected.append(why)
    return web.json_response(body, status=status)


async def _solapi_send(request: web.Request) -> web.Response:
    provider: FakeProvider = request.app[PROVIDER_KEY]
    m = SOLAPI_AUTH.match(request.headers.get("Authorization", ""))
    if not m:
        return _reject(provider, 401, {"errorCode": "InvalidAuthorization"}, "header")
    if m["key"] != API_KEY:
        return _reject(provider, 403, {"errorCode": "InvalidApiKey"}, "key")
    if not 12 <= len(m["salt"]) <= 64 or m["salt"] in provider.seen_salts:
        return _reject(provider, 403, {"errorCode": "DuplicatedSignature"}, "salt")
    expected = hmac.new(API_SECRET.encode(), (m["date"] + m["salt"]).encode(), hashlib.sha256)
    if not hmac.compare_digest(expected.hexdigest(), m["sig"]):
        mismatch = {"errorCode": "SignatureDoesNotMatch", "errorMessage": "bad signature"}
        return _reject(provider, 403, mismatch, "signature")
    date = datetime.fromisoformat(m["date"].replace("Z", "+00:00"))
    if abs((datetime.now(UTC) - date).total_seconds()) > 900:
        return _reject(provider, 403, {"errorCode": "RequestTimeTooSkewed"}, "date")
    provider.seen_salts.add(m["salt"])
    if provider.hang:
        await provider.release.wait()
    if provider.fail_with:
        status, body = provider.fail_with
        return web.json_response(body, status=status)
    body = await request.json()
    message = body["message"]
    assert set(message) <= {"to", "from", "text", "subject", "type"}
    assert re.fullmatch(r"0\d{7,11}", message["to"]) and re.fullmatch(r"\d{8,12}", message["from"])
    message["text"].encode("cp949")  # a real provider rejects what EUC-KR/CP949 cannot carry
    provider.received.append(message)
    return web.json_response({
        "groupId": "G4V20251122", "messageId": f"M4V{len(provider.received):05d}",
        "statusCode": "2000", "statusMessage": "정상 접수(이통사로 접수 예정)",
        "to": message["to"], "from": message["from"], "type": message["type"], "country": "82",
    })  # fmt: skip


async def _sens_send(request: web.Request) -> web.Response:
    provider: FakeProvider = request.app[PROVIDER_KEY]
    timestamp = request.headers.get("x-ncp-apigw-timestamp", "")
    access = request.headers.get("x-ncp-iam-access-key", "")
    signature = request.headers.get("x-ncp-apigw-signature-v2", "")
    auth_failed = {"error": {"errorCode": "200", "message": "Authentication Failed"}}
    if not timestamp.isdigit() or abs(time.time() * 1000 - int(timestamp)) > 5 * 60 * 1000:
        return _reject(provider, 401, auth_failed, "timestamp")
    if access != ACCESS_KEY:
        return _reject(provider, 401, auth_failed, "key")
    message = f"POST {request.raw_path}\n{timestamp}\n{access}"
    expected = base64.b64encode(
        hmac.new(SECRET_KEY.encode(), message.encode(), hashlib.sha256).digest()
    ).decode()
    if not hmac.compare_digest(expected, signature):
        return _reject(provider, 401, auth_failed, "signature")
    if provider.fail_with:
        status, body = provider.fail_with
        return web.json_response(body, status=status)
    body = await request.json()
    assert body["type"] in ("SMS", "LMS") and body["contentType"] in ("COMM", "AD")
    assert re.fullmatch(r"\d{8,12}", body["from"]) and 1 <= len(body["messages"]) <= 100
    body["content"].encode("cp949")
    provider.received.append(body)
    return web.json_response(
        {"requestId": f"RSENS{len(provider.received)}", "requestTime": "2025-11-22T18:30:00.000",
         "statusCode": "202", "statusName": "success"},
        status=202,
    )  # fmt: skip


async def _serve(handler_path: str, handler: Callable[[web.Request], Awaitable[web.Response]]):
    provider = FakeProvider()
    app = web.Application()
    app[PROVIDER_KEY] = provider
    app.router.add_post(handler_path, handler)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    provider.base_url = f"http://127.0.0.1:{port}"
    return provider, runner


@pytest.fixture
async def solapi() -> AsyncIterator[FakeProvider]:
    provider, runner = await _serve("/messages/v4/send", _solapi_send)
    yield provider
    provider.release.set()
    await runner.cleanup()


@pytest.fixture
async def sens() -> AsyncIterator[FakeProvider]:
    path = "/sms/v2/services/{service_id}/messages"
    provider, runner = await _serve(path, _sens_send)
    yield provider
    await runner.cleanup()


def solapi_sender(provider: FakeProvider, secret: str = API_SECRET, **kw: Any) -> SolapiSender:
    return SolapiSender(API_KEY, secret, "1600-5000", base_url=provider.base_url, **kw)


def sens_sender(provider: FakeProvider, secret: str = SECRET_KEY) -> SensSender:
    return SensSender(ACCESS_KEY, secret, SERVICE_ID, "1600-5000", base_url=provider.base_url)


# --- Solapi -----------------------------------------------------------------------------------


async def test_solapi_sends_a_short_sms(solapi: FakeProvider) -> None:
    sender = solapi_sender(solapi)
    result = await sender.send(SmsMessage(PAYER, SHORT, subject="ignored for SMS"))
    await sender.close()
    assert result.ok and result.provider == "solapi" and result.message_id == "M4V00001"
    assert result.message_type == "SMS" and result.error is None
    assert solapi.received == [
        {"to": "01012345678", "from": "16005000", "text": SHORT, "type": "SMS"}
    ]


async def test_solapi_sends_an_lms_with_a_short_subject(solapi: FakeProvider) -> None:
    sender = solapi_sender(solapi)
    subject = "[스타커피 강남점 본점 특별 할인 매장] 결제 요청 안내"
    result = await sender.send(SmsMessage(PAYER, LONG, subject=subject))
    await sender.close()
    assert result.ok and result.message_type == "LMS"
    sent = solapi.received[0]
    assert sent["type"] == "LMS" and len(sent["subject"].encode("cp949")) <= 40


async def test_solapi_sends_safe_text(solapi: FakeProvider) -> None:
    sender = solapi_sender(solapi)
    result = await sender.send(SmsMessage(PAYER, "결제 완료 😀 “감사합니다”"))
    await sender.close()
    assert result.ok
    assert solapi.received[0]["text"] == '결제 완료  "감사합니다"'


async def test_solapi_wrong_secret_is_an_error_result(solapi: FakeProvider) -> None:
    sender = solapi_sender(solapi, secret="not-the-secret")
    result = await sender.send(SmsMessage(PAYER, SHORT))
    await sender.close()
    assert not result.ok and result.message_id is None
    assert "403" in result.error and "SignatureDoesNotMatch" in result.error  # type: ignore[operator]
    assert solapi.rejected == ["signature"] and solapi.received == []


async def test_solapi_signing_the_salt_alone_fails(solapi: FakeProvider) -> None:
    date = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    salt = "0123456789abcdef"
    salt_only = hmac.new(API_SECRET.encode(), salt.encode(), hashlib.sha256).hexdigest()
    assert salt_only != solapi_signature(API_SECRET, date, salt)
    body = {"message": {"to": "01012345678", "from": "16005000", "text": "x", "type": "SMS"}}
    async with aiohttp.ClientSession() as session:
        bad = f"HMAC-SHA256 ApiKey={API_KEY}, Date={date}, salt={salt}, signature={salt_only}"
        async with session.post(f"{solapi.base_url}/messages/v4/send", json=body,
                                headers={"Authorization": bad}) as resp:  # fmt: skip
            assert resp.status == 403
        good = solapi_authorization(API_KEY, API_SECRET, date=date, salt=salt)
        async with session.post(f"{solapi.base_url}/messages/v4/send", json=body,
                                headers={"Authorization": good}) as resp:  # fmt: skip
            assert resp.status == 200
    assert solapi.rejected == ["signature"]


async def test_solapi_provider_error_is_reported(solapi: FakeProvider) -> None:
    solapi.fail_with = (400, {"errorCode": "ValidationError",
                              "errorMessage": "발신번호 미등록"})  # fmt: skip
    sender = solapi_sender(solapi)
    result = await sender.send(SmsMessage(PAYER, SHORT))
    await sender.close()
    assert not result.ok
    assert result.error == "HTTP 400 ValidationError: 발신번호 미등록"


async def test_solapi_times_out(solapi: FakeProvider) -> None:
    solapi.hang = True
    sender = solapi_sender(solapi, timeout=0.2)
    result = await sender.send(SmsMessage(PAYER, SHORT))
    await sender.close()
    assert not result.ok and result.error == "timed out after 0.2s"


async def test_unreachable_provider_is_an_error_result() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sender = SolapiSender(API_KEY, API_SECRET, "1600-5000", base_url=f"http://127.0.0.1:{port}")
    result = await sender.send(SmsMessage(PAYER, SHORT))
    await sender.close()
    assert not result.ok and result.error.startswith("connection failed")  # type: ignore[union-attr]


async def test_refused_before_sending(solapi: FakeProvider) -> None:
    sender = solapi_sender(solapi)
    foreign = await sender.send(SmsMessage("+16502530000", SHORT))
    too_long = await sender.send(SmsMessage(PAYER, "가" * 1001))
    await sender.close()
    assert not foreign.ok and "Korean" in foreign.error  # type: ignore[operator]
    assert not too_long.ok and "2000" in too_long.error  # type: ignore[operator]
    assert solapi.received == [] and solapi.rejected == []


def test_secrets_stay_out_of_repr(solapi: FakeProvider) -> None:
    assert API_SECRET not in repr(solapi_sender(solapi))
    assert SECRET_KEY not in repr(sens_sender(solapi))


def test_message_validation() -> None:
    with pytest.raises(ValueError):
        SmsMessage("010-1234-5678", "x")
    with pytest.raises(ValueError):
        SmsMessage(PAYER, "  ")


# --- SENS -------------------------------------------------------------------------------------


async def test_sens_sends(sens: FakeProvider) -> None:
    sender = sens_sender(sens)
    result = await sender.send(SmsMessage(PAYER, LONG, subject="결제 요청"))
    await sender.close()
    assert result.ok and result.provider == "sens" and result.message_id == "RSENS1"
    sent = sens.received[0]
    assert sent["type"] == "LMS" and sent["subject"] == "결제 요청"
    assert sent["from"] == "16005000" and sent["messages"] == [{"to": "01012345678"}]
    assert sent["content"] == LONG and sent["contentType"] == "COMM"


async def test_sens_wrong_secret_is_rejected(sens: FakeProvider) -> None:
    sender = sens_sender(sens, secret="wrong")
    result = await sender.send(SmsMessage(PAYER, SHORT))
    await sender.close()
    assert not result.ok and "401" in result.error  # type: ignore[operator]
    assert "Authentication Failed" in result.error  # type: ignore[operator]
    assert sens.rejected == ["signature"]


async def test_sens_skewed_timestamp_is_rejected(sens: FakeProvider) -> None:
    uri = f"/sms/v2/services/{SERVICE_ID}/messages"
    stale = str(int(time.time() * 1000) - 6 * 60 * 1000)
    headers = {
        "x-ncp-apigw-timestamp": stale,
        "x-ncp-iam-access-key": ACCESS_KEY,
        "x-ncp-apigw-signature-v2": sens_signature(SECRET_KEY, "POST", uri, stale, ACCESS_KEY),
    }
    async with aiohttp.ClientSession() as session:
        async with session.post(sens.base_url + uri, json={}, headers=headers) as resp:
            assert resp.status == 401
    assert sens.rejected == ["timestamp"]


async def test_sens_provider_error(sens: FakeProvider) -> None:
    sens.fail_with = (400, {"statusCode": "400", "statusName": "fail"})
    sender = sens_sender(sens)
    result = await sender.send(SmsMessage(PAYER, SHORT))
    await sender.close()
    assert not result.ok and result.error == "HTTP 400 400: fail"


# --- factory ----------------------------------------------------------------------------------


async def test_factory_builds_each_kind(tmp_path, solapi: FakeProvider) -> None:
    outbox = build_sms_sender("outbox", {"echo": False}, outbox_path=tmp_path / "o.jsonl")
    assert isinstance(outbox, OutboxSender) and outbox.echo is False
    config = {"sender": "solapi", "from_number": "1600-5000", "timeout": 3, "echo": False,
              "solapi": {"api_key": API_KEY, "api_secret": API_SECRET,
                         "base_url": solapi.base_url}}  # fmt: skip
    sender = build_sms_sender("solapi", config, outbox_path=tmp_path / "o.jsonl")
    assert isinstance(sender, SolapiSender)
    assert (await sender.send(SmsMessage(PAYER, SHORT))).ok
    await sender.close()
    sens_cfg = {"access_key": "a", "secret_key": "s", "service_id": "svc",
                "sender_number": "1600-5000"}  # fmt: skip
    assert isinstance(build_sms_sender("sens", sens_cfg, outbox_path="x"), SensSender)


def test_factory_says_what_is_missing(tmp_path) -> None:
    with pytest.raises(ValueError, match="api_secret"):
        build_sms_sender("solapi", {"api_key": "k", "from_number": "1600-5000"},
                         outbox_path=tmp_path)  # fmt: skip
    with pytest.raises(ValueError, match="service_id"):
        build_sms_sender("sens", {"access_key": "a", "secret_key": "s",
                                  "sender_number": "1600-5000"}, outbox_path=tmp_path)  # fmt: skip
    with pytest.raises(ValueError, match="unknown sms sender"):
        build_sms_sender("carrier-pigeon", {}, outbox_path=tmp_path)
    with pytest.raises(ValueError, match="timeout"):
        settings = {"api_key": "k", "api_secret": "s", "timeout": "soon",
                    "from_number": "1600-5000"}  # fmt: skip
        build_sms_sender("solapi", settings, outbox_path=tmp_path)
