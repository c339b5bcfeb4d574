"""Translation between the coordinator's rows and its protobuf messages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from cocoa.coordinator.v1 import coordinator_pb2 as pb
from cocoa_common import errors
from cocoa_common import jobtypes as jt
from cocoa_common.models import Job, JobEvent, JobItemError, JobSchedule
from cocoa_coordinator.repository import JobQuery, NewItemError, ProgressUpdate
from cocoa_coordinator.service import JobView

if TYPE_CHECKING:  # the dispatcher imports this module
    from cocoa_coordinator.dispatcher import WorkerConnection

STATUS_TO_PB: dict[str, pb.JobStatus.ValueType] = {
    jt.PENDING: pb.JOB_STATUS_PENDING,
    jt.PROCESSING: pb.JOB_STATUS_PROCESSING,
    jt.PAUSED: pb.JOB_STATUS_PAUSED,
    jt.COMPLETED: pb.JOB_STATUS_COMPLETED,
    jt.FAILED: pb.JOB_STATUS_FAILED,
    jt.CANCELLED: pb.JOB_STATUS_CANCELLED,
}
STATUS_FROM_PB = {value: key for key, value in STATUS_TO_PB.items()}


def timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def item_error_to_pb(error: JobItemError) -> pb.ItemError:
    return pb.ItemError(
        seq=error.id,
        job_id=error.job_id,
        item_ref=error.item_ref,
        code=error.code,
        message=error.message,
        detail_json=error.detail,
        created_at=timestamp(error.created_at),
    )


def job_query_of(request: pb.ListJobsRequest | pb.BulkControlRequest) -> JobQuery:
    """The job filter a list and a bulk action share: statuses, types, creator, search, creation time."""
    return JobQuery(
        statuses=[STATUS_FROM_PB.get(s, "") for s in request.statuses],
        types=list(request.types),
        created_by_id=request.created_by_id or None,
        search=request.search,
        created_after=time_of(request, "created_after"),
        created_before=time_of(request, "created_before"),
        group=jt.group_of(request.group),
    )


def event_to_pb(event: JobEvent, job: pb.Job | None = None) -> pb.JobEvent:
    """A lifecycle event; a watcher's carries the job as it is after it, a history's does not."""
    return pb.JobEvent(
        seq=event.id,
        kind=event.kind,
        job=job,
        created_at=timestamp(event.created_at),
        detail=event.detail or "",
        by_id=event.by_id or "",
    )


JOB_TIMES = (
    "created_at",
    "started_at",
    "completed_at",
    "updated_at",
    "heartbeat_at",
    "lease_expires_at",
    "cancel_requested_at",
    "available_at",
    "expires_at",
)


def time_of(message: Message, name: str) -> datetime | None:
    """A Timestamp field as an aware datetime, None when unset; 400 when out of range."""
    if not message.HasField(name):
        return None
    try:
        return getattr(message, name).ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise errors.InvalidArgument(f"{name} is not a valid timestamp", field=name) from None


def schedule_to_pb(schedule: JobSchedule) -> pb.Schedule:
    message = pb.Schedule(
        id=schedule.id,
        name=schedule.name,
        cron=schedule.cron,
        timezone=schedule.timezone,
        type=schedule.type,
        data_json=schedule.data,
        is_dynamic=schedule.is_dynamic,
        priority=schedule.priority,
        max_attempts=schedule.max_attempts or 0,
        timeout_seconds=schedule.timeout_seconds or 0,
        expires_after_seconds=schedule.expires_after_s or 0,
        group=schedule.group_key or "",
        created_by_id=schedule.created_by_id or "",
        last_job_id=schedule.last_job_id or "",
        last_error=schedule.last_error or "",
        skipped_runs=schedule.skipped_runs,
    )
    _copy_times(schedule, message, ("paused_at", "next_run_at", "last_run_at", "created_at", "updated_at"))
    return message


def _copy_times(row: object, message: Message, names: Sequence[str]) -> None:
    """Each of these datetime attributes that is set, into the message's Timestamp of that name."""
    for name in names:
        value = getattr(row, name)
        if value is not None:
            getattr(message, name).FromDatetime(value)


def view_to_pb(view: JobView) -> pb.Job:
    message = job_to_pb(view.job, view.recent_errors)
    message.depends_on.extend(d.job_id for d in view.dependencies)
    message.waiting_for.extend(d.job_id for d in view.dependencies if d.unfinished)
    return message


def job_to_pb(job: Job, recent_errors: Sequence[JobItemError] = ()) -> pb.Job:
    message = pb.Job(
        id=job.id,
        type=job.type,
        status=STATUS_TO_PB[job.status],
        is_dynamic=job.is_dynamic,
        total_items=job.total_items or 0,
        has_total=job.total_items is not None,
        processed_items=job.processed_items,
        failed_items=job.failed_items,
        data_json=job.data,
        output_stats_json=job.output_stats,
        checkpoint_json=job.checkpoint or "",
        created_by_id=job.created_by_id or "",
        priority=job.priority,
        idempotency_key=job.idempotency_key or "",
        attempt=job.attempt,
        max_attempts=job.max_attempts,
        timeout_seconds=job.timeout_seconds,
        failure_reason=job.failure_reason or "",
        worker_id=job.worker_id or "",
        recent_errors=[item_error_to_pb(e) for e in recent_errors],
        items_per_second=_rate(job),
        retry_of=job.retry_of or "",
        group=job.group_key or "",
    )
    _copy_times(job, message, JOB_TIMES)
    return message


def _rate(job: Job) -> float:
    """Successes per second since the job started (those a resumed retry took over do not count)."""
    done_here = job.processed_items - (job.resumed_items or 0)
    if job.started_at is None or done_here <= 0:
        return 0.0
    end = job.completed_at or job.updated_at
    seconds = (end - job.started_at).total_seconds()
    return done_here / seconds if seconds > 0 else 0.0


def progress_from_pb(message: pb.Progress) -> ProgressUpdate:
    return ProgressUpdate(
        processed_items=message.processed_items,
        failed_items=message.failed_items,
        total_items=message.total_items if message.has_total else None,
        checkpoint=message.checkpoint_json or None,
        output_stats=message.output_stats_json or None,
    )


def item_errors_from_pb(errors: Sequence[pb.ItemError]) -> list[NewItemError]:
    return [
        NewItemError(item_ref=e.item_ref, code=e.code, message=e.message, detail=e.detail_json or "{}")
        for e in errors
    ]


def worker_to_pb(conn: WorkerConnection) -> pb.WorkerInfo:
    return pb.WorkerInfo(
        worker_id=conn.worker_id,
        service=conn.service,
        job_types=sorted(conn.types),
        capacity=conn.capacity,
        job_ids=sorted(conn.leases.values()),
        connected_at=timestamp(conn.connected_at),
        last_seen_at=timestamp(conn.last_seen_at()),
        peer=conn.peer,
        draining=conn.draining,
    )
