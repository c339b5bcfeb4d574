"""The importer's glibc heap settings, in a process of its own (they last for the process)."""

from __future__ import annotations

import subprocess
import sys

# Allocates and frees 64 buffers of 2 MiB, then reports how much of them stayed resident.
PROBE = """
import sys
from cocoa_common.heap import keep_large_buffers_out_of_the_heap
def rss_kb():
    return int(next(l for l in open('/proc/self/status') if l.startswith('VmRSS:')).split()[1])
if sys.argv[1] == 'tuned':
    assert keep_large_buffers_out_of_the_heap()
buffers = [bytearray(1)]
del buffers
before = rss_kb()
for _ in range(8):
    buffers = [bytearray(2 << 20) for _ in range(8)]
    small = [bytes(100) for _ in range(2000)]  # pins the heap top between the large ones
    del buffers
print(rss_kb() - before)
"""


def resident_after_freeing(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


def test_large_buffers_go_back_to_the_system_once_freed() -> None:
    assert resident_after_freeing("tuned") < 4 * 1024  # KiB: at most a few pages stay
