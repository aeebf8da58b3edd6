"""The processes ``bench_ingest`` measures, and the CPU time they and the backing services spend.

Microservices mode on this machine: ``retrieval,ingestion`` (the worker, with the embedded
vector store) and ``gateway,generation``, on RabbitMQ under a namespace of their own and a
PostgreSQL catalog in a database of their own, all removed afterwards.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ragline_testing.postgres import catalog_url, scratch_database
from ragline_testing.process import RaglineProcess

REPO_ROOT = Path(__file__).resolve().parents[3]
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"
READY_TIMEOUT_S = 180.0
JOBS_IN_FLIGHT = 256


def process_cpu_seconds(process: RaglineProcess) -> float:
    """CPU time of the process and its children so far (parse processes included)."""
    pid = process.process.pid if process.process is not None else 0
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        pids += [int(child) for child in (task / "children").read_text().split()]
    total = 0
    for one in pids:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue  # a parse process that just ended
        # utime, stime, and for children also cutime, cstime (the processes they reaped)
        total += sum(int(value) for value in fields[11 : 15 if one != pid else 13])
    return total / os.sysconf("SC_CLK_TCK")


def backing_cpu_seconds() -> dict[str, float]:
    """CPU time so far of the machine's PostgreSQL and RabbitMQ processes (by command name):
    on a benchmark machine nothing else uses them, so a difference is what the pipeline cost."""
    names = {"postgres": "postgresql", "beam.smp": "rabbitmq"}
    totals = dict.fromkeys(names.values(), 0.0)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, _, rest = stat.read_text().rpartition(")")
        except (FileNotFoundError, ProcessLookupError):
            continue
        name = names.get(head.partition("(")[2])
        if name is not None:
            fields = rest.split()
            totals[name] += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return totals


def _retrying(action: Callable[[], None], what: str, attempts: int = 12) -> None:
    """Clean-up that outlasts a broker restart (other test suites restart RabbitMQ)."""
    for attempt in range(attempts):
        try:
            action()
            return
        except OSError as exc:  # aio-pika's connection errors are ConnectionErrors
            if attempt == attempts - 1:
                print(f"{what} failed: {exc}", file=sys.stderr)
            else:
                time.sleep(5)


@contextmanager
def ragline_stack(work: Path) -> Iterator[tuple[str, str, RaglineProcess, RaglineProcess]]:
    """Worker and gateway processes on fresh queues and a fresh catalog; torn down after."""
    for port, name in ((5672, "RabbitMQ"), (5432, "PostgreSQL")):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        except OSError:
            sys.exit(f"{name} is not reachable on 127.0.0.1:{port}; start it (make services)")
    namespace = f"bench-{secrets.token_hex(4)}"
    admin_token = secrets.token_urlsafe(24)
    common = {
        "RAGLINE_BROKER_KIND": "rabbitmq",
        "RAGLINE_BROKER_URL": RABBITMQ_URL,
        "RAGLINE_BROKER_NAMESPACE": namespace,
        "RAGLINE_INTERNAL_TOKEN": secrets.token_urlsafe(24),
        "RAGLINE_LOG_LEVEL": "warning",
    }
    processes: list[RaglineProcess] = []
    with scratch_database("ragline_bench") as database:
        try:
            worker = RaglineProcess(
                "retrieval,ingestion",
                {**common, "RAGLINE_DATA_DIR": str(work / "worker")},
                work / "worker.log",
                cwd=REPO_ROOT,
                ready_timeout_s=READY_TIMEOUT_S,
            )
            processes.append(worker)
            worker.start()
            gateway = RaglineProcess(
                "gateway,generation",
                {
                    **common,
                    "RAGLINE_DATA_DIR": str(work / "gateway"),
                    "RAGLINE_CATALOG_URL": catalog_url(database),
                    "RAGLINE_ADMIN_TOKEN": admin_token,
                    "RAGLINE_GATEWAY_KEY_PEPPER": secrets.token_hex(32),
                    "RAGLINE_GATEWAY_RETRIEVAL_URL": worker.url,
                    # The benchmark measures throughput, not the per-tenant limits.
                    "RAGLINE_GATEWAY_INGEST_PER_MINUTE": "10000000",
                    "RAGLINE_GATEWAY_QUERY_PER_MINUTE": "10000000",
                    # Nor the backlog limits: one tenant may hold a quarter of the backlog, and
                    # the corpus is uploaded faster than it is indexed.
                    "RAGLINE_GATEWAY_INGEST_BACKLOG_LIMIT": "10000000",
                    # One tenant uploads everything here; the fairness window (jobs of one
                    # tenant in the queue at once) must not be what is measured.
                    "RAGLINE_GATEWAY_TENANT_JOBS_IN_FLIGHT": os.environ.get(
                        "RAGLINE_GATEWAY_TENANT_JOBS_IN_FLIGHT", str(JOBS_IN_FLIGHT)
                    ),
                },
                work / "gateway.log",
                cwd=REPO_ROOT,
                ready_timeout_s=READY_TIMEOUT_S,
            )
            processes.append(gateway)
            gateway.start()
            yield gateway.url, admin_token, worker, gateway
        finally:
            from ragline_common.adapters.broker.rabbitmq import delete_topology

            for process in reversed(processes):
                try:
                    process.stop()
                except RuntimeError as exc:  # killed after ignoring SIGTERM: clean up anyway
                    print(exc, file=sys.stderr)
            _retrying(
                lambda: asyncio.run(delete_topology(RABBITMQ_URL, namespace)), "queue clean-up"
            )
