"""The database schema: one metadata for the whole system, migrated by Alembic.

Each service touches only its own tables through its own repository module:
coordinator -> jobs, job_item_errors, job_events, job_dependencies, job_queues, job_schedules; gateway -> users, api_tokens, audit_logs;
geocoder -> households (geocode columns), geocode_cache, address_points; importer -> voters,
households, parcels.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    func,
    select,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column

# SQLite only auto-increments INTEGER PRIMARY KEY, PostgreSQL wants BIGINT for large tables.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        if value is not None and dialect.name == "sqlite":
            return value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class _JobColumns:
    """A job's columns, shared by the live ``jobs`` table and ``archived_jobs``."""

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    is_dynamic: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    total_items: Mapped[int | None] = mapped_column(BigInteger)
    processed_items: Mapped[int] = mapped_column(BigInteger, default=0)
    failed_items: Mapped[int] = mapped_column(BigInteger, default=0)
    # Successes a retry took over from its source's checkpoint; its rate counts only the rest.
    resumed_items: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    data: Mapped[str] = mapped_column(Text, default="{}")
    output_stats: Mapped[str] = mapped_column(Text, default="{}")
    checkpoint: Mapped[str | None] = mapped_column(Text)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[str | None] = mapped_column(String(32))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    lease_id: Mapped[str | None] = mapped_column(String(32))
    worker_id: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    progressed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # claimed, or its last progress
    cancel_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retry_of: Mapped[str | None] = mapped_column(String(32))  # the failed or cancelled job this one retries
    available_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # backing off: not dispatched before
    timeout_seconds: Mapped[float] = mapped_column(Float, default=86400.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # cancelled if not started by then
    group_key: Mapped[str | None] = mapped_column(String(100))  # jobs of different groups take turns
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Job(_JobColumns, Base):
    __tablename__ = "jobs"

    __table_args__ = (
        Index("ix_jobs_dispatch", "status", "type", "priority", "created_at"),
        Index("ix_jobs_created_at", "created_at"),
        Index("ix_jobs_created_by_id", "created_by_id"),
        Index("uq_jobs_idempotency", "created_by_id", "idempotency_key", unique=True),
        Index("uq_jobs_retry_of", "retry_of", unique=True),  # a job is retried at most once
        Index(
            "ix_jobs_expiring",
            "expires_at",
            postgresql_where=text("expires_at IS NOT NULL AND started_at IS NULL"),
            sqlite_where=text("expires_at IS NOT NULL AND started_at IS NULL"),
        ),
        # The claim's order over the pending jobs, so it stops at the first due one (migration 0021).
        Index(
            "ix_jobs_pending_order",
            text("priority DESC"),
            "created_at",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index(
            "ix_jobs_pending_grouped",
            "type",
            postgresql_where=text("group_key IS NOT NULL AND status = 'pending'"),
            sqlite_where=text("group_key IS NOT NULL AND status = 'pending'"),
        ),
    )


class ArchivedJob(_JobColumns, Base):
    """A job that finished more than JOB_ARCHIVE_AFTER_DAYS ago, moved out of ``jobs`` as it was."""

    __tablename__ = "archived_jobs"

    archived_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_archived_jobs_completed_at", "completed_at"),)


class _ItemErrorColumns:
    item_ref: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(60))
    message: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class JobItemError(_ItemErrorColumns, Base):
    __tablename__ = "job_item_errors"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))

    __table_args__ = (Index("ix_job_item_errors_job", "job_id", "id"),)


class ArchivedJobItemError(_ItemErrorColumns, Base):
    """An archived job's item errors, with the ids they had."""

    __tablename__ = "archived_job_item_errors"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    job_id: Mapped[str] = mapped_column(String(32))

    __table_args__ = (Index("ix_archived_job_item_errors_job", "job_id", "id"),)


MAX_EVENT_DETAIL = 500


