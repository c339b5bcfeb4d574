"""The coordinator's lifecycle counters and histograms, as GetStats reports them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cocoa.coordinator.v1 import coordinator_pb2 as pb
from cocoa_common.models import Job
from cocoa_coordinator.lifecycle import RUN_BOUNDS, STALLED, Histogram, JobLifecycle

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def finished_job(status: str, ran_s: float | None, job_type: str = "geocode_households") -> Job:
    started = T0 if ran_s is not None else None
    completed = T0 + timedelta(seconds=ran_s or 0)
    return Job(id="j", type=job_type, status=status, started_at=started, completed_at=completed)


def stats_of(lifecycle: JobLifecycle, job_type: str = "geocoding") -> pb.TypeStats:
    stats = pb.TypeStats(type=job_type)
    lifecycle.fill(stats)
    return stats


def test_a_value_on_a_bound_falls_in_that_bucket_like_prometheus_le() -> None:
    histogram = Histogram((1.0, 5.0))
    for value in (0.5, 1.0, 3.0, 5.0, 60.0):
        histogram.observe(value)
    assert histogram.counts == [2, 2, 1]
    assert histogram.sum == 69.5


def test_terminal_moves_are_counted_by_canonical_type_and_status() -> None:
    lifecycle = JobLifecycle()
    lifecycle.moved(finished_job("completed", 3.0))
    lifecycle.moved(finished_job("cancelled", None))
    lifecycle.moved(finished_job("paused", None))  # not terminal: not counted
    stats = stats_of(lifecycle)
    assert dict(stats.jobs_finished) == {"completed": 1, "cancelled": 1}
    assert sum(stats.run_seconds.counts) == 1  # the cancelled job never ran
    assert stats.run_seconds.counts[RUN_BOUNDS.index(5.0)] == 1


def test_starts_record_their_wait_and_requeues_their_reason() -> None:
    lifecycle = JobLifecycle()
    job = Job(id="j", type="geocoding", status="processing")
    lifecycle.started(job, 0.2)
    lifecycle.requeued(job, STALLED)
    stats = stats_of(lifecycle)
    assert stats.jobs_started == 1
    assert dict(stats.requeues) == {STALLED: 1}
    assert stats.queue_wait_seconds.sum == 0.2


def test_a_type_with_no_moves_reports_zeros() -> None:
    stats = stats_of(JobLifecycle(), "parcel_import")
    assert stats.jobs_started == 0
    assert list(stats.run_seconds.counts) == [0] * (len(RUN_BOUNDS) + 1)
