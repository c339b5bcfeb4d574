"""A real coordinator gRPC server on a free port, its stub, and test workers that connect to it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from coordinator_helpers import counting_handler

from cocoa.coordinator.v1 import coordinator_pb2_grpc as pb_grpc
from cocoa_common import grpc_server
from cocoa_common.settings import Settings
from cocoa_common.worker import Handler, WorkerRuntime
from cocoa_coordinator.server import CoordinatorApp, start_coordinator


@pytest.fixture
async def coordinator(settings: Settings) -> AsyncIterator[CoordinatorApp]:
    app = await start_coordinator(settings, "127.0.0.1:0")
    yield app
    await app.stop(grace=0.5)


@pytest.fixture
async def stub(coordinator: CoordinatorApp) -> AsyncIterator[pb_grpc.CoordinatorServiceStub]:
    async with grpc_server.channel(f"127.0.0.1:{coordinator.port}") as channel:
        yield pb_grpc.CoordinatorServiceStub(channel)


WorkerFactory = Callable[..., Awaitable[WorkerRuntime]]


@pytest.fixture
async def start_worker(coordinator: CoordinatorApp) -> AsyncIterator[WorkerFactory]:
    """Start in-process workers (real gRPC streams to the coordinator); all are stopped at the end."""
    started: list[tuple[WorkerRuntime, asyncio.Task[None]]] = []

    async def start(
        handlers: dict[str, Handler] | None = None,
        *,
        capacity: int = 2,
        worker_id: str | None = None,
        runtime: WorkerRuntime | None = None,
    ) -> WorkerRuntime:
        """``runtime``: one built by the test (a subclass, another address) to run instead."""
        runtime = runtime or WorkerRuntime(
            f"127.0.0.1:{coordinator.port}",
            "test",
            handlers or {"geocoding": counting_handler, "voter_import": counting_handler},
            capacity=capacity,
            worker_id=worker_id,
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
