"""Gateway fixtures: a real coordinator gRPC server, the gateway app served on 127.0.0.1 by
aiohttp's test server, users with tokens, in-process test workers, a real geocoder server and a real
importer server (uploads in tmp_path)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from gateway_helpers import ClientFactory, Sessions, WorkerFactory, add_user, closed_port

from cocoa_common import db
from cocoa_common.settings import Settings
from cocoa_common.worker import Handler, WorkerRuntime
from cocoa_coordinator.server import CoordinatorApp, start_coordinator
from cocoa_gateway.app import create_app
from cocoa_geocoder.server import GeocoderApp, start_geocoder
from cocoa_importer.server import ImporterApp, start_importer

# The coordinator tests' workloads (counting_handler) and the importer tests' sample-file writers
# (voterfiles, parcel_samples) live beside them.
for _folder in ("coordinator", "importer"):
    _path = str(Path(__file__).resolve().parent.parent / _folder)
    if _path not in sys.path:
        sys.path.append(_path)

from coordinator_helpers import counting_handler  # noqa: E402


@pytest.fixture
async def coordinator_app(settings: Settings) -> AsyncIterator[CoordinatorApp]:
    app = await start_coordinator(settings, "127.0.0.1:0")
    yield app
    await app.stop(grace=0.5)


@pytest.fixture
def gateway_settings(settings: Settings, coordinator_app: CoordinatorApp) -> Settings:
    """Test settings pointing at the test coordinator; geocoder and importer at closed ports."""
    return settings.with_overrides(
        coordinator_grpc_addr=f"127.0.0.1:{coordinator_app.port}",
        geocoder_grpc_addr=f"127.0.0.1:{closed_port()}",
        importer_grpc_addr=f"127.0.0.1:{closed_port()}",
        request_deadline_s=5.0,
    )


@pytest.fixture
def make_client(aiohttp_client: Any, settings: Settings) -> ClientFactory:
    """A gateway on 127.0.0.1:<free port> built from ``settings`` plus overrides."""

    async def make(
        base: Settings | None = None, *, token_cache_ttl_s: float = 0.0, **overrides: Any
    ) -> TestClient:
        app = create_app((base or settings).with_overrides(**overrides), token_cache_ttl_s=token_cache_ttl_s)
        return await aiohttp_client(app)

    return make


@pytest.fixture
async def client(make_client: ClientFactory, gateway_settings: Settings) -> TestClient:
    return await make_client(gateway_settings)


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[Sessions]:
    """Direct database access for seeding and for checking what the gateway wrote."""
    engine = db.create_engine(settings.database_url, pool_size=2)
    yield db.session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def admin(sessions: Sessions) -> tuple[str, str]:
    """(user id, token) of an admin."""
    return await add_user(sessions, "admin", email="admin@example.com")


@pytest.fixture
async def admin_token(admin: tuple[str, str]) -> str:
    return admin[1]


@pytest.fixture
async def viewer_token(sessions: Sessions) -> str:
    return (await add_user(sessions, "viewer", email="viewer@example.com"))[1]


@pytest.fixture
async def start_worker(coordinator_app: CoordinatorApp) -> AsyncIterator[WorkerFactory]:
    """In-process workers on real Connect streams (counting_handler by default); stopped at the end."""
    started: list[tuple[WorkerRuntime, asyncio.Task[None]]] = []

    async def start(handlers: dict[str, Handler] | None = None) -> WorkerRuntime:
        runtime = WorkerRuntime(
            f"127.0.0.1:{coordinator_app.port}",
            "test",
            handlers or {"geocoding": counting_handler, "voter_import": counting_handler},
        )
        task = asyncio.create_task(runtime.run())
        await asyncio.wait_for(runtime.connected.wait(), timeout=5)
        started.append((runtime, task))
        return runtime

    yield start
    for runtime, task in started:
        runtime._stopping = True
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


@pytest.fixture
async def geocoder_app(gateway_settings: Settings) -> AsyncIterator[GeocoderApp]:
    """The real geocoder server on a free port."""
    app = await start_geocoder(gateway_settings, "127.0.0.1:0")
    yield app
    await app.stop()


@pytest.fixture
async def geo_client(
    make_client: ClientFactory, gateway_settings: Settings, geocoder_app: GeocoderApp
) -> TestClient:
    """A gateway talking to the real coordinator and the real geocoder."""
    return await make_client(gateway_settings, geocoder_grpc_addr=f"127.0.0.1:{geocoder_app.port}")


@pytest.fixture
def import_settings(gateway_settings: Settings, tmp_path: Path) -> Settings:
    """Gateway settings whose uploads land in this test's tmp_path."""
    return gateway_settings.with_overrides(upload_dir=str(tmp_path / "uploads"))


@pytest.fixture
async def importer_app(import_settings: Settings) -> AsyncIterator[ImporterApp]:
    """The real importer on a free port, its worker connected to the test coordinator."""
    app = await start_importer(import_settings, "127.0.0.1:0")
    await asyncio.wait_for(app.worker.connected.wait(), timeout=5)
    yield app
    await app.stop(grace=0.5)


@pytest.fixture
async def import_client(
    make_client: ClientFactory, import_settings: Settings, importer_app: ImporterApp
) -> TestClient:
    """A gateway talking to the real coordinator and the real importer."""
    return await make_client(import_settings, importer_grpc_addr=f"127.0.0.1:{importer_app.port}")
