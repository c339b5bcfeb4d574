"""Transport-level behaviour: JSON errors everywhere, body limits, the gRPC status table."""

from __future__ import annotations

import grpc
import pytest
from aiohttp.test_utils import TestClient
from faultproxy import ProxyStarter, through
from gateway_helpers import ClientFactory, bearer, closed_port

from cocoa_common.settings import Settings
from cocoa_coordinator.server import start_coordinator
from cocoa_gateway.errors import HTTP_STATUS_FOR_GRPC


async def test_unknown_route_is_404_json(client: TestClient, admin_token: str) -> None:
    response = await client.get("/api/v1/nothing-here", headers=bearer(admin_token))
    assert response.status == 404
    assert response.content_type == "application/json"
    assert await response.json() == {"error": "Not found"}


async def test_unknown_route_without_token_is_still_404(client: TestClient) -> None:
    response = await client.get("/api/v1/nothing-here")
    assert response.status == 404


async def test_wrong_method_is_405_json(client: TestClient, admin_token: str) -> None:
    response = await client.put("/api/v1/jobs", headers=bearer(admin_token))
    assert response.status == 405
    assert response.content_type == "application/json"
    assert (await response.json())["error"] == "Method not allowed"
    assert "GET" in response.headers["Allow"]


async def test_malformed_json_is_400(client: TestClient, admin_token: str) -> None:
    response = await client.post(
        "/api/v1/jobs", data=b"{not json", headers={**bearer(admin_token), "Content-Type": "application/json"}
    )
    assert response.status == 400
    assert await response.json() == {"success": False, "error": "Invalid JSON body"}


async def test_json_nested_too_deeply_is_400(client: TestClient, admin_token: str) -> None:
    response = await client.post(
        "/api/v1/jobs",
        data=b"[" * 100_000,
        headers={**bearer(admin_token), "Content-Type": "application/json"},
    )
    assert response.status == 400
    assert (await response.json())["error"] == "Invalid JSON body: nested too deeply"


async def test_a_nul_character_in_a_json_body_is_400(client: TestClient, admin_token: str) -> None:
    body = {"filters": {"city": "Dur\u0000ham"}}
    response = await client.post("/api/v1/jobs/geocoding", json=body, headers=bearer(admin_token))
    assert response.status == 400
    assert "NUL" in (await response.json())["error"]


async def test_a_nul_character_in_a_query_parameter_is_400_naming_it(
    client: TestClient, admin_token: str
) -> None:
    response = await client.get("/api/v1/jobs", params={"createdById": "\x00"}, headers=bearer(admin_token))
    assert response.status == 400
    assert (await response.json())["field"] == "createdById"


@pytest.mark.parametrize("path", ["/api/v1/jobs", "/api/v1/gis/households", "/api/v1/gis/parcels"])
async def test_an_offset_beyond_what_a_list_request_carries_is_400(
    client: TestClient, admin_token: str, path: str
) -> None:
    response = await client.get(path, params={"offset": str(2**31)}, headers=bearer(admin_token))
    assert response.status == 400
    assert "offset must be an integer between 0 and 2147483647" in (await response.json())["error"]


async def test_json_body_over_one_mib_is_413(client: TestClient, admin_token: str) -> None:
    body = b'{"type": "geocoding", "data": {"pad": "' + b"x" * (1024 * 1024) + b'"}}'
    response = await client.post(
        "/api/v1/jobs", data=body, headers={**bearer(admin_token), "Content-Type": "application/json"}
    )
    assert response.status == 413
    assert response.content_type == "application/json"
    assert "error" in await response.json()


async def test_coordinator_down_is_503_json(
    make_client: ClientFactory, gateway_settings: Settings, admin_token: str
) -> None:
    client = await make_client(gateway_settings, coordinator_grpc_addr=f"127.0.0.1:{closed_port()}")
    response = await client.get("/api/v1/jobs", headers=bearer(admin_token))
    assert response.status == 503
    body = await response.json()
    assert body["success"] is False
    assert "127.0.0.1" not in body["error"]  # no transport details leak
    assert response.headers["Retry-After"] == "5"


async def test_a_coordinator_whose_database_is_down_is_503_json_with_retry_after(
    make_client: ClientFactory, settings: Settings, admin_token: str, fault_proxy: ProxyStarter
) -> None:
    database_link = fault_proxy("127.0.0.1:5432")
    coordinator = await start_coordinator(
        settings.with_overrides(database_url=through(settings.database_url, database_link)), "127.0.0.1:0"
    )
    try:
        client = await make_client(settings, coordinator_grpc_addr=f"127.0.0.1:{coordinator.port}")
        database_link.refuse()
        database_link.sever()
        response = await client.get("/api/v1/jobs", headers=bearer(admin_token))
        assert response.status == 503
        assert response.headers["Retry-After"] == "5"
        body = await response.json()
        assert (body["success"], body["error"]) == (
            False,
            "A backend service is unavailable; try again later",
        )
    finally:
        await coordinator.stop(grace=0.5)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (grpc.StatusCode.NOT_FOUND, 404),
        (grpc.StatusCode.INVALID_ARGUMENT, 400),
        (grpc.StatusCode.FAILED_PRECONDITION, 400),
        (grpc.StatusCode.ALREADY_EXISTS, 409),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, 413),
        (grpc.StatusCode.UNAVAILABLE, 503),
        (grpc.StatusCode.DEADLINE_EXCEEDED, 504),
    ],
)
def test_grpc_status_table_maps_each_code(code: grpc.StatusCode, status: int) -> None:
    assert HTTP_STATUS_FOR_GRPC[code] == status
