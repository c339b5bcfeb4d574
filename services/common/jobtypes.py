"""Job types, their aliases and the legal status moves: the vocabulary every service shares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp

from cocoa_common import errors
from cocoa_common.ids import utcnow

GEOCODING = "geocoding"
VOTER_IMPORT = "voter_import"
PARCEL_IMPORT = "parcel_import"

# alias -> canonical; a job keeps the name it was created under, filters accept either.
ALIASES: dict[str, str] = {
    GEOCODING: GEOCODING,
    "geocode_households": GEOCODING,
    VOTER_IMPORT: VOTER_IMPORT,
    "import_voters": VOTER_IMPORT,
    PARCEL_IMPORT: PARCEL_IMPORT,
}
KNOWN_TYPES: tuple[str, ...] = tuple(ALIASES)

PENDING = "pending"
PROCESSING = "processing"
PAUSED = "paused"
COMPLETED = "completed"
FAILED = "failed"
CANCELLED = "cancelled"
STATUSES: tuple[str, ...] = (PENDING, PROCESSING, PAUSED, COMPLETED, FAILED, CANCELLED)
TERMINAL: frozenset[str] = frozenset({COMPLETED, FAILED, CANCELLED})
# Not a status: queue statistics count pending jobs that are not due yet (delayed by runAt, or backing
# off after a transient failure) apart, so "pending" is the work ready for a worker.
SCHEDULED = "scheduled"
# Not a status either: pending jobs waiting for a job they depend on (``dependsOn``) to complete.
WAITING = "waiting"
# How many jobs one job may wait for.
MAX_DEPENDENCIES = 20
# A job's priority (higher runs first, 0 by default) lies within these bounds.
MIN_PRIORITY = -1000
MAX_PRIORITY = 1000
# A job's own limits, when it is created with them (else the coordinator's JOB_MAX_ATTEMPTS and
# JOB_TIMEOUTS / JOB_TIMEOUT_SECONDS).
MAX_ATTEMPTS_LIMIT = 25
MAX_TIMEOUT_S = 30 * 24 * 3600
# A delayed job runs within this (finished jobs are archived after 30 days by default).
MAX_DELAY = timedelta(days=30)
MAX_DELAY_S = int(MAX_DELAY.total_seconds())
# A job's group (a campaign, a county: jobs of different groups take turns) is at most this long.
MAX_GROUP_LENGTH = 100


def run_at_of(
    stamp: Timestamp, present: bool, *, name: str = "run_at", field: str = "runAt"
) -> datetime | None:
    """A gRPC ``run_at`` (or ``name``) as an aware datetime (None when the field is unset); 400
    naming ``field`` when invalid."""
    if not present:
        return None
    try:
        return stamp.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise errors.InvalidArgument(f"{name} is not a valid timestamp", field=field) from None


def check_run_at(run_at: datetime | None) -> None:
    """Refuse a delayed job's start time further ahead than MAX_DELAY."""
    if run_at is not None and run_at - utcnow() > MAX_DELAY:
        raise errors.InvalidArgument("runAt must be at most 30 days from now", field="runAt")


def check_expiry(expires_at: datetime | None, run_at: datetime | None) -> None:
    """A job's start-by time lies ahead, within MAX_DELAY, and after its ``run_at``."""
    if expires_at is None:
        return
    now = utcnow()
    if expires_at <= now:
        raise errors.InvalidArgument("expiresAt must be in the future", field="expiresAt")
    if expires_at - now > MAX_DELAY:
        raise errors.InvalidArgument("expiresAt must be at most 30 days from now", field="expiresAt")
    if run_at is not None and expires_at <= run_at:
        raise errors.InvalidArgument("expiresAt must be after runAt", field="expiresAt")


def check_expires_after(seconds: int | None) -> None:
    """A schedule's start-by delay for its jobs: 1 s to MAX_DELAY."""
    if seconds is not None and not 1 <= seconds <= MAX_DELAY_S:
        raise errors.InvalidArgument(
            f"expiresAfterSeconds must be an integer between 1 and {MAX_DELAY_S}", field="expiresAfterSeconds"
        )


def check_priority(priority: int) -> None:
    if not MIN_PRIORITY <= priority <= MAX_PRIORITY:
        raise errors.InvalidArgument(
            f"priority must be an integer between {MIN_PRIORITY} and {MAX_PRIORITY}", field="priority"
        )


def check_limits(max_attempts: int | None, timeout_seconds: float | None) -> None:
    if max_attempts is not None and not 1 <= max_attempts <= MAX_ATTEMPTS_LIMIT:
        raise errors.InvalidArgument(
            f"maxAttempts must be an integer between 1 and {MAX_ATTEMPTS_LIMIT}", field="maxAttempts"
        )
    if timeout_seconds is not None and not 1 <= timeout_seconds <= MAX_TIMEOUT_S:
        raise errors.InvalidArgument(
            f"timeoutSeconds must be an integer between 1 and {MAX_TIMEOUT_S}", field="timeoutSeconds"
        )


def group_of(text: str | None) -> str | None:
    """A job's ``group`` as stored: trimmed, None when empty; 400 naming ``group`` when it is longer
    than MAX_GROUP_LENGTH or holds a control character."""
    group = (text or "").strip()
    if not group:
        return None
    if len(group) > MAX_GROUP_LENGTH or not group.isprintable():
        raise errors.InvalidArgument(
            f"group must be at most {MAX_GROUP_LENGTH} printable characters", field="group"
        )
    return group


def canonical(job_type: str) -> str | None:
    """The canonical name of a type or alias, None when unknown."""
    return ALIASES.get(job_type)


def names_of(job_type: str) -> list[str]:
    """Every name (canonical and aliases) that means the same type as ``job_type``."""
    target = canonical(job_type)
    return [name for name, canon in ALIASES.items() if canon == target]
