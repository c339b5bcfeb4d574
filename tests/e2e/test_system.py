"""The whole system as separate processes, as `make run` and production start it: REST in, gRPC
between services, PostgreSQL and Redis underneath. Includes a geocoder crash mid-job."""

from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cocoa_common import db
from cocoa_gateway.auth import issue_token
from cocoa_gateway.repository import GatewayRepository
from cocoa_jobs.demo import seed_demo
from cocoa_jobs.supervisor import Addresses, Supervisor, free_port

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
HOUSEHOLDS = 1500


async def _prepare(url: str) -> str:
    engine = db.create_engine(url)
    try:
        await seed_demo(engine, households=HOUSEHOLDS)
        async with db.session_factory(engine).begin() as session:
            repo = GatewayRepository(session)
            user = await repo.create_user("e2e@cocoa.local", "E2E", "admin")
            return await issue_token(repo, user.id)
    finally:
        await engine.dispose()


class System:
    def __init__(self, supervisor: Supervisor, base: str, token: str) -> None:
        self.supervisor = supervisor
        self.base = base
        self.token = token

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.base + path,
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def upload(self, path: str, fields: dict[str, str], filename: str, content: bytes) -> tuple[int, Any]:
        """POST a multipart form: the fields, then the file."""
        boundary = "cocoa-e2e-boundary"
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in fields.items()
        ]
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            f"Content-Type: text/csv\r\n\r\n".encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        request = urllib.request.Request(
            self.base + path,
            data=b"".join(parts),
            method="POST",
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def send(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, Any, Any]:
        """A request with its own headers and raw body: (status, response headers, JSON body or None)."""
        request = urllib.request.Request(
            self.base + path,
            data=body if method in ("POST", "PATCH") else None,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Tus-Resumable": "1.0.0", **headers},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.headers, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, json.loads(exc.read() or b"null")

    def wait(self, job_id: str, done: Any, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.supervisor.watch_once()  # restart crashed services, as `make run` does
            _, job = self.call("GET", f"/api/v1/jobs/{job_id}")
            if done(job):
                return job
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} never got there: {job}")


@pytest.fixture
def system(database_url: str, tmp_path: Path) -> Iterator[System]:
    token = asyncio.run(_prepare(database_url))
    addresses = Addresses("127.0.0.1", free_port(), free_port(), free_port(), free_port())
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        REDIS_URL=REDIS_URL,
        GEOCODER_BATCH_SIZE="5",
        JOB_PROGRESS_FLUSH_SECONDS="0.2",
        GEOCODER_PROVIDERS="local,zip_centroid",
        JOB_HEARTBEAT_TIMEOUT_SECONDS="5",
        JOB_HEARTBEAT_INTERVAL_SECONDS="1",
        UPLOAD_DIR=str(tmp_path / "uploads"),
        LOG_LEVEL="WARNING",
        **addresses.env(),
    )
    supervisor = Supervisor(env, log_dir=str(tmp_path))
    supervisor.start(timeout=30)
    system = System(supervisor, f"http://127.0.0.1:{addresses.gateway}", token)
    try:
        deadline = time.monotonic() + 30
        while system.call("GET", "/readyz")[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        yield system
    finally:
        supervisor.stop(grace=5)


def test_a_geocoding_job_created_through_rest_completes_and_households_get_coordinates(
    system: System,
) -> None:
    status, body = system.call(
        "POST", "/api/v1/gis/households/geocode?city=Raleigh&state=NC&providerId=local"
    )
    assert status == 202, body
    assert body["estimatedHouseholds"] == HOUSEHOLDS
    job = system.wait(body["jobId"], lambda j: j["status"] in ("completed", "failed"))
    assert job["status"] == "completed"
    assert job["processedItems"] + job["failedItems"] == HOUSEHOLDS
    assert job["processedItems"] > HOUSEHOLDS * 0.9
    _, page = system.call("GET", "/api/v1/gis/households?geocoded=true&limit=5")
    assert page["total"] == job["processedItems"]
    assert all(h["latitude"] and h["geocodingProvider"] == "local" for h in page["households"])


def test_a_geocoder_killed_mid_job_is_restarted_and_the_job_finishes_with_exact_counts(
    system: System,
) -> None:
    status, body = system.call("POST", "/api/v1/gis/households/geocode?city=Raleigh&providerId=zip_centroid")
    assert status == 202, body
    running = system.wait(body["jobId"], lambda j: j["processedItems"] >= 100, timeout=30)
    system.supervisor.services["geocoder"].kill()
    assert running["status"] == "processing"
    assert running["processedItems"] < HOUSEHOLDS
    job = system.wait(body["jobId"], lambda j: j["status"] in ("completed", "failed"), timeout=90)
    assert job["status"] == "completed", job
    assert (job["totalItems"], job["processedItems"], job["failedItems"]) == (HOUSEHOLDS, HOUSEHOLDS, 0)
    assert job["attempt"] == 2
    assert system.supervisor.services["geocoder"].restarts == 1
    _, page = system.call("GET", "/api/v1/gis/households?geocoded=false&limit=1")
    assert page["total"] == 0


CARY_VOTERS = b"""firstname,lastname,address,city,state,zip
Ana,Lopez,101 Maple St,Cary,NC,27511
Ben,Lopez,101 Maple St,Cary,NC,27511
Cy,Ng,12 Oak Ave Apt 2,Cary,NC,27511
Di,Ng,12 Oak Ave Apt 3,Cary,NC,27511
Ed,Ray,7 N Elm Dr,Cary,NC,27511
Flo,Ray,7 S Elm Dr,Cary,NC,27511
"""


def test_a_geocode_queued_behind_a_voter_import_geocodes_the_households_the_import_creates(
    system: System,
) -> None:
    run_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2))
    status, imported = system.upload(
        "/api/v1/voters/import", {"format": "simple_csv", "runAt": run_at}, "cary.csv", CARY_VOTERS
    )
    assert status == 202, imported
    status, queued = system.call(
        "POST",
        f"/api/v1/gis/households/geocode?city=Cary&providerId=zip_centroid&dependsOn={imported['jobId']}",
    )
    assert status == 202, queued  # no household of Cary exists yet: the import creates them
    geocode = system.wait(queued["jobId"], lambda j: j["status"] in ("completed", "failed", "cancelled"))
    assert geocode["status"] == "completed", geocode
    assert (geocode["processedItems"], geocode["failedItems"]) == (
        5,
        0,
    )  # 101 Maple, 2 apartments, N and S Elm
    _, voter_import = system.call("GET", f"/api/v1/jobs/{imported['jobId']}")
    assert voter_import["status"] == "completed"
    assert geocode["startedAt"] >= voter_import["completedAt"]
    assert (geocode["dependsOn"], geocode["waitingFor"]) == ([imported["jobId"]], [])


