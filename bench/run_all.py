"""``make bench``: every benchmark in turn; each ends with its BENCH lines."""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = ["bench.bench_address", "bench.bench_geocode", "bench.bench_import", "bench.bench_upload"]


def main() -> None:
    failed = []
    for module in BENCHMARKS:
        print(f"== {module}", flush=True)
        if subprocess.call([sys.executable, "-m", module]) != 0:
            failed.append(module)
    if failed:
        sys.exit(f"benchmarks failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
