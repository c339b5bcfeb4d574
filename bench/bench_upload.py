"""Resumable upload of the 1M-row voter file (about 440 MB) through the gateway, in the Jobs page's
8 MiB tus pieces, until the import naming it is accepted (202); against the floor of the same file
sent as one multipart request to the same route, in the same run. The import queue is paused, so
the jobs wait and only the uploads are timed.

    BENCH upload_resumable_1m value=<MB/s> unit=MB/s floor=<MB/s of one multipart request> ratio=...
"""

from __future__ import annotations

import asyncio
import base64
import sys
import time
from pathlib import Path

import aiohttp

from bench.bench_import import ROWS, generate
from bench.common import admin_token, bench_line, call, fresh_database, running_system

PIECE = 8 * 1024 * 1024
TUS = {"Tus-Resumable": "1.0.0"}


async def multipart(base: str, token: str, path: Path) -> float:
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        start = time.perf_counter()
        with path.open("rb") as f:
            form = aiohttp.FormData()
            form.add_field("format", "ncsbe")
            form.add_field("file", f, filename=path.name, content_type="application/octet-stream")
            async with http.post(f"{base}/api/v1/voters/import", data=form) as response:
                assert response.status == 202, await response.text()
        return time.perf_counter() - start


async def resumable(base: str, token: str, path: Path) -> float:
    size = path.stat().st_size
    metadata = "filename " + base64.b64encode(path.name.encode()).decode()
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}", **TUS}) as http:
        start = time.perf_counter()
        headers = {"Upload-Length": str(size), "Upload-Metadata": metadata}
        async with http.post(f"{base}/api/v1/uploads", headers=headers) as response:
            assert response.status == 201, await response.text()
            upload = await response.json()
        offset = 0
        with path.open("rb") as f:
            while piece := f.read(PIECE):
                headers = {"Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}
                async with http.patch(base + upload["location"], data=piece, headers=headers) as response:
                    assert response.status == 204, await response.text()
                    offset = int(response.headers["Upload-Offset"])
        form = {"uploadId": upload["uploadId"], "format": "ncsbe"}
        sent = time.perf_counter()
        async with http.post(f"{base}/api/v1/voters/import", data=form) as response:
            assert response.status == 202, await response.text()
        done = time.perf_counter()
        print(f"the import naming the upload answered in {done - sent:.2f}s", file=sys.stderr)
        return done - start


def main() -> None:
    path, _ = generate(ROWS)
    megabytes = path.stat().st_size / 1e6
    with fresh_database("cocoa_bench_upload") as url:
        token = admin_token(url)
        services = ("coordinator", "importer", "gateway")
        with running_system(url, services, UPLOAD_DIR="var/bench/uploads") as (addrs, _):
            base = f"http://127.0.0.1:{addrs.gateway}"
            status, body = call(base, token, "POST", "/api/v1/queues/voter_import/pause")
            assert status == 200, body
            floor_s = asyncio.run(multipart(base, token, path))
            value_s = asyncio.run(resumable(base, token, path))
    print(
        f"{megabytes:.0f} MB: one multipart request {floor_s:.1f}s; resumable {value_s:.1f}s", file=sys.stderr
    )
    value, floor = megabytes / value_s, megabytes / floor_s
    print(bench_line("upload_resumable_1m", value, "MB/s", floor, value / floor))


if __name__ == "__main__":
    main()
