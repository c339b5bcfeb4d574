"""GET /metrics: Prometheus text with the queue, the workers and the gateway's own traffic."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from gateway_helpers import (
    ClientFactory,
    Sessions,
    WorkerFactory,
    add_user,
    bearer,
    closed_port,
    create_job,
    wait_for_status,
)
from prometheus_client.parser import text_string_to_metric_families

from cocoa_common.settings import Settings


async def scrape(client: TestClient, token: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics", headers=bearer(token))
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(await response.text())
        for sample in family.samples
    }


async def test_an_openmetrics_scraper_gets_openmetrics(client: TestClient, admin_token: str) -> None:
    accept = "application/openmetrics-text; version=1.0.0"
    response = await client.get("/metrics", headers={**bearer(admin_token), "Accept": accept})
    assert response.headers["Content-Type"].startswith("application/openmetrics-text")
    assert (await response.text()).rstrip().endswith("# EOF")


async def test_metrics_need_a_token(client: TestClient) -> None:
    response = await client.get("/metrics")
    assert response.status == 401


async def test_any_role_may_scrape(client: TestClient, sessions: Sessions) -> None:
    _, token = await add_user(sessions, "viewer", email="scraper@example.com")
    assert (await client.get("/metrics", headers=bearer(token))).status == 200


async def test_pending_jobs_are_counted_per_type_and_status(client: TestClient, admin_token: str) -> None:
    await create_job(client, admin_token, "geocode_households")
    await create_job(client, admin_token, "geocoding")
    samples = await scrape(client, admin_token)
    assert samples[("cocoa_jobs", (("status", "pending"), ("type", "geocoding")))] == 2
    assert samples[("cocoa_jobs", (("status", "completed"), ("type", "voter_import")))] == 0
    assert samples[("cocoa_jobs_oldest_pending_seconds", (("type", "geocoding"),))] >= 0
    assert samples[("cocoa_coordinator_up", ())] == 1


async def test_connected_workers_and_their_slots_are_reported(
    client: TestClient, admin_token: str, start_worker: WorkerFactory
) -> None:
    await start_worker()  # geocoding and voter_import, capacity 2
    samples = await scrape(client, admin_token)
    assert samples[("cocoa_workers", (("type", "geocoding"),))] == 1
    assert samples[("cocoa_worker_slots", (("type", "voter_import"),))] == 2
    assert samples[("cocoa_workers", (("type", "parcel_import"),))] == 0


async def test_requests_are_counted_by_route_template_not_raw_path(
    client: TestClient, admin_token: str
) -> None:
    await client.get("/api/v1/jobs/cnosuchjob000000000000000", headers=bearer(admin_token))
    await client.get("/no/such/page")
    samples = await scrape(client, admin_token)
    key = (("method", "GET"), ("route", "/api/v1/jobs/{id}"), ("status", "404"))
    assert samples[("cocoa_http_requests_total", key)] == 1
    unmatched = (("method", "GET"), ("route", "unmatched"), ("status", "404"))
    assert samples[("cocoa_http_requests_total", unmatched)] == 1
    assert not any("cnosuchjob" in str(labels) for _, labels in samples)


async def test_a_down_coordinator_still_gives_the_gateways_own_metrics(
    make_client: ClientFactory, gateway_settings: Settings, admin_token: str
) -> None:
    client = await make_client(gateway_settings, coordinator_grpc_addr=f"127.0.0.1:{closed_port()}")
    samples = await scrape(client, admin_token)
    assert samples[("cocoa_coordinator_up", ())] == 0
    assert not any(name == "cocoa_jobs" for name, _ in samples)


async def test_a_finished_job_is_counted_with_its_queue_wait_and_run_time(
    client: TestClient, admin_token: str, start_worker: WorkerFactory
) -> None:
    await start_worker()
    job = await create_job(client, admin_token, "geocoding", items=4, batch=2)
    await wait_for_status(client, admin_token, job["id"], "completed")
    samples = await scrape(client, admin_token)
    geocoding = (("type", "geocoding"),)
    assert samples[("cocoa_jobs_started_total", geocoding)] == 1
    assert samples[("cocoa_jobs_finished_total", (("status", "completed"), ("type", "geocoding")))] == 1
    assert samples[("cocoa_job_queue_wait_seconds_count", geocoding)] == 1
    assert samples[("cocoa_job_queue_wait_seconds_bucket", (("le", "+Inf"), ("type", "geocoding")))] == 1
    assert samples[("cocoa_job_run_seconds_count", geocoding)] == 1
    assert samples[("cocoa_job_run_seconds_sum", geocoding)] >= 0


async def test_a_job_cancelled_before_it_ran_counts_as_finished_but_never_started(
    client: TestClient, admin_token: str
) -> None:
    job = await create_job(client, admin_token, "geocoding")
    await client.delete(f"/api/v1/jobs/{job['id']}", headers=bearer(admin_token))
    samples = await scrape(client, admin_token)
    assert samples[("cocoa_jobs_finished_total", (("status", "cancelled"), ("type", "geocoding")))] == 1
    assert samples[("cocoa_jobs_started_total", (("type", "geocoding"),))] == 0
    assert samples[("cocoa_job_run_seconds_count", (("type", "geocoding"),))] == 0


async def test_a_paused_queue_is_reported(client: TestClient, admin_token: str) -> None:
    await client.post("/api/v1/queues/geocoding/pause", headers=bearer(admin_token))
    samples = await scrape(client, admin_token)
    assert samples[("cocoa_queue_paused", (("type", "geocoding"),))] == 1
    assert samples[("cocoa_queue_paused", (("type", "voter_import"),))] == 0


async def test_each_queue_s_concurrency_is_reported(client: TestClient, admin_token: str) -> None:
    await client.post(
        "/api/v1/queues/geocoding/concurrency", json={"concurrency": 3}, headers=bearer(admin_token)
    )
    samples = await scrape(client, admin_token)
    assert samples[("cocoa_queue_concurrency", (("type", "geocoding"),))] == 3
    assert samples[("cocoa_queue_concurrency", (("type", "voter_import"),))] == 1
