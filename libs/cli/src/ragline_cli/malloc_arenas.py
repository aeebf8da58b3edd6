"""glibc's malloc arenas, capped at one per core before a serving process starts its threads.

glibc gives a thread that finds the main heap locked an arena of its own (up to eight per
core), and memory freed into an arena is reused only by the threads allocating from it. A
serving process has some thirty threads (encode and parser workers, onnxruntime's pool,
Qdrant's, the server's), so what one of them freed stays resident while another grows its own
arena. Measured on ``ragline run --target all`` after indexing 400 SciFact documents, then 300
searches and 50 concurrent clients (issue 15): the serving peak went from 389 to 360 MiB with
two arenas on two cores, at the same CPU per search and per indexed chunk.
"""

from __future__ import annotations

import ctypes
import os

M_ARENA_MAX = -8
"""``mallopt`` parameter number of the arena limit (glibc's ``malloc.h``)."""


def limit_malloc_arenas() -> bool:
    """Cap glibc's arenas at the number of cores; False if not done.

    Not done where the operator chose a limit (``MALLOC_ARENA_MAX`` or the
    ``glibc.malloc.arena_max`` tunable, read by glibc itself) or where the C library has no
    ``mallopt`` (musl, macOS). glibc fixes its limit once a process has more than eight arenas,
    so this runs first thing in ``ragline run``, before any service starts a thread.
    """
    if "MALLOC_ARENA_MAX" in os.environ or "arena_max" in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_ARENA_MAX, os.cpu_count() or 1))
