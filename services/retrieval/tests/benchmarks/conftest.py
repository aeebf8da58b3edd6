"""The benchmark scripts are not a package: make their folder importable for these tests."""

from __future__ import annotations

import sys

from tiny_beir import BENCHMARKS

if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))
