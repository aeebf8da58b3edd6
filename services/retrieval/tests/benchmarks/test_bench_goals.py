"""The benchmarks' goal verdicts, ratios and /proc memory readings.

A goal that reads the wrong way round, a ratio over an unmeasured figure or a status line read
in the wrong unit would put a false ``true`` in a results file, where nobody re-checks it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from bench_goals import Goal, goals_object, process_mib, ratio, reset_peak_rss, status_mib

STATUS = """Name:\tpython
VmPeak:\t  912344 kB
VmHWM:\t  524288 kB
VmRSS:\t  262144 kB
Threads:\t4
"""


@pytest.mark.parametrize(
    ("value", "direction", "holds"),
    [
        (0.6, "at_least", True),
        (0.59, "at_least", False),
        (2.5, "at_least", True),
        (1.3, "at_most", True),
        (1.31, "at_most", False),
        (0.0, "at_most", True),
        (None, "at_least", False),
        (None, "at_most", False),
    ],
)
def test_a_goal_holds_on_its_own_side_of_the_bound_and_never_unmeasured(
    value: float | None, direction: str, holds: bool
) -> None:
    bound = 0.6 if direction == "at_least" else 1.3
    goal = Goal("g", value, bound, direction)  # type: ignore[arg-type]

    assert goal.holds is holds
    assert goal.describe().endswith("met" if holds else "NOT MET")


def test_a_zero_error_goal_fails_on_one_error() -> None:
    assert Goal("load_errors", 0, 0, "at_most").holds
    assert not Goal("load_errors", 1, 0, "at_most").holds


def test_the_goals_object_names_each_goal_once() -> None:
    goals = [Goal("ratio", 0.7, 0.6, "at_least"), Goal("rss_mib", 500.0, 450.0, "at_most")]

    assert goals_object(goals) == {"ratio": True, "rss_mib": False}
    with pytest.raises(ValueError, match="unique"):
        goals_object([*goals, Goal("ratio", 1.0, 0.6, "at_least")])


def test_a_ratio_over_nothing_measured_is_none_not_infinite() -> None:
    assert ratio(3.0, 4.0) == 0.75
    assert ratio(2.0, 3.0, digits=2) == 0.67
    assert ratio(1.0, 0.0) is None
    assert Goal("ratio", ratio(1.0, 0.0), 0.6, "at_least").holds is False


def test_status_fields_are_read_in_mib() -> None:
    assert status_mib(STATUS, "VmHWM") == 512.0
    assert status_mib(STATUS, "VmRSS") == 256.0
    with pytest.raises(ValueError, match="no VmSwap"):
        status_mib(STATUS, "VmSwap")
    with pytest.raises(ValueError, match="unit"):
        status_mib("VmRSS:\t1 MB\n", "VmRSS")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_reset_peak_starts_again_from_the_memory_resident_now() -> None:
    # A child that touches 64 MiB, frees it, then waits: its peak stays until reset.
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "b = bytearray(64 * 1024 * 1024)\n"
            "del b\n"
            "print('ready', flush=True)\n"
            "time.sleep(30)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        before = process_mib(child.pid, "VmHWM")
        assert before >= process_mib(child.pid, "VmRSS") + 60

        assert reset_peak_rss(child.pid)

        time.sleep(0.05)
        assert process_mib(child.pid, "VmHWM") < before - 60
    finally:
        child.kill()
        child.wait()


def test_a_reset_the_kernel_refuses_is_reported_not_raised() -> None:
    assert reset_peak_rss(2**22 + os.getpid()) is False  # no such process
