"""Health checks, the web page, and the gateway process itself."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from aiohttp import ClientSession
from aiohttp.test_utils import TestClient
from gateway_helpers import ClientFactory, closed_port

from cocoa_common.settings import Settings


async def test_healthz_is_200_ok(client: TestClient) -> None:
    response = await client.get("/healthz")
    assert await response.json() == {"status": "ok"}


async def test_readyz_is_200_when_coordinator_and_database_answer(client: TestClient) -> None:
    response = await client.get("/readyz")
    assert response.status == 200
    body = await response.json()
    assert (body["status"], body["coordinator"], body["database"]) == ("ready", "ok", "ok")


async def test_readyz_is_503_when_coordinator_is_down(
    make_client: ClientFactory, gateway_settings: Settings
) -> None:
    client = await make_client(gateway_settings, coordinator_grpc_addr=f"127.0.0.1:{closed_port()}")
    response = await client.get("/readyz")
    assert response.status == 503
    body = await response.json()
    assert (body["status"], body["coordinator"], body["database"]) == ("unavailable", "unavailable", "ok")


async def test_root_redirects_to_the_jobs_page(client: TestClient) -> None:
    response = await client.get("/", allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == "/jobs"


async def test_jobs_page_is_self_contained_html(client: TestClient) -> None:
    response = await client.get("/jobs")
    assert response.status == 200
    assert response.content_type == "text/html"
    page = await response.text()
    assert "/api/v1/jobs" in page
    assert "localStorage" in page
    assert "https://" not in page  # no CDN
    assert "http://" not in page


async def _wait_healthy(url: str, process: asyncio.subprocess.Process) -> None:
    async with ClientSession() as http:
        for _ in range(100):  # at most ~10 s
            if process.returncode is not None:
                raise AssertionError("gateway exited early")
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("gateway never became healthy")


async def test_gateway_process_serves_and_stops_cleanly_on_sigterm(gateway_settings: Settings) -> None:
    port = closed_port()
    env = {
        **os.environ,
        "GATEWAY_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(port),
        "DATABASE_URL": gateway_settings.database_url,
        "COORDINATOR_GRPC_ADDR": gateway_settings.coordinator_grpc_addr,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cocoa_gateway", env=env, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        await _wait_healthy(f"http://127.0.0.1:{port}/healthz", process)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
