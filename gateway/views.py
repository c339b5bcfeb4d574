"""The JSON shapes of the contract, built from protobuf messages."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import Message

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa.geocoder.v1 import geocoder_pb2 as gpb
from cocoa.importer.v1 import importer_pb2 as ipb
from cocoa_common import jobtypes as jt
from cocoa_common.ids import iso
from cocoa_common.models import User

STATUS_NAMES: dict[int, str] = {
    cpb.JOB_STATUS_PENDING: jt.PENDING,
    cpb.JOB_STATUS_PROCESSING: jt.PROCESSING,
    cpb.JOB_STATUS_PAUSED: jt.PAUSED,
    cpb.JOB_STATUS_COMPLETED: jt.COMPLETED,
    cpb.JOB_STATUS_FAILED: jt.FAILED,
    cpb.JOB_STATUS_CANCELLED: jt.CANCELLED,
}
STATUS_VALUES: dict[str, int] = {name: value for value, name in STATUS_NAMES.items()}
ERROR_LOG_SIZE = 100

UserRef = dict[str, str]


def timestamp(message: Message, name: str) -> str | None:
    """An ISO-8601 UTC string of a Timestamp field, None when unset."""
    if not message.HasField(name):
        return None
    return iso(getattr(message, name).ToDatetime(tzinfo=UTC))


def user_ref(user: User) -> UserRef:
    return {"id": user.id, "email": user.email, "name": user.name}


def status_name(job: cpb.Job) -> str:
    return STATUS_NAMES.get(job.status, "unknown")


def is_terminal(job: cpb.Job) -> bool:
    return status_name(job) in jt.TERMINAL


def progress_percent(job: cpb.Job) -> int:
    """100 once terminal, at most 99 before."""
    if is_terminal(job):
        return 100
    if not job.has_total or job.total_items <= 0:
        return 0
    done = job.processed_items + job.failed_items
    return max(0, min(99, done * 100 // job.total_items))


def eta_seconds(job: cpb.Job) -> int | None:
    """Seconds left at the recent rate; None unless processing with a known total and rate."""
    if status_name(job) != jt.PROCESSING or not job.has_total or job.items_per_second <= 0:
        return None
    done = job.processed_items + job.failed_items
    # The coordinator's rate counts successes only; failed items take time too.
    rate = job.items_per_second * done / job.processed_items if job.processed_items else job.items_per_second
    return math.ceil(max(0, job.total_items - done) / rate)


def json_object_or_empty(raw: str) -> dict[str, Any]:
    """A JSON object stored as text, or {} when it is empty or not an object."""
    try:
        value = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _row_of(item_ref: str) -> int | None:
    _, sep, number = item_ref.partition("row:")
    return int(number) if sep and number.strip().isdigit() else None


def item_error(error: cpb.ItemError, job_type: str) -> dict[str, Any]:
    """The contract's per-type shape: geocoding ``{householdId, address, error, timestamp}``,
    imports ``{row, field, error, timestamp}``."""
    detail = json_object_or_empty(error.detail_json)
    if jt.canonical(job_type) == jt.GEOCODING:
        shape = {
            "householdId": detail.get("householdId", error.item_ref or None),
            "address": detail.get("address"),
        }
    else:
        shape = {"row": detail.get("row", _row_of(error.item_ref)), "field": detail.get("field")}
    return {**shape, "error": error.message, "timestamp": timestamp(error, "created_at")}


def ledger_entry(error: cpb.ItemError, job_type: str) -> dict[str, Any]:
    """An item error of the paginated ledger: the per-type shape plus its position and code."""
    return {"seq": error.seq, "itemRef": error.item_ref, "code": error.code, **item_error(error, job_type)}


def error_log(job: cpb.Job) -> str | None:
    """``errorLog``: a JSON string of the latest item errors, or None when there are none."""
    if not job.recent_errors:
        return None
    entries = [item_error(e, job.type) for e in job.recent_errors[:ERROR_LOG_SIZE]]
    return json.dumps(entries, separators=(",", ":"))


def job_json(job: cpb.Job, users: Mapping[str, UserRef]) -> dict[str, Any]:
    """The job object: the documents' keys first, then cocoa-jobs' additions."""
    return {
        "id": job.id,
        "type": job.type,
        "status": status_name(job),
        "totalItems": job.total_items if job.has_total else 0,
        "processedItems": job.processed_items,
        "data": job.data_json or "{}",
        "errorLog": error_log(job),
        "createdBy": users.get(job.created_by_id) if job.created_by_id else None,
        "createdAt": timestamp(job, "created_at"),
        "startedAt": timestamp(job, "started_at"),
        "completedAt": timestamp(job, "completed_at"),
        "progress": progress_percent(job),
        "failedItems": job.failed_items,
        "isDynamic": job.is_dynamic,
        "outputStats": json_object_or_empty(job.output_stats_json),
        "updatedAt": timestamp(job, "updated_at"),
        "attempt": job.attempt,
        "cancelRequested": job.HasField("cancel_requested_at"),
        "etaSeconds": eta_seconds(job),
        "failureReason": job.failure_reason or None,
        "retryOf": job.retry_of or None,
        "priority": job.priority,  # higher runs first
        "group": job.group or None,  # jobs of different groups take turns at their queue
        "maxAttempts": job.max_attempts,
        "timeoutSeconds": whole_or_fraction(job.timeout_seconds),  # how long an attempt may run
        # A pending job that was delayed (runAt) or is backing off after a transient failure, until
        # that time has come.
        "notBefore": not_before(job),
        "expiresAt": timestamp(job, "expires_at"),  # cancelled if it has not started by then
        # Jobs that must complete before this one runs, and those of them that have not yet.
        "dependsOn": list(job.depends_on),
        "waitingFor": list(job.waiting_for),
    }


def history_event_json(event: cpb.JobEvent, users: Mapping[str, UserRef]) -> dict[str, Any]:
    """One event of ``GET /jobs/{id}/history``."""
    return {
        "id": event.seq,
        "kind": event.kind,
        "at": timestamp(event, "created_at"),
        "detail": event.detail or None,
        "by": users.get(event.by_id) if event.by_id else None,
    }


def not_before(job: cpb.Job) -> str | None:
    """When a pending job that is not due yet may run; None once that time has passed."""
    if job.status != cpb.JOB_STATUS_PENDING or not job.HasField("available_at"):
        return None
    if job.available_at.ToDatetime(tzinfo=UTC) <= datetime.now(UTC):
        return None
    return timestamp(job, "available_at")


def progress_json(job: cpb.Job) -> dict[str, Any]:
    """The body of ``GET /jobs/{id}/progress`` (inside ``{"success": true, "progress": ...}``)."""
    return {
        "status": status_name(job),
        "percentage": progress_percent(job),
        "processedItems": job.processed_items,
        "totalItems": job.total_items if job.has_total else 0,
        "failedItems": job.failed_items,
        "etaSeconds": eta_seconds(job),
        "startedAt": timestamp(job, "started_at"),
        "completedAt": timestamp(job, "completed_at"),
        "errors": [item_error(e, job.type) for e in job.recent_errors],
    }


def _opt(value: str) -> str | None:
    return value or None


def household_json(h: gpb.Household) -> dict[str, Any]:
    return {
        "id": h.id,
        "houseNumber": h.house_number,
        "preDirection": _opt(h.pre_direction),
        "streetName": h.street_name,
        "streetSuffix": _opt(h.street_suffix),
        "postDirection": _opt(h.post_direction),
        "unitType": _opt(h.unit_type),
        "unit": _opt(h.unit),
        "city": h.city,
        "state": h.state,
        "zipCode": h.zip_code,
        "county": _opt(h.county),
        "precinctNumber": _opt(h.precinct_number),
        "fullAddress": h.full_address,
        "personCount": h.person_count,
        "latitude": h.latitude if h.has_coordinates else None,
        "longitude": h.longitude if h.has_coordinates else None,
        "geocoded": h.geocoded,
        "geocodedAt": timestamp(h, "geocoded_at"),
        "geocodingProvider": _opt(h.geocoding_provider),
        "geocodePrecision": _opt(h.geocode_precision),
        "geocodeConfidence": h.geocode_confidence if h.has_confidence else None,
        "geocodeError": _opt(h.geocode_error),
        "parcelId": _opt(h.parcel_id),
    }


def geocode_result_json(r: gpb.GeocodeResult) -> dict[str, Any]:
    return {
        "id": _opt(r.id),
        "input": r.input,
        "matched": r.matched,
        "latitude": r.latitude if r.has_coordinates else None,
        "longitude": r.longitude if r.has_coordinates else None,
        "precision": _opt(r.precision),
        "confidence": r.confidence if r.matched else None,
        "matchedAddress": _opt(r.matched_address),
        "provider": _opt(r.provider),
        "error": _opt(r.error),
    }


def voter_format_json(f: ipb.VoterFormat) -> dict[str, Any]:
    return {
        "id": f.id,
        "name": f.name,
        "description": f.description,
        "supportedExtensions": list(f.supported_extensions),
        "supportsIncremental": f.supports_incremental,
    }


def parcel_json(p: ipb.Parcel) -> dict[str, Any]:
    """A parcel of ``GET /gis/parcels``: the documents' keys, then state, owner and land use."""
    return {
        "id": p.id,
        "apn": p.apn,
        "source": p.source,
        "houseNumber": _opt(p.house_number),
        "preDirection": _opt(p.pre_direction),
        "streetName": _opt(p.street_name),
        "streetSuffix": _opt(p.street_suffix),
        "postDirection": _opt(p.post_direction),
        "unit": _opt(p.unit),
        "fullAddress": _opt(p.full_address),
        "city": _opt(p.city),
        "zipCode": _opt(p.zip_code),
        "centroidLatitude": p.centroid_latitude if p.has_centroid else None,
        "centroidLongitude": p.centroid_longitude if p.has_centroid else None,
        "householdCount": p.household_count,
        "state": _opt(p.state),
        "ownerName": _opt(p.owner_name),
        "landUse": _opt(p.land_use),
    }


