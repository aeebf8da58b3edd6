"""``ragline ingest PATH...``: upload files to a running Ragline and wait until they are indexed.

A client of the public API, like any other: files go to ``POST /v1/documents`` as multipart
uploads, a few at a time, then their jobs are polled until each is ``indexed`` or ``failed``.
The gateway decides what is acceptable (type, size, emptiness), so a refused upload is simply a
failed file with the gateway's reason; nothing is checked twice here. ``429``/``503`` answers
are waited out as their ``Retry-After`` says, so a large folder paces itself to the tenant's
rate limit instead of failing.

The exit status is 0 only if every file was indexed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from ragline_cli.gateway_api import GatewayApi, Refused

POLL_INTERVAL_S = 0.5
REQUEST_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Outcome:
    path: Path
    indexed: bool
    detail: str
    """Chunk count when indexed, else the reason it failed."""


def collect_files(paths: Sequence[Path]) -> list[Path]:
    """Files named, and the files under folders named (hidden ones skipped), each once."""
    files: dict[Path, None] = {}
    for path in paths:
        if path.is_dir():
            for found in sorted(path.rglob("*")):
                relative = found.relative_to(path).parts
                if found.is_file() and not any(part.startswith(".") for part in relative):
                    files[found] = None
        else:
            files[path] = None
    return list(files)


class _Ingestion:
    """One run over a list of files: upload, then follow each job to its end."""

    def __init__(
        self, api: GatewayApi, progress: Progress, *, total: int, concurrency: int, deadline: float
    ) -> None:
        self._api = api
        self._progress = progress
        self._uploads = asyncio.Semaphore(concurrency)
        # Polling holds a slot per job until it ends: at most ``concurrency`` requests every
        # POLL_INTERVAL_S, oldest jobs first, however many files there are.
        self._watchers = asyncio.Semaphore(concurrency)
        self._deadline = deadline
        self._sent: TaskID = progress.add_task("files sent", total=total)
        self._finished: TaskID = progress.add_task("jobs finished", total=total)

    async def run(self, files: Sequence[Path]) -> list[Outcome]:
        return list(await asyncio.gather(*(self._one(path) for path in files)))

    async def _one(self, path: Path) -> Outcome:
        try:
            async with self._uploads:
                try:
                    accepted = await self._upload(path)
                finally:
                    self._progress.advance(self._sent)
        except Refused as exc:
            outcome = Outcome(path, indexed=False, detail=str(exc))
        else:
            async with self._watchers:
                outcome = await self._follow(path, accepted["job_id"])
        self._progress.advance(self._finished)
        return outcome

    async def _upload(self, path: Path) -> dict[str, Any]:
        try:
            content = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            raise Refused(f"cannot read the file: {exc.strerror}") from exc
        return await self._api.request(
            "POST", "/v1/documents", files={"file": (path.name, content)}
        )

    async def _follow(self, path: Path, job_id: str) -> Outcome:
        while True:
            try:
                job = await self._api.request("GET", f"/v1/jobs/{job_id}")
            except Refused as exc:
                return Outcome(path, indexed=False, detail=str(exc))
            if job["status"] == "indexed":
                return Outcome(path, indexed=True, detail=f"{job['chunk_count']} chunks")
            if job["status"] == "failed":
                return Outcome(path, indexed=False, detail=job.get("reason") or "failed")
            if time.monotonic() >= self._deadline:
                return Outcome(
                    path,
                    indexed=False,
                    detail=f"still {job['status']} when the wait ended (job {job_id})",
                )
            await asyncio.sleep(POLL_INTERVAL_S)


async def ingest(
    files: Sequence[Path],
    *,
    url: str,
    api_key: str,
    concurrency: int,
    wait_s: float,
    console: Console,
) -> list[Outcome]:
    columns = (TextColumn("{task.description:>13}"), BarColumn(), MofNCompleteColumn())
    async with httpx.AsyncClient(
        base_url=url,
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=REQUEST_TIMEOUT_S,
    ) as http:
        with Progress(*columns, console=console) as progress:
            run = _Ingestion(
                GatewayApi(http),
                progress,
                total=len(files),
                concurrency=concurrency,
                deadline=time.monotonic() + wait_s,
            )
            return await run.run(files)


def print_summary(console: Console, outcomes: Sequence[Outcome]) -> None:
    failed = [outcome for outcome in outcomes if not outcome.indexed]
    if failed:
        table = Table(title="Failed", title_justify="left")
        table.add_column("file", overflow="fold")
        table.add_column("reason", overflow="fold")
        for outcome in failed:
            table.add_row(str(outcome.path), outcome.detail)
        console.print(table)
    console.print(f"{len(outcomes) - len(failed)} indexed, {len(failed)} failed")


@click.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--url",
    envvar="RAGLINE_URL",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="The gateway's base URL (or RAGLINE_URL).",
)
@click.option(
    "--api-key",
    envvar="RAGLINE_API_KEY",
    required=True,
    help="A key with the 'ingest' scope (or RAGLINE_API_KEY).",
)
@click.option(
    "--concurrency",
    default=4,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Uploads (and job polls) in flight at once.",
)
@click.option(
    "--wait",
    "wait_s",
    default=600.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds to wait for the jobs; those still running then count as failed.",
)
def ingest_command(
    paths: tuple[Path, ...], url: str, api_key: str, concurrency: int, wait_s: float
) -> None:
    """Upload files and folders (recursively) and wait until they are indexed."""
    files = collect_files(paths)
    if not files:
        raise click.UsageError("no files to upload in the paths given")
    console = Console()
    outcomes = asyncio.run(
        ingest(
            files,
            url=url,
            api_key=api_key,
            concurrency=concurrency,
            wait_s=wait_s,
            console=console,
        )
    )
    print_summary(console, outcomes)
    if any(not outcome.indexed for outcome in outcomes):
        raise SystemExit(1)
