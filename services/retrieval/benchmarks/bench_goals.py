"""What the benchmarks share: their goals as booleans, ratios, and a process's memory from /proc.

Each benchmark writes a ``goals`` object (goal name -> whether it holds in this run) beside its
figures, so a reader of the JSON sees what holds without knowing the thresholds, and prints
each goal with its figure and bound. ``bench_ingest`` imports this module from the retrieval
benchmarks' folder, as ``bench_embed`` imports the BEIR loader.

Memory is read from ``/proc/<pid>/status``: ``VmRSS`` is resident memory now, ``VmHWM`` the
kernel's high-water mark of it (no sampling can miss the peak). Writing ``5`` to
``/proc/<pid>/clear_refs`` resets the mark, so a phase's peak can be told apart from an
earlier phase's (indexing before a search benchmark, say).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

KIB_PER_MIB = 1024


@dataclass(frozen=True)
class Goal:
    """``value`` must be ``at_most`` or ``at_least`` ``bound``; a figure not measured fails."""

    name: str
    value: float | None
    bound: float
    direction: Literal["at_most", "at_least"]

    @property
    def holds(self) -> bool:
        if self.value is None:
            return False
        if self.direction == "at_most":
            return self.value <= self.bound
        return self.value >= self.bound

    def describe(self) -> str:
        sign = "<=" if self.direction == "at_most" else ">="
        value = "not measured" if self.value is None else f"{self.value:g}"
        verdict = "met" if self.holds else "NOT MET"
        return f"{self.name}: {value} (goal {sign} {self.bound:g}) {verdict}"


def goals_object(goals: Sequence[Goal]) -> dict[str, bool]:
    """The ``goals`` field of a results file: each goal's name and whether it holds."""
    names = [goal.name for goal in goals]
    if len(set(names)) != len(names):
        raise ValueError(f"goal names must be unique: {names}")
    return {goal.name: goal.holds for goal in goals}


def ratio(numerator: float, denominator: float, digits: int = 3) -> float | None:
    """``numerator / denominator`` rounded, or None when the denominator was not measured."""
    if denominator <= 0:
        return None
    return round(numerator / denominator, digits)


def status_mib(status: str, field: str) -> float:
    """``field`` (``VmRSS``, ``VmHWM``, ...) of a ``/proc/<pid>/status`` text, in MiB."""
    prefix = f"{field}:"
    for line in status.splitlines():
        if line.startswith(prefix):
            value, unit = line[len(prefix) :].split()
            if unit != "kB":
                raise ValueError(f"unexpected unit in {line!r}")
            return int(value) / KIB_PER_MIB
    raise ValueError(f"no {field} in the status (a kernel thread, or not Linux?)")


def process_mib(pid: int, field: str) -> float:
    """``field`` of the live process ``pid``, in MiB."""
    return status_mib(Path(f"/proc/{pid}/status").read_text(), field)


def reset_peak_rss(pid: int) -> bool:
    """Start ``pid``'s ``VmHWM`` afresh from its resident memory now; False if not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True
