"""glibc heap settings for a process that handles large transient buffers (the importer's batches,
file chunks and COPY payloads).

By default glibc serves an allocation of 128 KiB or more with its own mmap and unmaps it when it is
freed, but after the first such free it raises that threshold as high as 32 MiB. From then on
batch-sized buffers come from the heap, where a freed one can only be reused by a buffer that fits
its hole, and the process's resident size creeps up and varies from run to run with the order of
allocations. Pinning both thresholds at 1 MiB keeps every large buffer out of the heap and returns
it to the system when it is freed; the importer's peak on the 1M-row benchmark went from
255-289 MB to 235-244 MB, at the same speed (docs/benchmarks.md).
"""

from __future__ import annotations

import ctypes
import ctypes.util

THRESHOLD_BYTES = 1 << 20
# mallopt parameters (glibc's malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3


def keep_large_buffers_out_of_the_heap(threshold_bytes: int = THRESHOLD_BYTES) -> bool:
    """Serve allocations of ``threshold_bytes`` or more with mmap, and give the heap's free top back
    past the same size; False where the C library is not glibc (nothing is changed there)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(M_MMAP_THRESHOLD, threshold_bytes)) and bool(
        mallopt(M_TRIM_THRESHOLD, threshold_bytes)
    )
