"""ListJobs search and time range (and a bulk action over a search), through the real coordinator."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from cocoa.coordinator.v1 import coordinator_pb2 as pb
from cocoa.coordinator.v1 import coordinator_pb2_grpc as pb_grpc


async def create(stub: pb_grpc.CoordinatorServiceStub, **data: object) -> pb.Job:
    request = pb.CreateJobRequest(type="geocoding", data_json=json.dumps(data))
    return (await stub.CreateJob(request)).job


async def found(stub: pb_grpc.CoordinatorServiceStub, **request: object) -> list[str]:
    response = await stub.ListJobs(pb.ListJobsRequest(limit=50, **request))  # type: ignore[arg-type]
    return [j.id for j in response.jobs]


def stamp(when: datetime) -> Timestamp:
    value = Timestamp()
    value.FromDatetime(when)
    return value


async def test_search_finds_jobs_by_text_in_their_input_whatever_its_case(
    stub: pb_grpc.CoordinatorServiceStub,
) -> None:
    durham = await create(stub, filters={"city": "Durham"})
    await create(stub, filters={"city": "Raleigh"})
    assert await found(stub, search="DURHAM") == [durham.id]


async def test_search_finds_a_job_by_its_id(stub: pb_grpc.CoordinatorServiceStub) -> None:
    job = await create(stub)
    await create(stub)
    assert await found(stub, search=job.id) == [job.id]


async def test_search_finds_jobs_by_their_failure_reason(stub: pb_grpc.CoordinatorServiceStub) -> None:
    job = await create(stub)
    await create(stub)
    dependent = await stub.CreateJob(
        pb.CreateJobRequest(type="geocoding", data_json="{}", depends_on=[job.id])
    )
    await stub.ControlJob(pb.ControlJobRequest(id=job.id, action=pb.CONTROL_ACTION_CANCEL))
    for _ in range(60):  # the sweep cancels the dependent within a second
        if await found(stub, search="Dependency"):
            break
        await asyncio.sleep(0.05)
    assert await found(stub, search="dependency " + job.id) == [dependent.job.id]


async def test_percent_and_underscore_in_a_search_are_plain_characters(
    stub: pb_grpc.CoordinatorServiceStub,
) -> None:
    literal = await create(stub, note="100%_done")
    await create(stub, note="1000 done")
    assert await found(stub, search="100%_") == [literal.id]


async def test_a_time_range_bounds_the_list(stub: pb_grpc.CoordinatorServiceStub) -> None:
    job = await create(stub)
    created = job.created_at.ToDatetime(tzinfo=UTC)
    assert await found(stub, created_after=stamp(created)) == [job.id]
    assert await found(stub, created_after=stamp(created + timedelta(milliseconds=1))) == []
    assert await found(stub, created_before=stamp(created)) == []
    assert await found(stub, created_before=stamp(datetime.now(UTC) + timedelta(minutes=1))) == [job.id]


async def test_a_search_over_200_characters_is_refused(stub: pb_grpc.CoordinatorServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await found(stub, search="x" * 201)
    assert info.value.details() == "search is at most 200 characters"


async def test_a_bulk_action_may_act_on_a_search(stub: pb_grpc.CoordinatorServiceStub) -> None:
    durham = await create(stub, filters={"city": "Durham"})
    raleigh = await create(stub, filters={"city": "Raleigh"})
    response = await stub.BulkControlJobs(
        pb.BulkControlRequest(action=pb.BULK_ACTION_CANCEL, search="durham")
    )
    assert [r.id for r in response.results] == [durham.id]
    assert (await stub.GetJob(pb.GetJobRequest(id=raleigh.id))).status == pb.JOB_STATUS_PENDING