class JobEvent(Base):
    __tablename__ = "job_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(String(MAX_EVENT_DETAIL))  # a worker, a reason
    by_id: Mapped[str | None] = mapped_column(String(32))  # the user who asked for the move
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_job_events_job", "job_id", "id"),
        Index(
            "ix_job_events_history",
            "job_id",
            "id",
            postgresql_where=text("kind <> 'progress'"),
            sqlite_where=text("kind <> 'progress'"),
        ),
    )


class JobDependency(Base):
    """A job that runs only after another has completed (``dependsOn``); while one of its
    dependencies is unfinished it stays ``pending`` and is not dispatched, and when one fails or is
    cancelled it is cancelled too. A dependency that was archived has completed long ago."""

    __tablename__ = "job_dependencies"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    depends_on_id: Mapped[str] = mapped_column(String(32), primary_key=True)

    __table_args__ = (Index("ix_job_dependencies_depends_on", "depends_on_id"),)


class JobQueue(Base):
    """One row per job type: whether its queue is paused (no job of the type is dispatched; running
    jobs go on), by whom and since when, and its concurrency limit when ops set one."""

    __tablename__ = "job_queues"

    type: Mapped[str] = mapped_column(String(40), primary_key=True)  # canonical job type
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_by_id: Mapped[str | None] = mapped_column(String(32))
    concurrency: Mapped[int | None] = mapped_column(Integer)  # None: JOB_CONCURRENCY's value


class JobGroup(Base):
    """A job group that ops paused (BullMQ Pro's group pause): none of its pending jobs is
    dispatched, of any type, until it is resumed; its running jobs go on. Resuming deletes the row."""

    __tablename__ = "job_groups"

    group_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    paused_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paused_by_id: Mapped[str | None] = mapped_column(String(32))


class JobSchedule(Base):
    """A recurring job: at each time its cron expression names (in its time zone), the coordinator
    creates a job of ``type`` with ``data``, unless the job it created last is still running."""

    __tablename__ = "job_schedules"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    cron: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    type: Mapped[str] = mapped_column(String(40))
    data: Mapped[str] = mapped_column(Text, default="{}")
    is_dynamic: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int | None] = mapped_column(Integer)  # the jobs' own; NULL: the settings'
    timeout_seconds: Mapped[int | None] = mapped_column(Integer)
    expires_after_s: Mapped[int | None] = mapped_column(Integer)  # each job must start within this
    group_key: Mapped[str | None] = mapped_column(String(100))  # the group of each job it creates
    created_by_id: Mapped[str | None] = mapped_column(String(32))
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_job_id: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)  # why the last time created no job
    skipped_runs: Mapped[int] = mapped_column(Integer, default=0)  # times the last job still ran
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_job_schedules_next_run_at", "next_run_at"),)


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditLog(Base):
    __tablename__ = "audit_logs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(60))
    resource: Mapped[str] = mapped_column(String(60))
    resource_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[str] = mapped_column(Text, default="{}")
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_audit_logs_created_at", "created_at"),
        # The audit log's filters, each newest first (GET /api/v1/audit-logs).
        Index("ix_audit_logs_action_created_at", "action", "created_at"),
        Index("ix_audit_logs_user_created_at", "user_id", "created_at"),
        Index("ix_audit_logs_resource", "resource", "resource_id", "created_at"),
    )


