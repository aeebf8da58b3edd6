"""The cap on glibc's malloc arenas that ``ragline run`` sets before its services start."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from ragline_cli.malloc_arenas import limit_malloc_arenas

# Eight threads that each allocate while the others hold the lock: without a cap, glibc gives
# them arenas of their own. malloc_stats() prints one "Arena N:" block per arena to stderr.
_COUNT_ARENAS = """
import ctypes, sys, threading
from ragline_cli.malloc_arenas import limit_malloc_arenas
if sys.argv[1] == "limit":
    limit_malloc_arenas()
barrier = threading.Barrier(8)
def churn():
    barrier.wait()
    for _ in range(20000):
        bytearray(600)
threads = [threading.Thread(target=churn) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
ctypes.CDLL(None).malloc_stats()
"""

glibc_only = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc's mallopt"
)


def _arenas(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _COUNT_ARENAS, mode], capture_output=True, text=True, check=True
    )
    return done.stderr.count("Arena ")


@glibc_only
def test_threads_share_at_most_one_arena_per_core() -> None:
    cores = os.cpu_count() or 1
    if cores >= 8:
        pytest.skip("eight threads would not need more arenas than there are cores")
    assert _arenas("unlimited") > cores  # the threads do get arenas of their own
    assert _arenas("limit") <= cores


@glibc_only
def test_an_operators_own_limit_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas() is False
