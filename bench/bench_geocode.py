"""Geocode 100,000 households with the ``local`` provider through the whole system on PostgreSQL.

Floor, measured in the same run on the same database: one ``UPDATE ... FROM (VALUES ...)`` writing the
same 100,000 coordinates. Also measures the time from ``POST`` to ``processing`` on an idle system.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time

import psycopg

from bench.common import admin_token, bench_line, call, fresh_database, running_system, wait_for_job

N = int(os.environ.get("BENCH_HOUSEHOLDS", "100000"))
BATCH = os.environ.get("BENCH_GEOCODER_BATCH_SIZE", "1000")
LATENCY_SAMPLES = 30
STREETS = [f"{a}{b}" for a in ("OAK", "ELM", "PINE", "MAPLE", "CEDAR") for b in ("WOOD", "DALE", "FIELD", "CREST",
           "HILL", "BROOK", "RIDGE", "VIEW", "HAVEN", "GATE")]  # fmt: skip


def seed(url: str) -> list[tuple[int, float, float]]:
    """N households in one ZIP, each with a matching address point (COPY: fast and exact)."""
    rng = random.Random(1)
    coords = []
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY households (household_key, location_key, house_number, predir, street_name, suffix, postdir,"
            " unit_type, unit, city, state, zip_code, county, precinct, full_address, geocoded,"
            " created_at, updated_at) FROM STDIN"
        ) as copy:
            for i in range(N):
                number, street = str(i // 50 + 1), STREETS[i % 50]
                loc = f"{number}||{street}|ST||BENCHVILLE|NC|27601"
                copy.write_row((loc + "|", loc, number, "", street, "ST", "", "", "", "BENCHVILLE", "NC", "27601",
                                "WAKE", "1", f"{number} {street} ST, BENCHVILLE, NC 27601", False,
                                "2026-01-01", "2026-01-01"))  # fmt: skip
        with cur.copy(
            "COPY address_points (location_key, street_key, source, source_id, number, street, unit, city, region,"
            " postcode, longitude, latitude) FROM STDIN"
        ) as copy:
            for i in range(N):
                number, street = str(i // 50 + 1), STREETS[i % 50]
                lat, lon = 35.7 + rng.random() / 10, -78.6 - rng.random() / 10
                coords.append((lat, lon))
                copy.write_row((f"{number}||{street}|ST||BENCHVILLE|NC|27601", f"{number}||{street}|ST|", "bench",
                                str(i), number, f"{street} ST", "", "BENCHVILLE", "NC", "27601", lon, lat))  # fmt: skip
        conn.commit()
        cur.execute("SELECT id FROM households ORDER BY id")
        ids = [r[0] for r in cur.fetchall()]
    cur_coords = [(hid, lat, lon) for hid, (lat, lon) in zip(ids, coords, strict=True)]
    with psycopg.connect(url) as conn:
        conn.execute("ANALYZE")
    return cur_coords


def floor_update(url: str, coords: list[tuple[int, float, float]]) -> float:
    """Seconds for one UPDATE ... FROM (VALUES ...) of every coordinate; the households are reset after."""
    values = ",".join(f"({hid},{lat},{lon})" for hid, lat, lon in coords)
    with psycopg.connect(url) as conn:
        start = time.perf_counter()
        conn.execute(
            "UPDATE households AS h SET latitude = v.lat, longitude = v.lon, geocoded = true, geocoded_at = now(),"
            " geocoding_provider = 'local', geocode_precision = 'rooftop', geocode_confidence = 0.95,"
            f" updated_at = now() FROM (VALUES {values}) AS v(id, lat, lon) WHERE h.id = v.id"
        )
        conn.commit()
        elapsed = time.perf_counter() - start
        conn.execute(
            "UPDATE households SET latitude = NULL, longitude = NULL, geocoded = false, geocoded_at = NULL,"
            " geocoding_provider = NULL, geocode_precision = NULL, geocode_confidence = NULL"
        )
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE households")
    return elapsed


def latency(base: str, token: str) -> tuple[float, float]:
    """p50 of POST -> processing (ms) for one-household jobs, and p50 of a /healthz round trip (the floor)."""
    posts, pings = [], []
    for _ in range(LATENCY_SAMPLES):
        start = time.perf_counter()
        call(base, "", "GET", "/healthz")
        pings.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        status, body = call(
            base,
            token,
            "POST",
            "/api/v1/gis/households/geocode?city=Benchville&limit=1&skipGeocoded=false&providerId=local",
        )
        assert status == 202, body
        while True:
            _, job = call(base, token, "GET", f"/api/v1/jobs/{body['jobId']}")
            if job["status"] != "pending":
                break
        posts.append((time.perf_counter() - start) * 1000)
        wait_for_job(base, token, body["jobId"], ("completed",))
    return statistics.median(posts), statistics.median(pings)


def main() -> None:
    with fresh_database("cocoa_bench_geocode") as url:
        t = time.perf_counter()
        coords = seed(url)
        print(f"seeded {N} households and address points in {time.perf_counter() - t:.1f}s", file=sys.stderr)
        floor_s = floor_update(url, coords)
        floor_rate = N / floor_s
        token = admin_token(url)
        with running_system(url, ("coordinator", "geocoder", "gateway"), GEOCODER_BATCH_SIZE=BATCH) as (
            addrs,
            _,
        ):
            base = f"http://127.0.0.1:{addrs.gateway}"
            p50_post, p50_ping = latency(base, token)
            start = time.perf_counter()
            status, body = call(
                base,
                token,
                "POST",
                f"/api/v1/gis/households/geocode?city=Benchville&limit={N}&skipGeocoded=false&providerId=local",
            )
            assert status == 202, body
            job = wait_for_job(base, token, body["jobId"], ("completed", "failed"))
            elapsed = time.perf_counter() - start
        print(f"job: {elapsed:.2f}s; floor UPDATE: {floor_s:.2f}s; batch size {BATCH}", file=sys.stderr)
        assert job["status"] == "completed", job
        assert job["processedItems"] == N, job
        rate = N / elapsed
        print(bench_line("geocode_local_100k", rate, "households/s", floor_rate, rate / floor_rate))
        print(bench_line("geocode_post_to_processing_p50", p50_post, "ms", p50_ping, p50_ping / p50_post))


if __name__ == "__main__":
    main()
