"""``ragline run`` as a child process, for end-to-end tests and benchmarks alike.

Both need the same things of it: free ports (the API's and the metrics listener's), a log file
to show when it fails, readiness by ``/readyz`` (``/healthz`` where a process cannot be ready
alone), a clean SIGTERM shutdown they can check, and its memory as the kernel sees it.
Kept apart from :mod:`ragline_testing.harness`, which imports pytest: benchmarks are not tests.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

READY_TIMEOUT_S = 300.0
"""Loading the embedding model and opening a large shard take a while on two cores."""


def unused_port() -> int:
    """A loopback port nothing listens on: bound once to let the OS pick it, then released.

    For a child process to listen on, or for "the peer is down" tests. A server in the test's
    own process should use :func:`ragline_testing.harness.serve_asgi`, which keeps the socket it
    binds and so cannot race another process for the port.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@dataclass
class RaglineProcess:
    """One ``ragline run --target ...`` process, its port and its log file."""

    targets: str
    env: Mapping[str, str]
    log_path: Path
    cwd: Path | None = None
    ready_timeout_s: float = READY_TIMEOUT_S
    ready_path: str = "/readyz"
    """``/healthz`` for a process that cannot be ready alone (a gateway without retrieval)."""
    port: int = field(default_factory=unused_port)
    metrics_port: int = field(default_factory=unused_port)
    """Its own metrics listener: several processes on one machine cannot share the default."""
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def metrics_url(self) -> str:
        """Where ``GET /metrics`` is served (never on :attr:`url`)."""
        return f"http://127.0.0.1:{self.metrics_port}"

    def start(self, *, wait: bool = True) -> RaglineProcess:
        """Launch it (model downloads off, whatever the caller's environment says)."""
        env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            **self.env,
            "RAGLINE_PORT": str(self.port),
            "RAGLINE_METRICS_HOST": "127.0.0.1",
            "RAGLINE_METRICS_PORT": str(self.metrics_port),
        }
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "ragline_cli", "run", "--target", self.targets],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
            )
        if wait:
            self.wait_ready(self.ready_timeout_s)
        return self

    def mapped_files(self) -> set[str]:
        """Files the running process has mapped (its shared libraries among them), from
        ``/proc``: what it has imported shows here without asking the process anything."""
        process = self._running()
        maps = Path(f"/proc/{process.pid}/maps").read_text()
        return {line.split(maxsplit=5)[5] for line in maps.splitlines() if len(line.split()) == 6}

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        process = self._running()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{self.targets} exited with {process.returncode}:\n{self.log_tail()}"
                )
            try:
                if httpx.get(f"{self.url}{self.ready_path}", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{self.targets} not ready in {timeout_s:g} s:\n{self.log_tail()}")

    def stop(self, timeout_s: float = 30.0) -> bool:
        """SIGTERM and wait; True when the process shut down cleanly within the grace period.

        uvicorn re-raises the SIGTERM it handled once shutdown is complete (so the exit status
        says "terminated by SIGTERM", as supervisors expect); clean means the lifespan shutdown
        finished, which the log proves. A process that ignores SIGTERM is killed, and that is
        an error.
        """
        if self.process is None:
            return True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise RuntimeError(f"{self.targets} ignored SIGTERM:\n{self.log_tail()}") from None
        clean_status = self.process.returncode in (0, -signal.SIGTERM)
        return clean_status and "Application shutdown complete" in self.log_tail(200)

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def rss_mb(self) -> float:
        """Resident memory now."""
        return self._status_kib("VmRSS:") / 1024

    def peak_rss_mb(self) -> float:
        """The resident-memory high-water mark."""
        return self._status_kib("VmHWM:") / 1024

    def _status_kib(self, field_name: str) -> int:
        status = Path(f"/proc/{self._running().pid}/status").read_text()
        value = next(line.split()[1] for line in status.splitlines() if line.startswith(field_name))
        return int(value)

    def _running(self) -> subprocess.Popen[bytes]:
        if self.process is None:
            raise RuntimeError(f"{self.targets} was never started")
        return self.process
