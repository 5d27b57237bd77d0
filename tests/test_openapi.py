"""The OpenAPI document and the router agree, both ways."""

from __future__ import annotations

from tests.conftest import RunningServer


async def test_openapi_matches_routes(arspay: RunningServer):
    status, doc = await arspay.get("/v1/openapi.json", key=None)
    assert status == 200
    assert doc["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    app = arspay.server._http_runner.app
    routed = {
        (route.resource.canonical, route.method)
        for route in app.router.routes()
        if route.method != "HEAD"
    }
    assert documented == routed
    ids = {op["operationId"] for ops in doc["paths"].values() for op in ops.values()}
    assert ids == {route.name for route in app.router.routes() if route.name}
    create = doc["components"]["schemas"]["CreateArsRequest"]
    assert create["additionalProperties"] is False
    assert {"kind", "order_id", "amount", "payer_phone"} <= set(create["required"])
