"""The cocoa-jobs command line against the test database (DATABASE_URL)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from gateway_helpers import Sessions, bearer
from sqlalchemy import func, select

from cocoa_common.ids import new_id, utcnow
from cocoa_common.models import ApiToken, ArchivedJob, Job, User
from cocoa_gateway.auth import hash_token
from cocoa_jobs import cli

ENTRY_POINT = Path(sys.executable).with_name("cocoa-jobs")


def run_cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed ``cocoa-jobs`` script, as an operator runs it."""
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run([str(ENTRY_POINT), *args], env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    """In-process runs of ``cli.main`` read DATABASE_URL like the script does."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    return database_url


def test_users_create_prints_only_the_user_id(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        cli.main(["users", "create", "--email", "Ops@Example.com", "--name", "Ops", "--role", "admin"]) == 0
    )
    printed = capsys.readouterr().out.strip()
    assert len(printed.splitlines()) == 1
    assert len(printed) == 25


def test_users_create_rejects_a_duplicate_email(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["users", "create", "--email", "ops@example.com", "--name", "Ops", "--role", "viewer"]
    assert cli.main(args) == 0
    capsys.readouterr()
    assert cli.main(args) == 1
    assert "already exists" in capsys.readouterr().err


def test_tokens_create_prints_only_the_token(database_url: str) -> None:
    created = run_cli(
        database_url, "users", "create", "--email", "a@example.com", "--name", "A", "--role", "admin"
    )
    assert created.returncode == 0, created.stderr
    result = run_cli(database_url, "tokens", "create", "--email", "a@example.com", "--expires-days", "30")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("cj_")
    assert result.stdout.strip().count("\n") == 0


def test_tokens_create_for_unknown_email_fails(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["tokens", "create", "--email", "nobody@example.com"]) == 1
    assert capsys.readouterr().out == ""


async def test_cli_token_authenticates_and_is_stored_hashed(
    client: TestClient, cli_env: str, sessions: Sessions, capsys: pytest.CaptureFixture[str]
) -> None:
    # cli.main runs its own event loop, so it goes to a thread here.
    import asyncio

    user_args = ["users", "create", "--email", "v@example.com", "--name", "V", "--role", "viewer"]
    assert await asyncio.to_thread(cli.main, user_args) == 0
    assert await asyncio.to_thread(cli.main, ["tokens", "create", "--email", "v@example.com"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert (await client.get("/api/v1/jobs", headers=bearer(token))).status == 200
    async with sessions() as session:
        stored = (
            await session.execute(select(ApiToken.token_hash).join(User).where(User.email == "v@example.com"))
        ).scalar_one()
    assert stored == hash_token(token)


async def test_tokens_revoke_makes_the_token_invalid(
    client: TestClient, cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    user_args = ["users", "create", "--email", "r@example.com", "--name", "R", "--role", "admin"]
    assert await asyncio.to_thread(cli.main, user_args) == 0
    assert await asyncio.to_thread(cli.main, ["tokens", "create", "--email", "r@example.com"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert await asyncio.to_thread(cli.main, ["tokens", "revoke", "--token", token]) == 0
    response = await client.get("/api/v1/jobs", headers=bearer(token))
    assert (await response.json())["error"] == "Unauthorized: Invalid token"


def test_migrate_brings_the_database_up_to_date(cli_env: str) -> None:
    assert cli.main(["migrate"]) == 0


def test_address_points_import_loads_the_file_and_reports_bad_lines(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "points.csv"
    csv.write_text(
        "LON,LAT,NUMBER,STREET,UNIT,CITY,DISTRICT,REGION,POSTCODE,ID\n"
        "-78.6,35.7,1,MAIN ST,,RALEIGH,,NC,27601,a\n"
        "oops,35.7,2,MAIN ST,,RALEIGH,,NC,27601,b\n"
    )
    assert cli.main(["address-points", "import", str(csv)]) == 0
    err = capsys.readouterr().err
    assert "line 3:" in err
    assert "imported 1 address points, rejected 1" in err


def test_address_points_import_of_a_missing_file_is_a_clear_error(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["address-points", "import", "/nonexistent/points.csv"]) == 1
    assert "cannot read /nonexistent/points.csv" in capsys.readouterr().err


def test_demo_seeds_households_once(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo", "--households", "50"]) == 0
    assert "seeded 50 demo households" in capsys.readouterr().err
    assert cli.main(["demo"]) == 1
    assert "already has households" in capsys.readouterr().err


async def test_jobs_archive_moves_long_finished_jobs_and_says_how_many(
    cli_env: str, sessions: Sessions, capsys: pytest.CaptureFixture[str]
) -> None:
    long_ago = utcnow() - timedelta(days=90)
    async with sessions.begin() as session:
        session.add(Job(id=new_id(), type="geocoding", status="completed", data="{}", output_stats="{}",
                        processed_items=1, failed_items=0, attempt=1, max_attempts=3, timeout_seconds=60.0,
                        created_at=long_ago, completed_at=long_ago, updated_at=long_ago))  # fmt: skip
    assert await asyncio.to_thread(cli.main, ["jobs", "archive", "--older-than-days", "30"]) == 0
    assert "archived 1 jobs" in capsys.readouterr().err
    async with sessions() as session:
        assert (await session.execute(select(func.count()).select_from(ArchivedJob))).scalar_one() == 1


def test_jobs_archive_refuses_when_archival_is_off_and_no_age_is_given(
    cli_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JOB_ARCHIVE_AFTER_DAYS", "0")
    assert cli.main(["jobs", "archive"]) == 1
    assert "pass --older-than-days" in capsys.readouterr().err


def test_jobs_archive_rejects_a_negative_age(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["jobs", "archive", "--older-than-days", "-1"]) == 1
    assert "0 or more" in capsys.readouterr().err


async def test_tokens_list_shows_a_users_working_tokens_and_revoke_by_id_stops_one(
    client: TestClient, cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    user_args = ["users", "create", "--email", "l@example.com", "--name", "L", "--role", "admin"]
    assert await asyncio.to_thread(cli.main, user_args) == 0
    assert await asyncio.to_thread(cli.main, ["tokens", "create", "--email", "l@example.com"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert await asyncio.to_thread(cli.main, ["tokens", "list", "--email", "l@example.com"]) == 0
    [line] = capsys.readouterr().out.strip().splitlines()
    token_id, created, expires, last_used = line.split()
    assert (created.startswith("created=20"), expires, last_used) == (
        True,
        "expires=never",
        "last_used=never",
    )
    assert token not in line
    assert await asyncio.to_thread(cli.main, ["tokens", "revoke", "--id", token_id]) == 0
    assert (await client.get("/api/v1/jobs", headers=bearer(token))).status == 401
    assert await asyncio.to_thread(cli.main, ["tokens", "revoke", "--id", token_id]) == 1