def test_a_resumable_upload_survives_its_importer_being_killed_between_pieces(system: System) -> None:
    status, created, _ = system.send("POST", "/api/v1/uploads", {"Upload-Length": str(len(CARY_VOTERS))})
    assert status == 201
    location, half = created["Location"], len(CARY_VOTERS) // 2
    piece = {"Content-Type": "application/offset+octet-stream"}
    assert system.send("PATCH", location, {**piece, "Upload-Offset": "0"}, CARY_VOTERS[:half])[0] == 204
    system.supervisor.services["importer"].kill()
    deadline = time.monotonic() + 30
    while (answer := system.send("HEAD", location, {}))[0] != 200 and time.monotonic() < deadline:
        system.supervisor.watch_once()  # the supervisor replaces the importer, as `make run` does
        time.sleep(0.2)
    assert answer[1]["Upload-Offset"] == str(half)
    assert system.send("PATCH", location, {**piece, "Upload-Offset": str(half)}, CARY_VOTERS[half:])[0] == 204
    form = f"format=simple_csv&filename=cary.csv&uploadId={location.rsplit('/', 1)[1]}".encode()
    urlencoded = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _, imported = system.send("POST", "/api/v1/voters/import", urlencoded, form)
    assert status == 202, imported
    job = system.wait(imported["jobId"], lambda j: j["status"] in ("completed", "failed"))
    assert (job["status"], job["processedItems"], job["failedItems"]) == ("completed", 6, 0)
    assert system.supervisor.services["importer"].restarts == 1
