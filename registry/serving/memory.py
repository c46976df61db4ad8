"""Keep a threaded worker's memory from growing with every burst of requests.

WHY: glibc's malloc gives each thread that allocates an arena of its own
(up to eight per core) and, after a large block is freed, raises its
"use mmap" threshold to that block's size.  The receipt KDF allocates
19 MiB per derivation and photo cleaning tens of MiB: after the first
one, such blocks come from the arenas, and a freed block in the middle of
an arena is never given back.  Measured with 60 uploads finishing at once
(bench part e): a worker went from 145 MiB to 469 MiB and stayed there.

A fixed mmap threshold of 1 MiB sends every large block to its own mapping,
returned to the system when freed, and two arenas per process bound the
fragmentation of the small ones; the cost is a system call per large
allocation, nothing next to the work that needs one.
"""

from __future__ import annotations

import ctypes
import ctypes.util

# mallopt(3) parameters (glibc's malloc.h).
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD_BYTES = 1024 * 1024
ARENAS = 2


def bound_malloc() -> bool:
    """Tune glibc's malloc as explained above; False where there is no glibc."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False  # not glibc (e.g. musl): nothing to tune
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(M_ARENA_MAX, ARENAS)
    )
