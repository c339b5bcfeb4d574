"""One typed settings object for every cocoa-jobs process, read once from the environment.

Each process builds it in its ``__main__`` with :meth:`Settings.from_env` and passes it down;
nothing reads ``os.environ`` anywhere else.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

DEFAULT_DATABASE_URL = "sqlite:///var/cocoa-jobs.db"
PUBLIC_NOMINATIM = "https://nominatim.openstreetmap.org"
PUBLIC_CENSUS = "https://geocoding.geo.census.gov"


class SettingsError(ValueError):
    """An environment variable has a value cocoa-jobs cannot use."""


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None


def _per_type(env: Mapping[str, str], name: str) -> dict[str, int]:
    """Parse ``"geocoding=2,voter_import=1"`` into a dict."""
    raw = env.get(name, "").strip()
    result: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not value.strip().isdigit():
            raise SettingsError(f"{name} entries look like type=number, got {part!r}")
        result[key.strip()] = int(value)
    return result


def _list(env: Mapping[str, str], name: str, default: str) -> tuple[str, ...]:
    raw = env.get(name, "") or default
    return tuple(p.strip() for p in raw.split(",") if p.strip())


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    """Connection settings of one geocoding provider."""

    base_url: str = ""
    api_key: str = ""
    timeout_s: float = 5.0
    batch_timeout_s: float = 300.0  # a 1,000-row Census batch can take minutes
    batch_size: int = 1
    rate_per_s: float = 0.0  # 0: unlimited
    user_agent: str = ""


@dataclass(frozen=True, slots=True)
class Settings:
    """Every knob an operator can turn, with the defaults ``make run`` relies on."""

    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str = ""
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8080
    coordinator_grpc_addr: str = "127.0.0.1:50051"
    geocoder_grpc_addr: str = "127.0.0.1:50052"
    importer_grpc_addr: str = "127.0.0.1:50053"
    # Job lifecycle
    heartbeat_timeout_s: float = 30.0
    heartbeat_interval_s: float = 5.0
    max_attempts: int = 3
    # A job that failed transiently waits base * 2^(attempt-1) seconds, at most max, before it runs again.
    retry_backoff_s: float = 5.0
    retry_backoff_max_s: float = 300.0
    default_concurrency: int = 1
    concurrency: dict[str, int] = field(default_factory=dict)
    # Per type, how many of its jobs one group may have running at once; absent: no limit.
    group_concurrency: dict[str, int] = field(default_factory=dict)
    default_timeout_s: float = 24 * 3600.0
    timeouts_s: dict[str, int] = field(default_factory=dict)
    progress_flush_s: float = 1.0
    # A processing job with no progress for this long is requeued, though its worker still heartbeats
    # (alive but wedged); 0 or less: never. Above the longest batch (a Census batch may take 300 s).
    stall_timeout_s: float = 900.0
    # A job told to stop (pause, cancel, timeout, stall) that is still running after this long is
    # cancelled by its worker; 0 or less: never.
    stop_grace_s: float = 30.0
    worker_capacity: int = 2
    # The coordinator's own database work (a flush, a sweep, a claim, a worker's final report) that
    # has no answer after this long is abandoned and retried on fresh connections: a connection can
    # go silent for good behind a proxy whose server died.
    database_deadline_s: float = 30.0
    archive_after_days: float = 30.0  # finished jobs move to archived_jobs after this; 0 or less: never
    archive_interval_s: float = 3600.0
    # Geocoder
    geocoder_providers: tuple[str, ...] = ("local", "parcel", "census", "zip_centroid")
    geocoder_batch_size: int = 100
    census: ProviderSettings = ProviderSettings(PUBLIC_CENSUS, batch_size=1000)
    nominatim: ProviderSettings = ProviderSettings(PUBLIC_NOMINATIM, rate_per_s=1.0)
    # Importer
    upload_dir: str = "var/uploads"
    upload_max_bytes: int = 5 * 1024**3
    # Uploads are refused (503) rather than leave less than this free on the upload directory's disk.
    upload_min_free_bytes: int = 512 * 1024**2
    # Unfinished resumable uploads one user may hold at once; creating another is refused (429).
    upload_max_open_per_user: int = 20
    # An upload's file is removed once its job has been finished this long; 0 or less: kept forever.
    upload_retention_hours: float = 168.0
    upload_sweep_interval_s: float = 3600.0
    # Geocoder and importer servers ask each client connection to go after this long, so callers
    # resolve the service's name again and spread over replicas added since; 0 or less: never.
    grpc_max_connection_age_s: float = 300.0
    # Gateway
    request_deadline_s: float = 10.0
    log_level: str = "INFO"
    log_format: str = "text"  # or "json": one object per line for log collectors

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        d = cls()
        nominatim_url = env.get("NOMINATIM_BASE_URL", "").strip() or PUBLIC_NOMINATIM
        # The public host allows one request a second per application; self-hosted ones are unlimited.
        nominatim_default_rate = 1.0 if nominatim_url.rstrip("/") == PUBLIC_NOMINATIM else 0.0
        return cls(
            database_url=env.get("DATABASE_URL", "").strip() or d.database_url,
            redis_url=env.get("REDIS_URL", "").strip(),
            gateway_host=env.get("GATEWAY_HOST", "").strip() or d.gateway_host,
            gateway_port=_int(env, "GATEWAY_PORT", d.gateway_port),
            coordinator_grpc_addr=env.get("COORDINATOR_GRPC_ADDR", "").strip() or d.coordinator_grpc_addr,
            geocoder_grpc_addr=env.get("GEOCODER_GRPC_ADDR", "").strip() or d.geocoder_grpc_addr,
            importer_grpc_addr=env.get("IMPORTER_GRPC_ADDR", "").strip() or d.importer_grpc_addr,
            heartbeat_timeout_s=_float(env, "JOB_HEARTBEAT_TIMEOUT_SECONDS", d.heartbeat_timeout_s),
            heartbeat_interval_s=_float(env, "JOB_HEARTBEAT_INTERVAL_SECONDS", d.heartbeat_interval_s),
            max_attempts=_int(env, "JOB_MAX_ATTEMPTS", d.max_attempts),
            retry_backoff_s=_float(env, "JOB_RETRY_BACKOFF_SECONDS", d.retry_backoff_s),
            retry_backoff_max_s=_float(env, "JOB_RETRY_BACKOFF_MAX_SECONDS", d.retry_backoff_max_s),
            default_concurrency=_int(env, "JOB_DEFAULT_CONCURRENCY", d.default_concurrency),
            concurrency=_per_type(env, "JOB_CONCURRENCY"),
            group_concurrency=_per_type(env, "JOB_GROUP_CONCURRENCY"),
            default_timeout_s=_float(env, "JOB_TIMEOUT_SECONDS", d.default_timeout_s),
            timeouts_s=_per_type(env, "JOB_TIMEOUTS"),
            progress_flush_s=_float(env, "JOB_PROGRESS_FLUSH_SECONDS", d.progress_flush_s),
            stall_timeout_s=_float(env, "JOB_STALL_TIMEOUT_SECONDS", d.stall_timeout_s),
            stop_grace_s=_float(env, "JOB_STOP_GRACE_SECONDS", d.stop_grace_s),
            worker_capacity=_int(env, "WORKER_CAPACITY", d.worker_capacity),
            database_deadline_s=_float(env, "DATABASE_DEADLINE_SECONDS", d.database_deadline_s),
            archive_after_days=_float(env, "JOB_ARCHIVE_AFTER_DAYS", d.archive_after_days),
            archive_interval_s=_float(env, "JOB_ARCHIVE_INTERVAL_SECONDS", d.archive_interval_s),
            geocoder_providers=_list(env, "GEOCODER_PROVIDERS", ",".join(d.geocoder_providers)),
            geocoder_batch_size=_int(env, "GEOCODER_BATCH_SIZE", d.geocoder_batch_size),
            census=ProviderSettings(
                base_url=env.get("CENSUS_BASE_URL", "").strip() or PUBLIC_CENSUS,
                timeout_s=_float(env, "CENSUS_TIMEOUT_SECONDS", 5.0),
                batch_timeout_s=_float(env, "CENSUS_BATCH_TIMEOUT_SECONDS", 300.0),
                batch_size=_int(env, "CENSUS_BATCH_SIZE", 1000),
                rate_per_s=_float(env, "CENSUS_RATE_LIMIT", 0.0),
            ),
            nominatim=ProviderSettings(
                base_url=nominatim_url,
                api_key=env.get("NOMINATIM_API_KEY", "").strip(),
                timeout_s=_float(env, "NOMINATIM_TIMEOUT_SECONDS", 5.0),
                rate_per_s=_float(env, "NOMINATIM_RATE_LIMIT", nominatim_default_rate),
                user_agent=env.get("NOMINATIM_USER_AGENT", "").strip() or "cocoa-jobs/0.1 (self-hosted)",
            ),
            upload_dir=env.get("UPLOAD_DIR", "").strip() or d.upload_dir,
            upload_max_bytes=_int(env, "UPLOAD_MAX_BYTES", d.upload_max_bytes),
            upload_min_free_bytes=_int(env, "UPLOAD_MIN_FREE_BYTES", d.upload_min_free_bytes),
            upload_max_open_per_user=_int(env, "UPLOAD_MAX_OPEN_PER_USER", d.upload_max_open_per_user),
            upload_retention_hours=_float(env, "UPLOAD_RETENTION_HOURS", d.upload_retention_hours),
            upload_sweep_interval_s=_float(env, "UPLOAD_SWEEP_INTERVAL_SECONDS", d.upload_sweep_interval_s),
            grpc_max_connection_age_s=_float(
                env, "GRPC_MAX_CONNECTION_AGE_SECONDS", d.grpc_max_connection_age_s
            ),
            request_deadline_s=_float(env, "GATEWAY_REQUEST_DEADLINE_SECONDS", d.request_deadline_s),
            log_level=env.get("LOG_LEVEL", "").strip() or d.log_level,
            log_format=_choice(env, "LOG_FORMAT", ("text", "json"), d.log_format),
        )

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    def concurrency_for(self, job_type: str) -> int:
        return self.concurrency.get(job_type, self.default_concurrency)

    @property
    def worker_silence_limit_s(self) -> float:
        """How long a worker may hear nothing before it gives up its jobs: one heartbeat interval
        before the coordinator would requeue them, so a job never runs on both sides of a dead link."""
        return max(self.heartbeat_timeout_s - self.heartbeat_interval_s, self.heartbeat_interval_s)

    def retry_backoff_for(self, attempt: int) -> float:
        """Seconds a job waits after its ``attempt``-th attempt failed transiently."""
        return min(self.retry_backoff_max_s, self.retry_backoff_s * 2 ** max(attempt - 1, 0))

    def timeout_for(self, job_type: str) -> float:
        return float(self.timeouts_s.get(job_type, self.default_timeout_s))
