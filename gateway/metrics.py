"""Prometheus metrics: the gateway's own HTTP traffic, and the coordinator's queue and workers.

HTTP requests are counted and timed by route template (``/api/v1/jobs/{id}``, never the raw path,
so label values stay few). Queue figures are read from the coordinator at scrape time, so they are
as fresh as the scrape and every gateway replica reports the same numbers.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa_gateway.keys import METRICS

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
UNMATCHED = "unmatched"


class QueueCollector(Collector):
    """Renders the coordinator stats last fetched (set right before each exposition)."""

    def __init__(self) -> None:
        self.stats: cpb.StatsResponse | None = None

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("cocoa_coordinator_up", "Whether the coordinator answered this scrape")
        up.add_metric([], 0 if self.stats is None else 1)
        yield up
        jobs = GaugeMetricFamily("cocoa_jobs", "Live jobs by type and status", labels=["type", "status"])
        oldest = GaugeMetricFamily(
            "cocoa_jobs_oldest_pending_seconds", "Age of the oldest pending job", labels=["type"]
        )
        paused = GaugeMetricFamily(
            "cocoa_queue_paused",
            "1 while the type's queue is paused (nothing is dispatched)",
            labels=["type"],
        )
        limit = GaugeMetricFamily(
            "cocoa_queue_concurrency", "How many of the type's jobs may run at once", labels=["type"]
        )
        workers = GaugeMetricFamily("cocoa_workers", "Connected worker processes", labels=["type"])
        slots = GaugeMetricFamily(
            "cocoa_worker_slots", "Jobs the connected workers can hold", labels=["type"]
        )
        started = CounterMetricFamily(
            "cocoa_jobs_started", "Jobs claimed by a worker since the coordinator started", labels=["type"]
        )
        finished = CounterMetricFamily(
            "cocoa_jobs_finished", "Jobs that reached a terminal status", labels=["type", "status"]
        )
        requeued = CounterMetricFamily(
            "cocoa_job_requeues", "Jobs taken back from their worker, by reason", labels=["type", "reason"]
        )
        waits = HistogramMetricFamily(
            "cocoa_job_queue_wait_seconds", "Time a job waited in pending before it started", labels=["type"]
        )
        runs = HistogramMetricFamily(
            "cocoa_job_run_seconds", "First start to terminal status, of finished jobs", labels=["type"]
        )
        for entry in self.stats.types if self.stats is not None else ():
            for status, count in sorted(entry.jobs_by_status.items()):
                jobs.add_metric([entry.type, status], count)
            oldest.add_metric([entry.type], entry.oldest_pending_age_seconds)
            paused.add_metric([entry.type], 1 if entry.HasField("paused_at") else 0)
            limit.add_metric([entry.type], entry.concurrency)
            workers.add_metric([entry.type], entry.workers)
            slots.add_metric([entry.type], entry.worker_slots)
            started.add_metric([entry.type], entry.jobs_started)
            for status, count in sorted(entry.jobs_finished.items()):
                finished.add_metric([entry.type, status], count)
            for reason, count in sorted(entry.requeues.items()):
                requeued.add_metric([entry.type, reason], count)
            _add_histogram(waits, entry.type, entry.queue_wait_seconds)
            _add_histogram(runs, entry.type, entry.run_seconds)
        yield from (jobs, oldest, paused, limit, workers, slots, started, finished, requeued, waits, runs)


def _add_histogram(family: HistogramMetricFamily, job_type: str, histogram: cpb.Histogram) -> None:
    """The coordinator's per-bucket counts as Prometheus' cumulative ``le`` buckets."""
    if not histogram.counts:
        return
    buckets, total = [], 0
    for bound, count in zip([*histogram.bounds, float("inf")], histogram.counts, strict=True):
        total += count
        buckets.append(("+Inf" if bound == float("inf") else f"{bound:g}", total))
    family.add_metric([job_type], buckets, histogram.sum)


class Metrics:
    """One application's registry (tests build many apps, so nothing is process-global)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "cocoa_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "cocoa_http_request_duration_seconds",
            "Time to answer an HTTP request (to the first byte for streams)",
            ["method", "route"],
            registry=self.registry,
        )
        self.queue = QueueCollector()
        self.registry.register(self.queue)

    def observe(self, request: web.Request, status: int, seconds: float) -> None:
        route = request.match_info.route.resource
        template = route.canonical if route is not None else UNMATCHED
        self.requests.labels(request.method, template, str(status)).inc()
        self.latency.labels(request.method, template).observe(seconds)


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        request.app[METRICS].observe(request, status, time.perf_counter() - started)
