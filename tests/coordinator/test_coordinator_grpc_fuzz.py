"""Hostile requests, seeded, to every coordinator RPC an internal service may call: each gets an
answer or a status that names the caller's mistake, never INTERNAL or UNKNOWN."""

from __future__ import annotations

import json
import random
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest

from cocoa.coordinator.v1 import coordinator_pb2 as pb
from cocoa.coordinator.v1 import coordinator_pb2_grpc as pb_grpc

CALLERS_MISTAKES = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ALREADY_EXISTS,
}
TEXT = ["", " ", "geocoding", "import_voters", "parcel_import", "x" * 300, "a\x00b", "ü" * 40, "' OR 1=1 --",
        "c" * 25, "../../etc/passwd", "\u202e", "9" * 40]  # fmt: skip
INTS = [0, -1, 1, 7, 2**31 - 1, -(2**31)]
LONGS = [0, -1, 2**63 - 1, -(2**63)]


def text(rng: random.Random) -> str:
    return rng.choice(TEXT)


def data_json(rng: random.Random) -> str:
    return rng.choice(
        [
            "", "{}", "[]", "null", "{", '{"a": "\\u0000"}', json.dumps({"uploadId": text(rng)}),
            json.dumps({"filters": {"city": text(rng)}, "limit": rng.choice(INTS)}), "x" * 2_000_000,
            json.dumps({"items": rng.choice(INTS)}), "[" * 50_000,
        ]
    )  # fmt: skip


def requests(rng: random.Random, job_id: str) -> list[tuple[str, Any]]:
    some_id = rng.choice([job_id, text(rng)])
    return [
        ("CreateJob", pb.CreateJobRequest(
            type=text(rng), data_json=data_json(rng), created_by_id=text(rng),
            idempotency_key=text(rng), priority=rng.choice(INTS), is_dynamic=rng.random() < 0.5,
            depends_on=[rng.choice([job_id, text(rng)]) for _ in range(rng.choice([0, 1, 2, 25]))])),
        ("GetJob", pb.GetJobRequest(id=some_id, include_errors=rng.random() < 0.5)),
        ("ListJobs", pb.ListJobsRequest(
            statuses=[rng.choice([0, 1, 3, 6, 99, -5]) for _ in range(rng.randint(0, 3))],
            types=[text(rng) for _ in range(rng.randint(0, 3))], created_by_id=text(rng),
            limit=rng.choice(INTS), offset=rng.choice(INTS), include_errors=rng.random() < 0.5)),
        ("ControlJob", pb.ControlJobRequest(id=some_id, action=rng.choice([0, 1, 2, 3, 42, -1]))),
        ("BulkControlJobs", pb.BulkControlRequest(
            action=rng.choice([0, 1, 2, 3, 4, 42]), ids=[some_id for _ in range(rng.choice([0, 1, 3, 250]))],
            statuses=[rng.choice([0, 1, 3, 6, 99]) for _ in range(rng.randint(0, 2))],
            types=[text(rng) for _ in range(rng.randint(0, 2))], created_by_id=text(rng),
            limit=rng.choice(INTS), requested_by_id=text(rng))),
        ("SetQueuePaused", pb.SetQueuePausedRequest(
            type=text(rng), paused=rng.random() < 0.5, requested_by_id=text(rng))),
        ("CreateSchedule", pb.CreateScheduleRequest(
            name=text(rng), cron=rng.choice(["* * * * *", "0 2 * * *", text(rng), "*/0 * * * *", "@reboot"]),
            timezone=rng.choice(["", "UTC", text(rng)]), type=text(rng), data_json=data_json(rng),
            priority=rng.choice(INTS), created_by_id=text(rng))),
        ("GetSchedule", pb.ScheduleRequest(id=some_id)),
        ("SetSchedulePaused", pb.SetSchedulePausedRequest(id=some_id, paused=rng.random() < 0.5)),
        ("DeleteSchedule", pb.ScheduleRequest(id=some_id)),
        ("ListItemErrors", pb.ListItemErrorsRequest(
            job_id=some_id, limit=rng.choice(INTS), after_seq=rng.choice(LONGS))),
    ]  # fmt: skip


async def outcome(call: Callable[..., Awaitable[Any]], request: Any) -> tuple[grpc.StatusCode, str]:
    try:
        await call(request, timeout=10)
    except grpc.aio.AioRpcError as exc:
        return exc.code(), exc.details() or ""
    return grpc.StatusCode.OK, ""


async def answered(call: Callable[..., Awaitable[Any]], request: Any) -> None:
    code, details = await outcome(call, request)
    assert code == grpc.StatusCode.OK or code in CALLERS_MISTAKES, f"{code}: {details} for {request!r:.300}"
    assert code == grpc.StatusCode.OK or details


@pytest.mark.parametrize("seed", range(6))
async def test_hostile_requests_get_answers_or_the_callers_mistake(
    stub: pb_grpc.CoordinatorServiceStub, seed: int
) -> None:
    job = (await stub.CreateJob(pb.CreateJobRequest(type="geocoding", data_json="{}"))).job
    rng = random.Random(seed)
    for _ in range(25):
        for method, request in requests(rng, job.id):
            await answered(getattr(stub, method), request)


@pytest.mark.parametrize("seed", range(3))
async def test_hostile_watch_requests_end_with_an_answer_or_the_callers_mistake(
    stub: pb_grpc.CoordinatorServiceStub, seed: int
) -> None:
    job = (await stub.CreateJob(pb.CreateJobRequest(type="geocoding", data_json="{}"))).job
    await stub.ControlJob(pb.ControlJobRequest(id=job.id, action=pb.CONTROL_ACTION_CANCEL))
    rng = random.Random(seed)
    for _ in range(20):
        request = pb.WatchJobRequest(id=rng.choice([job.id, text(rng)]), after_seq=rng.choice(LONGS))

        async def watch(request: pb.WatchJobRequest, timeout: float) -> None:
            [event async for event in stub.WatchJob(request, timeout=timeout)]

        await answered(watch, request)
