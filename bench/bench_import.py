"""Import a 1,000,000-row North Carolina voter file end to end, on PostgreSQL and on SQLite.

The county's parcel layer for the same residences is imported first, so the voter import links
every household it creates to its parcel. Floor, measured in the same run: ``psql \\copy`` of the
same file into an unindexed table of text columns. Also prints the importer process's peak memory
(VmHWM) and the re-import of the unchanged file.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench.common import (
    ADMIN_URL,
    bench_line,
    fresh_database,
    postgres_cpu_seconds,
    process_cpu_seconds,
    running_system,
)
from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa.coordinator.v1 import coordinator_pb2_grpc as cpb_grpc
from cocoa.importer.v1 import importer_pb2 as ipb
from cocoa.importer.v1 import importer_pb2_grpc as ipb_grpc
from cocoa_common import grpc_server
from cocoa_common.migrate import upgrade

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "1000000"))
SQLITE_ROWS = int(os.environ.get("BENCH_SQLITE_ROWS", "100000"))
CHUNK = 1024 * 1024


def generate(rows: int) -> tuple[Path, Path]:
    """The voter file and its parcel layer (CSV)."""
    path, parcels = Path(f"var/bench/ncvoter_{rows}.txt"), Path(f"var/bench/parcels_{rows}.csv")
    if not (path.exists() and parcels.exists()):
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "bench/gen_ncvoter.py", str(path), "--rows", str(rows), "--seed", "1",
             "--clean", "--parcels", str(parcels)],
            check=True,
        )  # fmt: skip
    return path, parcels


def psql_floor(path: Path, *, unlogged: bool = True, csv: bool = False) -> float:
    """Seconds for psql \\copy of the file into an unindexed table of text columns (unlogged: the
    stricter floor, since a logged table also writes the file's WAL)."""
    delimiter, encoding = (",", "UTF8") if csv else ("\t", "WIN1252")
    header = path.open("rb").readline().decode().strip().replace('"', "").split(delimiter)
    columns = ", ".join(f'"{c}" text' for c in header)
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_copy_floor")
        conn.execute(f"CREATE {'UNLOGGED ' if unlogged else ''}TABLE bench_copy_floor ({columns})")
    start = time.perf_counter()
    subprocess.run(
        ["psql", ADMIN_URL, "-q", "-c",
         f"\\copy bench_copy_floor from '{path}' with (format csv, delimiter E'{delimiter}', header true,"
         f" encoding '{encoding}')"],
        check=True,
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute("DROP TABLE bench_copy_floor")
    return elapsed


def schema_ceiling(url: str) -> float:
    """Seconds for psql \\copy to load the imported voters and households, as stored, into empty copies
    of their tables with the same indexes: what PostgreSQL alone needs, with no parsing at all."""
    with psycopg.connect(url, autocommit=True) as conn:
        for table in ("voters", "households"):
            conn.execute(f"DROP TABLE IF EXISTS ceiling_{table}")
            conn.execute(f"CREATE TABLE ceiling_{table} (LIKE {table} INCLUDING ALL)")
    dumps = {table: Path(f"var/bench/ceiling_{table}.copy") for table in ("voters", "households")}
    for table, dump in dumps.items():
        subprocess.run(["psql", url, "-q", "-c", f"\\copy {table} to '{dump}'"], check=True)
    start = time.perf_counter()
    for table, dump in dumps.items():
        subprocess.run(["psql", url, "-q", "-c", f"\\copy ceiling_{table} from '{dump}'"], check=True)
    elapsed = time.perf_counter() - start
    with psycopg.connect(url, autocommit=True) as conn:
        for table, dump in dumps.items():
            conn.execute(f"DROP TABLE ceiling_{table}")
            dump.unlink()
    return elapsed


def sqlite_floor(path: Path) -> float:
    """Seconds for the sqlite3 shell's .import of the file into a table of text columns."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "floor.db"
        script = f'.mode csv\n.separator "\\t"\n.import {path} floor\n'
        start = time.perf_counter()
        subprocess.run(["sqlite3", str(db)], input=script.encode(), check=True, capture_output=True)
        return time.perf_counter() - start


async def upload_and_wait(
    coordinator: str, importer: str, path: Path, kind: str = "voter_import"
) -> tuple[float, cpb.Job]:
    async with grpc_server.channel(importer) as c1, grpc_server.channel(coordinator) as c2:
        uploads, jobs = ipb_grpc.ImporterServiceStub(c1), cpb_grpc.CoordinatorServiceStub(c2)
        fmt = "ncsbe" if kind == "voter_import" else "csv"

        async def chunks():
            yield ipb.UploadChunk(
                header=ipb.UploadHeader(kind=kind, filename=path.name, format=fmt, import_type="full")
            )
            with path.open("rb") as f:
                while data := f.read(CHUNK):
                    yield ipb.UploadChunk(data=data)

        start = time.perf_counter()
        accepted = await uploads.Upload(chunks())
        while True:
            job = await jobs.GetJob(cpb.GetJobRequest(id=accepted.job_id))
            if job.status in (cpb.JOB_STATUS_COMPLETED, cpb.JOB_STATUS_FAILED):
                return time.perf_counter() - start, job
            await asyncio.sleep(0.1)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class ImportRun:
    seconds: float
    job: cpb.Job
    peak_mb: float  # the importer's VmHWM so far
    importer_cpu_s: float
    postgres_cpu_s: float


def run_import(
    url: str, path: Path, times: int, parcels: Path | None = None
) -> tuple[list[ImportRun], tuple[float, cpb.Job] | None]:
    """Import the parcel layer (if any), then the voter file ``times`` times."""
    results = []
    with running_system(url, ("coordinator", "importer"), UPLOAD_DIR="var/bench/uploads") as (
        addrs,
        supervisor,
    ):
        importer_pid = supervisor.services["importer"].process.pid
        coordinator, importer = f"127.0.0.1:{addrs.coordinator}", f"127.0.0.1:{addrs.importer}"
        parcel_run = None
        if parcels is not None:
            parcel_run = asyncio.run(upload_and_wait(coordinator, importer, parcels, "parcel_import"))
            assert parcel_run[1].status == cpb.JOB_STATUS_COMPLETED, parcel_run[1].failure_reason
        for _ in range(times):
            cpu_before = process_cpu_seconds(importer_pid), postgres_cpu_seconds()
            elapsed, job = asyncio.run(upload_and_wait(coordinator, importer, path))
            assert job.status == cpb.JOB_STATUS_COMPLETED, job.failure_reason
            importer_cpu = process_cpu_seconds(importer_pid) - cpu_before[0]
            postgres_cpu = postgres_cpu_seconds() - cpu_before[1]
            results.append(ImportRun(elapsed, job, peak_rss_mb(importer_pid), importer_cpu, postgres_cpu))
    return results, parcel_run


def main() -> None:
    path, parcels = generate(ROWS)
    floor_s = psql_floor(path)
    logged_floor_s = psql_floor(path, unlogged=False)
    parcel_floor_s = psql_floor(parcels, csv=True)
    floor_rate = ROWS / floor_s
    with fresh_database("cocoa_bench_import") as url:
        (first_run, again_run), parcel_run = run_import(url, path, 2, parcels)
        first_s, first, again_s = first_run.seconds, first_run.job, again_run.seconds
        peak = max(first_run.peak_mb, again_run.peak_mb)
        ceiling_s = schema_ceiling(url)
    assert parcel_run is not None
    assert first.processed_items + first.failed_items == ROWS, first
    rate, again_rate = ROWS / first_s, ROWS / again_s
    stats = json.loads(first.output_stats_json)
    parcel_s, parcel_job = parcel_run
    parcel_rows = parcel_job.processed_items + parcel_job.failed_items
    print(
        f"parcels {parcel_s:.1f}s ({parcel_rows} rows; psql \\copy {parcel_floor_s:.1f}s),"
        f" import {first_s:.1f}s ({stats['householdsCreated']} households,"
        f" {stats['householdsLinkedToParcels']} linked to parcels), re-import {again_s:.1f}s,"
        f" psql \\copy {floor_s:.1f}s (into a logged table {logged_floor_s:.1f}s),"
        f" stored rows into indexed tables {ceiling_s:.1f}s",
        file=sys.stderr,
    )
    print(
        f"first import CPU: importer {first_run.importer_cpu_s:.1f}s,"
        f" PostgreSQL {first_run.postgres_cpu_s:.1f}s, over {first_s:.1f}s on {os.cpu_count()} cores",
        file=sys.stderr,
    )
    parcel_rate, parcel_floor_rate = parcel_rows / parcel_s, parcel_rows / parcel_floor_s
    print(
        bench_line(
            "parcel_import_csv", parcel_rate, "rows/s", parcel_floor_rate, parcel_rate / parcel_floor_rate
        )
    )
    print(bench_line("voter_import_1m_postgres", rate, "rows/s", floor_rate, rate / floor_rate))
    print(bench_line("voter_reimport_1m_postgres", again_rate, "rows/s", floor_rate, again_rate / floor_rate))
    ceiling_rate = ROWS / ceiling_s
    print(
        bench_line(
            "voter_import_schema_ceiling_1m", ceiling_rate, "rows/s", floor_rate, ceiling_rate / floor_rate
        )
    )
    print(bench_line("voter_import_peak_memory", peak, "MB", 300, 300 / peak))

    small, _ = generate(SQLITE_ROWS)
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_url = f"sqlite:///{tmp}/bench.db"
        upgrade(sqlite_url)
        (sqlite_run,), _ = run_import(sqlite_url, small, 1)
    sqlite_s = sqlite_run.seconds
    sqlite_rate = SQLITE_ROWS / sqlite_s
    sqlite_floor_rate = SQLITE_ROWS / sqlite_floor(small)
    print(
        bench_line(
            "voter_import_100k_sqlite",
            sqlite_rate,
            "rows/s",
            sqlite_floor_rate,
            sqlite_rate / sqlite_floor_rate,
        )
    )


if __name__ == "__main__":
    main()
