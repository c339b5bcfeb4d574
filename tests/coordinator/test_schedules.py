"""Schedules: cron-driven recurring jobs, through the real coordinator and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import grpc
import psycopg
import pytest
from cronsim import CronSim

from cocoa.coordinator.v1 import coordinator_pb2 as pb
from cocoa.coordinator.v1 import coordinator_pb2_grpc as pb_grpc
from cocoa_coordinator.server import CoordinatorApp

GEOCODE_NIGHTLY = {
    "name": "Nightly geocode of Durham",
    "cron": "0 2 * * *",
    "timezone": "America/New_York",
    "type": "geocoding",
    "data_json": json.dumps({"filters": {"city": "Durham"}, "limit": 500}),
    "priority": 4,
    "created_by_id": "u1",
}


async def create(stub: pb_grpc.CoordinatorServiceStub, **changes: object) -> pb.Schedule:
    return await stub.CreateSchedule(pb.CreateScheduleRequest(**{**GEOCODE_NIGHTLY, **changes}))  # type: ignore[arg-type]


async def refusal(stub: pb_grpc.CoordinatorServiceStub, **changes: object) -> tuple[str, str]:
    """(details, field) of a refused CreateSchedule."""
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await create(stub, **changes)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    field = dict(info.value.trailing_metadata() or ()).get("cocoa-field", "")
    return info.value.details() or "", str(field)


def make_due(database_url: str, schedule_id: str, ago: timedelta = timedelta(seconds=1)) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE job_schedules SET next_run_at = %s WHERE id = %s", (datetime.now(UTC) - ago, schedule_id)
        )


async def run_when_due(coordinator: CoordinatorApp, database_url: str, schedule_id: str) -> None:
    """Make the schedule due and let the coordinator run its due schedules once."""
    make_due(database_url, schedule_id)
    await coordinator.schedules.run_due()


async def get(stub: pb_grpc.CoordinatorServiceStub, schedule_id: str) -> pb.Schedule:
    return await stub.GetSchedule(pb.ScheduleRequest(id=schedule_id))


async def test_a_schedule_s_next_time_is_its_cron_time_in_its_time_zone(
    stub: pb_grpc.CoordinatorServiceStub,
) -> None:
    schedule = await create(stub)
    new_york = ZoneInfo("America/New_York")
    expected = next(CronSim("0 2 * * *", datetime.now(new_york))).astimezone(UTC)
    assert schedule.next_run_at.ToDatetime(tzinfo=UTC) == expected
    assert (schedule.name, schedule.cron, schedule.timezone) == (
        "Nightly geocode of Durham",
        "0 2 * * *",
        "America/New_York",
    )
    assert not schedule.HasField("paused_at")


async def test_a_due_schedule_creates_its_job_and_moves_to_its_next_time(
    stub: pb_grpc.CoordinatorServiceStub, coordinator: CoordinatorApp, database_url: str
) -> None:
    schedule = await create(stub)
    await run_when_due(coordinator, database_url, schedule.id)
    after = await get(stub, schedule.id)
    job = await stub.GetJob(pb.GetJobRequest(id=after.last_job_id))
    assert (job.type, job.priority, job.created_by_id) == ("geocoding", 4, "u1")
    assert json.loads(job.data_json) == {"filters": {"city": "Durham"}, "limit": 500}
    assert after.HasField("last_run_at")
    assert after.next_run_at.ToDatetime(tzinfo=UTC) > datetime.now(UTC)
    assert after.last_error == ""


async def test_the_jobs_a_schedule_creates_take_its_limits(
    stub: pb_grpc.CoordinatorServiceStub, coordinator: CoordinatorApp, database_url: str
) -> None:
    schedule = await create(stub, max_attempts=6, timeout_seconds=1800)
    assert (schedule.max_attempts, schedule.timeout_seconds) == (6, 1800)
    await run_when_due(coordinator, database_url, schedule.id)
    job = await stub.GetJob(pb.GetJobRequest(id=(await get(stub, schedule.id)).last_job_id))
    assert (job.max_attempts, job.timeout_seconds) == (6, 1800)


async def test_the_jobs_a_schedule_creates_must_start_within_its_expiry(
    stub: pb_grpc.CoordinatorServiceStub, coordinator: CoordinatorApp, database_url: str
) -> None:
    schedule = await create(stub, expires_after_seconds=7200)
    assert schedule.expires_after_seconds == 7200
    await run_when_due(coordinator, database_url, schedule.id)
    job = await stub.GetJob(pb.GetJobRequest(id=(await get(stub, schedule.id)).last_job_id))
    expected = datetime.now(UTC) + timedelta(hours=2)
    assert job.expires_at.ToDatetime(tzinfo=UTC) == pytest.approx(expected, abs=timedelta(seconds=5))


async def test_the_jobs_a_schedule_creates_are_in_its_group(
    stub: pb_grpc.CoordinatorServiceStub, coordinator: CoordinatorApp, database_url: str
) -> None:
    schedule = await create(stub, group="durham")
    assert schedule.group == "durham"
    await run_when_due(coordinator, database_url, schedule.id)
    job = await stub.GetJob(pb.GetJobRequest(id=(await get(stub, schedule.id)).last_job_id))
    assert job.group == "durham"


async def test_the_coordinator_runs_due_schedules_by_itself(
    stub: pb_grpc.CoordinatorServiceStub, database_url: str
) -> None:
    schedule = await create(stub)
    make_due(database_url, schedule.id)
    for _ in range(50):  # the coordinator looks every second
        if (await get(stub, schedule.id)).last_job_id:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the due schedule created no job within 5 s")


async def test_a_time_is_skipped_while_the_last_job_is_unfinished(
    stub: pb_grpc.CoordinatorServiceStub, coordinator: CoordinatorApp, database_url: str
) -> None:
    schedule = await create(stub)
    await run_when_due(coordinator, database_url, schedule.id)
    first = (await get(stub, schedule.id)).last_job_id
    await run_when_due(coordinator, database_url, schedule.id)
    after = await get(stub, schedule.id)
    assert (after.last_job_id, after.skipped_runs) == (first, 1)
    jobs = (await stub.ListJobs(pb.ListJobsRequest(limit=10))).jobs
    assert [j.id for j in jobs] == [first]


async def test_a_time_after_the_last_job_finished_creates_the_next_job(
    stub: pb_grpc.CoordinatorServiceStub, coordinator: CoordinatorApp, database_url: str
) -> None:
    schedule = await create(stub)
    await run_when_due(coordinator, database_url, schedule.id)
    first = (await get(stub, schedule.id)).last_job_id
    await stub.ControlJob(pb.ControlJobRequest(id=first, action=pb.CONTROL_ACTION_CANCEL))
    await run_when_due(coordinator, database_url, schedule.id)
    assert (await get(stub, schedule.id)).last_job_id not in ("", first)


async def test_times_missed_while_the_coordinator_was_down_are_not_made_up(
    stub: pb_grpc.CoordinatorServiceStub, coordinator: CoordinatorApp, database_url: str
) -> None:
    schedule = await create(stub, cron="*/5 * * * *")
    make_due(database_url, schedule.id, ago=timedelta(days=3))
    await coordinator.schedules.run_due()
    await coordinator.schedules.run_due()
    assert len((await stub.ListJobs(pb.ListJobsRequest(limit=10))).jobs) == 1
    next_run = (await get(stub, schedule.id)).next_run_at.ToDatetime(tzinfo=UTC)
    assert timedelta(0) < next_run - datetime.now(UTC) <= timedelta(minutes=5)


async def test_a_paused_schedule_creates_nothing_and_resumes_from_now(
    stub: pb_grpc.CoordinatorServiceStub, coordinator: CoordinatorApp, database_url: str
) -> None:
    schedule = await create(stub)
    paused = await stub.SetSchedulePaused(pb.SetSchedulePausedRequest(id=schedule.id, paused=True))
    assert paused.HasField("paused_at")
    await run_when_due(coordinator, database_url, schedule.id)
    assert (await get(stub, schedule.id)).last_job_id == ""
    resumed = await stub.SetSchedulePaused(pb.SetSchedulePausedRequest(id=schedule.id, paused=False))
    assert not resumed.HasField("paused_at")
    assert resumed.next_run_at.ToDatetime(tzinfo=UTC) > datetime.now(UTC)


async def test_a_time_whose_job_cannot_be_created_says_why_and_the_schedule_goes_on(
    stub: pb_grpc.CoordinatorServiceStub,
    coordinator: CoordinatorApp,
    database_url: str,
    record_upload: Callable[..., str],
) -> None:
    upload_id = record_upload("voter_import")
    schedule = await create(stub, type="voter_import", data_json=json.dumps({"uploadId": upload_id}))
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE uploads SET deleted_at = now() WHERE id = %s", (upload_id,))
    await run_when_due(coordinator, database_url, schedule.id)
    after = await get(stub, schedule.id)
    assert after.last_error.startswith(f"The file of upload '{upload_id}' was removed")
    assert after.last_job_id == ""
    assert after.next_run_at.ToDatetime(tzinfo=UTC) > datetime.now(UTC)


async def test_schedules_are_listed_oldest_first(stub: pb_grpc.CoordinatorServiceStub) -> None:
    first = await create(stub, name="first")
    second = await create(stub, name="second")
    listed = (await stub.ListSchedules(pb.ListSchedulesRequest())).schedules
    assert [s.id for s in listed] == [first.id, second.id]


async def test_deleting_a_schedule_keeps_the_jobs_it_created(
    stub: pb_grpc.CoordinatorServiceStub, coordinator: CoordinatorApp, database_url: str
) -> None:
    schedule = await create(stub)
    await run_when_due(coordinator, database_url, schedule.id)
    job_id = (await get(stub, schedule.id)).last_job_id
    await stub.DeleteSchedule(pb.ScheduleRequest(id=schedule.id))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await get(stub, schedule.id)
    assert (info.value.code(), info.value.details()) == (grpc.StatusCode.NOT_FOUND, "Schedule not found")
    assert (await stub.GetJob(pb.GetJobRequest(id=job_id))).id == job_id


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"cron": "61 * * * *"}, "cron", "Invalid cron expression '61 * * * *': Bad minute"),
        ({"cron": "* * */20 * 1L"}, "cron", "The cron expression '* * */20 * 1L' names no time in the next 50 years"),
        ({"cron": ""}, "cron", "cron must be 1 to 120 characters"),
        ({"timezone": "Mars/Olympus"}, "timezone",
         "Unknown time zone: 'Mars/Olympus' (use an IANA name such as America/New_York)"),
        ({"timezone": "../../etc/passwd"}, "timezone", None),
        ({"timezone": "x" * 300}, "timezone", None),
        ({"name": "  "}, "name", "name must be 1 to 100 characters"),
        ({"type": "mailing"}, "type", None),
        ({"data_json": "[1]"}, "data", "data must be a JSON object"),
        ({"max_attempts": 40}, "maxAttempts", "maxAttempts must be an integer between 1 and 25"),
        ({"timeout_seconds": -1}, "timeoutSeconds", None),
        ({"expires_after_seconds": 2_592_001}, "expiresAfterSeconds",
         "expiresAfterSeconds must be an integer between 1 and 2592000"),
        ({"type": "voter_import", "data_json": "{}"}, "data.uploadId", None),
        ({"group": "g" * 101}, "group", "group must be at most 100 printable characters"),
    ],
)  # fmt: skip
async def test_a_bad_schedule_is_refused_naming_the_field(
    stub: pb_grpc.CoordinatorServiceStub, changes: dict[str, object], field: str, message: str | None
) -> None:
    details, named = await refusal(stub, **changes)
    assert named == field
    assert message is None or details == message