class Voter(Base):
    """One registered voter, upserted by (source, the format's voter id)."""

    __tablename__ = "voters"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(40))
    source_voter_id: Mapped[str] = mapped_column(String(64))
    first_name: Mapped[str] = mapped_column(String(100), default="")
    middle_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    name_suffix: Mapped[str] = mapped_column(String(20), default="")
    birth_year: Mapped[int | None] = mapped_column(Integer)
    gender: Mapped[str] = mapped_column(String(20), default="")
    party: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[str] = mapped_column(String(40), default="")
    registration_date: Mapped[str] = mapped_column(String(20), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    residential_address: Mapped[str] = mapped_column(String(300), default="")
    city: Mapped[str] = mapped_column(String(80), default="")
    state: Mapped[str] = mapped_column(String(2), default="")
    zip_code: Mapped[str] = mapped_column(String(10), default="")
    county: Mapped[str] = mapped_column(String(80), default="")
    precinct: Mapped[str] = mapped_column(String(40), default="")
    mailing_address: Mapped[str] = mapped_column(String(300), default="")
    household_id: Mapped[int | None] = mapped_column(BigInteger)
    address_flag: Mapped[str | None] = mapped_column(String(20))
    address_flag_reason: Mapped[str | None] = mapped_column(String(300))
    extra: Mapped[str] = mapped_column(Text, default="{}")
    row_hash: Mapped[str] = mapped_column(String(32), default="")
    import_job_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("uq_voters_source_voter", "source", "source_voter_id", unique=True),
        Index("ix_voters_household_id", "household_id"),
        Index("ix_voters_row_hash", "row_hash", postgresql_using="hash"),  # equality lookups only
    )


class Household(Base):
    __tablename__ = "households"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    household_key: Mapped[str] = mapped_column(String(300), unique=True)
    location_key: Mapped[str] = mapped_column(String(300))
    house_number: Mapped[str] = mapped_column(String(20), default="")
    predir: Mapped[str] = mapped_column(String(4), default="")
    street_name: Mapped[str] = mapped_column(String(120), default="")
    suffix: Mapped[str] = mapped_column(String(12), default="")
    postdir: Mapped[str] = mapped_column(String(4), default="")
    unit_type: Mapped[str] = mapped_column(String(12), default="")
    unit: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(80), default="")
    state: Mapped[str] = mapped_column(String(2), default="")
    zip_code: Mapped[str] = mapped_column(String(5), default="")
    county: Mapped[str] = mapped_column(String(80), default="")
    precinct: Mapped[str] = mapped_column(String(40), default="")
    full_address: Mapped[str] = mapped_column(String(300), default="")
    # Counted when read, from the voters who live there now: right whoever moved and whichever import
    # moved them, with nothing for an import to keep up to date (an index-only count per household).
    person_count: Mapped[int] = column_property(
        select(func.count()).where(Voter.household_id == id).correlate_except(Voter).scalar_subquery()
    )
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    geocoded: Mapped[bool] = mapped_column(Boolean, default=False)
    geocoded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    geocoding_provider: Mapped[str | None] = mapped_column(String(40))
    geocode_precision: Mapped[str | None] = mapped_column(String(16))
    geocode_confidence: Mapped[float | None] = mapped_column(Float)
    geocode_matched_address: Mapped[str | None] = mapped_column(String(300))
    geocode_error: Mapped[str | None] = mapped_column(Text)
    parcel_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_households_state_city", "state", "city"),
        # The ZIP filter, and the parcel link's probe (a plan that loops over parcels stays cheap).
        Index("ix_households_zip_street", "zip_code", "street_name", "house_number"),
        Index("ix_households_county_upper", text("upper(county)")),  # the geocoding filter's form
        Index("ix_households_precinct", "precinct"),
        # Households of a parcel; most households of a voter file have none, and pay nothing for it.
        Index(
            "ix_households_parcel",
            "parcel_id",
            postgresql_where=text("parcel_id IS NOT NULL"),
            sqlite_where=text("parcel_id IS NOT NULL"),
        ),
    )


class GeocodeCacheEntry(Base):
    """One provider's answer for one normalized location; never ask that provider again."""

    __tablename__ = "geocode_cache"

    location_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    provider: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(12))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    precision: Mapped[str | None] = mapped_column(String(16))
    confidence: Mapped[float | None] = mapped_column(Float)
    matched_address: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AddressPoint(Base):
    """An OpenAddresses point imported for the offline ``local`` provider."""

    __tablename__ = "address_points"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    location_key: Mapped[str] = mapped_column(String(300))
    street_key: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(120), default="")
    source_id: Mapped[str] = mapped_column(String(120), default="")
    number: Mapped[str] = mapped_column(String(20), default="")
    street: Mapped[str] = mapped_column(String(120), default="")
    unit: Mapped[str] = mapped_column(String(40), default="")
    city: Mapped[str] = mapped_column(String(80), default="")
    region: Mapped[str] = mapped_column(String(40), default="")
    postcode: Mapped[str] = mapped_column(String(10), default="")
    longitude: Mapped[float] = mapped_column(Float)
    latitude: Mapped[float] = mapped_column(Float)

    __table_args__ = (
        Index("ix_address_points_location_key", "location_key"),
        Index("ix_address_points_street_key", "street_key"),
    )