def voter_json(v: ipb.Voter) -> dict[str, Any]:
    """A voter of ``GET /voters``: optional fields are null when the file left them empty."""
    return {
        "id": v.id,
        "source": v.source,
        "voterId": v.source_voter_id,
        "firstName": v.first_name,
        "middleName": _opt(v.middle_name),
        "lastName": v.last_name,
        "nameSuffix": _opt(v.name_suffix),
        "birthYear": v.birth_year or None,
        "gender": _opt(v.gender),
        "party": _opt(v.party),
        "status": _opt(v.status),
        "registrationDate": _opt(v.registration_date),
        "email": _opt(v.email),
        "phone": _opt(v.phone),
        "residentialAddress": v.residential_address,
        "city": v.city,
        "state": v.state,
        "zipCode": v.zip_code,
        "county": _opt(v.county),
        "precinctNumber": _opt(v.precinct),
        "mailingAddress": _opt(v.mailing_address),
        "householdId": _opt(v.household_id),
        "addressFlag": _opt(v.address_flag),
        "addressFlagReason": _opt(v.address_flag_reason),
        "updatedAt": timestamp(v, "updated_at"),
    }


def pagination(limit: int, offset: int, returned: int, total: int) -> dict[str, int]:
    return {"limit": limit, "offset": offset, "remaining": max(0, total - offset - returned)}


