"""Request ids: answered on every response and carried into the log lines of the services a
request reaches, through the real gateway, coordinator and importer."""

from __future__ import annotations

import logging

import pytest
from aiohttp.test_utils import TestClient
from gateway_helpers import GEOCODING_FILTERS, bearer, upload_form
from voterfiles import encode, sample_voters, simple_csv_lines

from cocoa_common import requestid


@pytest.fixture
def request_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """The records, each with the request id it was logged under, as the services' log lines show it."""
    caplog.handler.addFilter(requestid.LogFilter())
    caplog.set_level(logging.INFO)
    return caplog


def logged_under(caplog: pytest.LogCaptureFixture, logger: str, text: str) -> list[str]:
    return [r.request_id for r in caplog.records if r.name == logger and text in r.getMessage()]  # type: ignore[attr-defined]


async def test_every_response_carries_a_new_request_id(client: TestClient) -> None:
    first, second = await client.get("/healthz"), await client.get("/api/v1/jobs")
    ids = [first.headers.get("X-Request-ID"), second.headers.get("X-Request-ID")]
    assert all(ids)  # the second one is a 401, and still has its id
    assert ids[0] != ids[1]


async def test_a_caller_s_request_id_is_answered_back(client: TestClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "ticket-42.retry:1"})
    assert response.headers["X-Request-ID"] == "ticket-42.retry:1"


@pytest.mark.parametrize("hostile", ["x" * 65, "two words", "<script>", "é"])
async def test_a_request_id_that_is_not_a_plain_token_is_replaced(client: TestClient, hostile: str) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": hostile})
    assert response.headers["X-Request-ID"] not in (hostile, "")


async def test_a_request_s_id_reaches_the_coordinator_s_log_lines(
    client: TestClient, admin_token: str, request_logs: pytest.LogCaptureFixture
) -> None:
    body = {"type": "geocoding", "data": GEOCODING_FILTERS}
    headers = {**bearer(admin_token), "X-Request-ID": "create-1"}
    job_id = (await (await client.post("/api/v1/jobs", json=body, headers=headers)).json())["job"]["id"]
    await client.delete(f"/api/v1/jobs/{job_id}", headers={**bearer(admin_token), "X-Request-ID": "cancel-1"})
    service = "cocoa_coordinator.service"
    assert logged_under(request_logs, service, f"job {job_id} created") == ["create-1"]
    assert logged_under(request_logs, service, f"job {job_id} cancelled") == ["cancel-1"]


async def test_an_upload_s_id_reaches_the_coordinator_through_the_importer(
    import_client: TestClient, admin_token: str, request_logs: pytest.LogCaptureFixture
) -> None:
    data = encode(simple_csv_lines(sample_voters(2, seed=3)), encoding="utf-8")
    form = upload_form("people.csv", data, before={"format": "simple_csv"})
    headers = {**bearer(admin_token), "X-Request-ID": "upload-7"}
    response = await import_client.post("/api/v1/voters/import", data=form, headers=headers)
    job_id = (await response.json())["jobId"]
    assert logged_under(request_logs, "cocoa_coordinator.service", f"job {job_id} created") == ["upload-7"]
