"""Builds the coordinator process: database, dispatcher, gRPC server. Tests use the same function."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import grpc

from cocoa.coordinator.v1 import coordinator_pb2_grpc as pb_grpc
from cocoa_common import db, grpc_server
from cocoa_common.settings import Settings
from cocoa_coordinator.dispatcher import Dispatcher
from cocoa_coordinator.events import EventHub
from cocoa_coordinator.lifecycle import JobLifecycle
from cocoa_coordinator.schedules import ScheduleService
from cocoa_coordinator.service import JobService
from cocoa_coordinator.servicer import CoordinatorServicer

SERVICE_NAME = "cocoa.coordinator.v1.CoordinatorService"


@dataclass
class CoordinatorApp:
    server: grpc.aio.Server
    port: int
    jobs: JobService
    dispatcher: Dispatcher
    schedules: ScheduleService
    schedules_task: asyncio.Task[None]

    async def stop(self, grace: float = 2.0) -> None:
        self.schedules_task.cancel()
        await asyncio.wait({self.schedules_task}, timeout=grace)  # bounded: shutdown must not hang
        await self.dispatcher.stop()
        await self.server.stop(grace)
        await self.dispatcher.drain()  # closing streams release their jobs' leases
        await self.jobs.sessions.kw["bind"].dispose()


async def start_coordinator(settings: Settings, addr: str | None = None) -> CoordinatorApp:
    """Start serving on ``addr`` (default: settings.coordinator_grpc_addr; ``host:0`` for a free port)."""
    engine = db.create_engine(settings.database_url)
    sessions = db.session_factory(engine)
    hub = EventHub()
    lifecycle = JobLifecycle()
    dispatcher = Dispatcher(settings, sessions, hub, lifecycle)
    jobs = JobService(
        settings, sessions, hub, on_stop=dispatcher.stop_job, on_change=dispatcher.wake, lifecycle=lifecycle
    )
    schedules = ScheduleService(sessions, jobs, settings.database_deadline_s)
    server, health = grpc_server.new_server()
    pb_grpc.add_CoordinatorServiceServicer_to_server(CoordinatorServicer(jobs, dispatcher, schedules), server)
    port = grpc_server.bind(server, addr or settings.coordinator_grpc_addr)
    await dispatcher.start()
    await server.start()
    await grpc_server.mark_serving(health, SERVICE_NAME)
    schedules_task = asyncio.create_task(schedules.run_forever())
    return CoordinatorApp(server, port, jobs, dispatcher, schedules, schedules_task)