def jobs_page(jobs: Sequence[cpb.Job], users: Mapping[str, UserRef]) -> list[dict[str, Any]]:
    return [job_json(j, users) for j in jobs]


def _pause_json(stats: cpb.TypeStats | cpb.GroupStats, users: Mapping[str, UserRef]) -> dict[str, Any]:
    """Whether a queue or a group is paused, since when and by whom."""
    return {
        "paused": stats.HasField("paused_at"),
        "pausedAt": timestamp(stats, "paused_at"),
        "pausedBy": users.get(stats.paused_by_id) if stats.paused_by_id else None,
    }


def queue_json(stats: cpb.TypeStats, users: Mapping[str, UserRef]) -> dict[str, Any]:
    """A job type's queue: paused or not, its live jobs by status, its wait and its workers."""
    return {
        "type": stats.type,
        **_pause_json(stats, users),
        "jobs": dict(sorted(stats.jobs_by_status.items())),
        "oldestPendingSeconds": round(stats.oldest_pending_age_seconds, 3),
        "workers": stats.workers,
        "workerSlots": stats.worker_slots,
        "concurrency": stats.concurrency,
        "concurrencySet": stats.concurrency_set,
    }


def group_json(stats: cpb.GroupStats, users: Mapping[str, UserRef]) -> dict[str, Any]:
    """A job group: its unfinished jobs by status, and whether (since when, by whom) it is paused."""
    return {
        "group": stats.group,
        **_pause_json(stats, users),
        "jobs": dict(sorted(stats.jobs_by_status.items())),
    }


def worker_json(worker: cpb.WorkerInfo) -> dict[str, Any]:
    """A connected worker process and the jobs it holds."""
    return {
        "id": worker.worker_id,
        "service": worker.service,
        "types": list(worker.job_types),
        "capacity": worker.capacity,
        "jobIds": list(worker.job_ids),
        "connectedAt": timestamp(worker, "connected_at"),
        "lastSeenAt": timestamp(worker, "last_seen_at"),
        "address": worker.peer or None,
        "draining": worker.draining,
    }


def schedule_json(schedule: cpb.Schedule, users: Mapping[str, UserRef]) -> dict[str, Any]:
    """A recurring job's schedule: its cron time, the job it creates, and how its last time went."""
    return {
        "id": schedule.id,
        "name": schedule.name,
        "cron": schedule.cron,
        "timezone": schedule.timezone,
        "type": schedule.type,
        "data": schedule.data_json,
        "isDynamic": schedule.is_dynamic,
        "priority": schedule.priority,
        "maxAttempts": schedule.max_attempts or None,  # of each job it creates; null: the defaults
        "timeoutSeconds": schedule.timeout_seconds or None,
        "expiresAfterSeconds": schedule.expires_after_seconds or None,  # each job must start within
        "group": schedule.group or None,  # of each job it creates
        "createdBy": users.get(schedule.created_by_id) if schedule.created_by_id else None,
        "paused": schedule.HasField("paused_at"),
        "pausedAt": timestamp(schedule, "paused_at"),
        "nextRunAt": timestamp(schedule, "next_run_at"),
        "lastRunAt": timestamp(schedule, "last_run_at"),
        "lastJobId": schedule.last_job_id or None,
        "lastError": schedule.last_error or None,
        "skippedRuns": schedule.skipped_runs,
        "createdAt": timestamp(schedule, "created_at"),
        "updatedAt": timestamp(schedule, "updated_at"),
    }


def whole_or_fraction(value: float) -> int | float:
    """3600.0 as 3600 in JSON; a fraction (a test's 0.5 s timeout) as it is."""
    return int(value) if value.is_integer() else value
