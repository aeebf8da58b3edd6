"""Misbehaving parsers for the sandbox tests (no tests here).

Kept apart from the tests so that a parse child imports only this small module to unpickle
them: the tests' own imports would take longer than the timeouts under test.
"""

from __future__ import annotations

import os
import signal
import time

from ragline_ingestion.domain.parsing import ParsedDocument

_MB = 2**20


class SpinningParser:
    """Never returns, and holds the CPU: only killing the process stops it."""

    def parse(self, content: bytes) -> ParsedDocument:
        while True:
            pass


class SleepingParser:
    """Waits forever without using the CPU (a parser stuck on I/O or a lock)."""

    def parse(self, content: bytes) -> ParsedDocument:
        time.sleep(3600)
        raise AssertionError("unreachable")


class GreedyParser:
    """Allocates (and touches) memory in 16 MB steps up to 2 GB."""

    def parse(self, content: bytes) -> ParsedDocument:
        blocks = [bytearray(16 * _MB) for _ in range(128)]
        return ParsedDocument(text=str(len(blocks)), sections=())


class SegfaultingParser:
    """Dies the way a parser written in C does on a bad pointer."""

    def parse(self, content: bytes) -> ParsedDocument:
        os.kill(os.getpid(), signal.SIGSEGV)
        raise AssertionError("unreachable")


class BuggyParser:
    def parse(self, content: bytes) -> ParsedDocument:
        raise KeyError("a bug in the parser")
