"""The front's allocator setting: keep freed tensor-sized buffers for the next request.

Every Predict allocates a few buffers the size of its tensors (the received message, the parsed
``tensor_content``, the bytes sent on). glibc hands out blocks above its mmap threshold (128 KiB
at first) as fresh mappings and returns freed heap tops to the kernel, so each request page-faults
its buffers in again: measured on the seed's 600 KB image, 350–550 minor faults and ~1.5 ms of
system CPU per request in the front, about half of its CPU. Raising the mmap threshold and the
trim threshold lets the next request reuse the same memory (2–4 faults per request). The cost is
memory the process keeps after a burst of large requests: at most ``TRIM_THRESHOLD`` per malloc
arena above what is in use.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

LOGGER = logging.getLogger(__name__)

# glibc's mallopt parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's largest (HEAP_MAX_SIZE / 2 on 64-bit)
TRIM_THRESHOLD = 128 * 1024 * 1024

_applied = False


def keep_freed_buffers() -> bool:
    """Apply the setting once per process; False where the C library is not glibc."""
    global _applied
    if _applied:
        return True
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        LOGGER.info("no glibc mallopt here: the front's buffers use the default allocator")
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    applied = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
    if not applied:
        LOGGER.warning("mallopt refused the front's allocator setting; keeping the default")
        return False
    _applied = True
    LOGGER.debug("allocator keeps freed buffers below %d bytes", MMAP_THRESHOLD)
    return True