# A household sits on a parcel when these columns agree (its street address without the unit, in
# the same ZIP). The importer links by them and the geocoder's ``parcel`` provider matches by them.
PARCEL_ADDRESS_COLUMNS = ("zip_code", "street_name", "house_number", "predir", "suffix", "postdir")


class Parcel(Base):
    """One land parcel, upserted by (source, APN); linked to households by normalized situs address."""

    __tablename__ = "parcels"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(120))
    apn: Mapped[str] = mapped_column(String(64))
    house_number: Mapped[str] = mapped_column(String(20), default="")
    predir: Mapped[str] = mapped_column(String(4), default="")
    street_name: Mapped[str] = mapped_column(String(120), default="")
    suffix: Mapped[str] = mapped_column(String(12), default="")
    postdir: Mapped[str] = mapped_column(String(4), default="")
    unit: Mapped[str] = mapped_column(String(40), default="")
    full_address: Mapped[str] = mapped_column(String(300), default="")
    city: Mapped[str] = mapped_column(String(80), default="")
    state: Mapped[str] = mapped_column(String(2), default="")
    zip_code: Mapped[str] = mapped_column(String(5), default="")
    location_key: Mapped[str] = mapped_column(String(300), default="")
    owner_name: Mapped[str] = mapped_column(String(200), default="")
    land_use: Mapped[str] = mapped_column(String(80), default="")
    units: Mapped[int | None] = mapped_column(Integer)
    centroid_latitude: Mapped[float | None] = mapped_column(Float)
    centroid_longitude: Mapped[float | None] = mapped_column(Float)
    geometry: Mapped[str | None] = mapped_column(Text)  # GeoJSON geometry
    properties: Mapped[str] = mapped_column(Text, default="{}")
    import_job_id: Mapped[str | None] = mapped_column(String(32))
    # The file item (feature or line) that wrote the parcel in that import: another item of the same
    # import with the same APN is a duplicate, while a replayed batch (same item) is not.
    import_item: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("uq_parcels_source_apn", "source", "apn", unique=True),
        Index("ix_parcels_zip_street", "zip_code", "street_name", "house_number"),  # the household link
    )


class Upload(Base):
    """A file streamed to storage for an import job, with what is known about it."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(300))
    path: Mapped[str] = mapped_column(String(500))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    job_id: Mapped[str | None] = mapped_column(String(32))  # the import job that reads it
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # file removed after retention


class ResumableUpload(Base):
    """A file arriving in pieces over as many requests as it takes (tus). Its bytes are in upload
    storage, where the file's size is the offset the next piece starts at; once complete, an import
    names it and it becomes an ``Upload`` of that import."""

    __tablename__ = "resumable_uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    filename: Mapped[str] = mapped_column(String(300))
    length: Mapped[int] = mapped_column(BigInteger)  # the file's declared size
    created_by_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    job_id: Mapped[str | None] = mapped_column(String(32))  # the import made of it; it is then spent
    imported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who imported it, and with which Idempotency-Key: a replay answers its job instead of a conflict.
    imported_by_id: Mapped[str | None] = mapped_column(String(32))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_resumable_uploads_created_at", "created_at"),  # the expiry sweep
        # A user's unfinished uploads: counted against UPLOAD_MAX_OPEN_PER_USER, and listed.
        Index(
            "ix_resumable_uploads_open_by_creator",
            "created_by_id",
            "created_at",
            postgresql_where=text("job_id IS NULL"),
            sqlite_where=text("job_id IS NULL"),
        ),
    )
