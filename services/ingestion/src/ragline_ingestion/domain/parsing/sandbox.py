"""Parsing in a child process that can be capped and killed.

Parsers are large C and Python libraries fed bytes from strangers: a crafted file can make
one loop, allocate without bound or crash outright. A thread cannot be stopped or capped, so
each document is parsed in a fresh child process:

- its address space is capped with ``RLIMIT_AS``: an allocation beyond the cap fails inside
  the child (``MemoryError``, or a crash in C code), never in the worker;
- it is killed (``SIGKILL``) when the parse time runs out, and ``RLIMIT_CPU`` stops it even if
  the worker itself dies first and cannot kill it;
- whatever happens to it, the worker only sees an outcome, turned here into a
  ``PermanentProcessingError`` with a human reason; other documents have their own processes.

One process per document, not a pool: killing a pool worker breaks the whole pool (and every
document queued on it), and a fresh process cannot leak one tenant's data into the next
document. Children are forked from a fork server that has already imported the parsers, so a
parse starts in milliseconds, and forking from it (single-threaded) is safe where forking the
worker (event loop, client threads) is not.

:meth:`ParseSandbox.run` blocks: call it from a worker thread, never on the event loop.
"""

from __future__ import annotations

import multiprocessing
import resource
import signal
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext, SpawnContext
from typing import Literal

import structlog

from ragline_common.errors import PermanentProcessingError
from ragline_ingestion.domain.parsing.document import ParsedDocument, Parser

_log = structlog.get_logger(__name__)

# Imported once by the fork server, so each child starts with the parsers (and this module,
# the child's entry point) loaded. "__main__" first, as multiprocessing does by default:
# children then skip re-importing the main module.
_PRELOAD = ["__main__", __name__, "ragline_ingestion.domain.parsing"]
_JOIN_TIMEOUT_S = 5.0
# Extra CPU seconds before RLIMIT_CPU fires: the wall-clock kill by the worker comes first.
_CPU_GRACE_S = 5

_Outcome = (
    tuple[Literal["parsed"], ParsedDocument]
    | tuple[Literal["refused"], str, str]
    | tuple[Literal["out_of_memory"]]
    | tuple[Literal["crashed"], str]
)


def _context() -> ForkServerContext | SpawnContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


class ParseSandbox:
    def __init__(self, *, memory_mb: int, timeout_s: float) -> None:
        self._memory_mb = memory_mb
        self._timeout_s = timeout_s
        self._context = _context()

    def run(self, parser: Parser, content: bytes) -> ParsedDocument:
        """``parser.parse(content)`` in a child process; blocks until it ends or is killed."""
        receiver, sender = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=_parse_in_child,
            args=(sender, parser, content, self._memory_mb, self._timeout_s),
            name="ragline-parse",
            daemon=True,
        )
        try:
            process.start()
        except BaseException:
            receiver.close()
            raise
        finally:
            sender.close()  # the child holds the only writer: EOF means it is gone
        try:
            if not receiver.poll(self._timeout_s):
                process.kill()
                raise self._timed_out()
            try:
                outcome: _Outcome = receiver.recv()
            except EOFError:
                process.join(_JOIN_TIMEOUT_S)
                raise self._died(process.exitcode) from None
        finally:
            if process.is_alive():
                process.kill()
            process.join(_JOIN_TIMEOUT_S)
            receiver.close()
            process.close()
        return self._result(outcome)

    def _result(self, outcome: _Outcome) -> ParsedDocument:
        match outcome:
            case ("parsed", document):
                return document
            case ("refused", detail, code):
                raise PermanentProcessingError(detail, code=code)
            case ("out_of_memory",):
                raise self._out_of_memory()
            case ("crashed", error_type):
                _log.warning("document_parser_crashed", error_type=error_type)
        raise PermanentProcessingError(
            "the document could not be parsed (the parser failed on it)", code="parse_failed"
        )

    def _timed_out(self) -> PermanentProcessingError:
        return PermanentProcessingError(
            f"parsing took longer than {self._timeout_s:g} s", code="parse_timeout"
        )

    def _out_of_memory(self) -> PermanentProcessingError:
        return PermanentProcessingError(
            f"the document needs more than {self._memory_mb} MB to parse",
            code="parse_memory_exceeded",
        )

    def _died(self, exitcode: int | None) -> PermanentProcessingError:
        if exitcode == -signal.SIGXCPU:
            return self._timed_out()
        _log.warning("document_parser_died", exitcode=exitcode)
        return PermanentProcessingError(
            "the parser stopped unexpectedly on this document (it may need more than "
            f"{self._memory_mb} MB)",
            code="parse_crashed",
        )


def _parse_in_child(
    connection: Connection, parser: Parser, content: bytes, memory_mb: int, timeout_s: float
) -> None:
    memory = memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = int(timeout_s) + _CPU_GRACE_S
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    outcome: _Outcome
    try:
        outcome = ("parsed", parser.parse(content))
    except PermanentProcessingError as exc:
        outcome = ("refused", exc.detail, exc.code)
    except MemoryError:
        outcome = ("out_of_memory",)
    except RecursionError:
        outcome = ("refused", "the document is nested too deeply to parse", "too_deeply_nested")
    except Exception as exc:  # any other failure is this document's, reported as such
        outcome = ("crashed", type(exc).__name__)
    del content
    try:
        connection.send(outcome)
    except MemoryError:
        connection.send(("out_of_memory",))
    connection.close()
