"""Counters and histograms of job lifecycle moves, kept by the coordinator since it started.

What ops graph besides queue depth: how many jobs start and finish, how often a job is taken back
from its worker and why, how long jobs wait in ``pending`` and how long they run. The gateway's
``/metrics`` reads them through ``GetStats``; they restart from zero with the coordinator, which
Prometheus' ``rate()`` and ``increase()`` allow for.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field

from cocoa.coordinator.v1 import coordinator_pb2 as pb
from cocoa_common import jobtypes as jt
from cocoa_common.models import Job

# Seconds: a job waits from a fraction of a second (idle system) to hours (a deep queue) ...
WAIT_BOUNDS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0)
# ... and runs from seconds (a small geocode) to a day (the default timeout).
RUN_BOUNDS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 43200.0, 86400.0)

# Why a job went back to pending without finishing (the `reason` label of requeues).
WORKER_LOST = "worker_lost"  # its worker's stream closed
NO_HEARTBEAT = "no_heartbeat"
STALLED = "stalled"
WORKER_SHUTDOWN = "worker_shutdown"
COORDINATOR_RESTART = "coordinator_restart"
TRANSIENT_FAILURE = (
    "transient_failure"  # its worker hit a database or network failure: retried after a backoff
)


@dataclass
class Histogram:
    bounds: tuple[float, ...]
    counts: list[int] = field(default_factory=list)  # per bucket, the last one above every bound
    sum: float = 0.0

    def __post_init__(self) -> None:
        self.counts = [0] * (len(self.bounds) + 1)

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value

    def to_pb(self) -> pb.Histogram:
        return pb.Histogram(bounds=self.bounds, counts=self.counts, sum=self.sum)


@dataclass
class TypeLifecycle:
    started: int = 0
    finished: Counter[str] = field(default_factory=Counter)  # by terminal status
    requeued: Counter[str] = field(default_factory=Counter)  # by reason
    wait: Histogram = field(default_factory=lambda: Histogram(WAIT_BOUNDS))
    run: Histogram = field(default_factory=lambda: Histogram(RUN_BOUNDS))


class JobLifecycle:
    """Fed by the dispatcher and the job service right after each move commits."""

    def __init__(self) -> None:
        self.types: dict[str, TypeLifecycle] = {}

    def _of(self, job: Job) -> TypeLifecycle:
        name = jt.canonical(job.type) or job.type
        return self.types.setdefault(name, TypeLifecycle())

    def started(self, job: Job, waited_s: float) -> None:
        entry = self._of(job)
        entry.started += 1
        entry.wait.observe(max(waited_s, 0.0))

    def requeued(self, job: Job, reason: str) -> None:
        self._of(job).requeued[reason] += 1

    def moved(self, job: Job) -> None:
        """A job changed status; only terminal ones are counted, with their running time."""
        if job.status not in jt.TERMINAL:
            return
        entry = self._of(job)
        entry.finished[job.status] += 1
        if job.started_at is not None and job.completed_at is not None:
            entry.run.observe(max((job.completed_at - job.started_at).total_seconds(), 0.0))

    def fill(self, stats: pb.TypeStats) -> None:
        entry = self.types.get(stats.type) or TypeLifecycle()  # zeros until the first move
        stats.jobs_started = entry.started
        stats.jobs_finished.update(entry.finished)
        stats.requeues.update(entry.requeued)
        stats.queue_wait_seconds.CopyFrom(entry.wait.to_pb())
        stats.run_seconds.CopyFrom(entry.run.to_pb())
