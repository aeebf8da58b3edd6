"""``ragline reindex``: change the embedding model without downtime, through the operator API.

``--model SPEC`` starts a reindex (``POST /v1/admin/index-models``): the gateway re-embeds every
live document version into the new model's index, fairly per tenant, and switches reads when it
completes (ADR 0018). ``--wait`` follows the progress until then. ``--status``, ``--activate``
(switch, or switch back) and ``--drop`` are the other operator calls.

The operator token comes from ``RAGLINE_ADMIN_TOKEN`` or, as ``make run`` leaves it, the file
``<RAGLINE_DATA_DIR>/secrets/admin-token``; it is sent, never printed. Exit status 0 means the
gateway did what was asked (with ``--wait``: reads switched to the model).
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import click
import httpx
from rich.console import Console
from rich.table import Table

from ragline_cli.gateway_api import GatewayApi

REQUEST_TIMEOUT_S = 60.0
POLL_INTERVAL_S = 1.0


def operator_token(explicit: str | None) -> str:
    """The operator token: the option/env, else the file a local gateway generated."""
    if explicit:
        return explicit
    data_dir = Path(os.environ.get("RAGLINE_DATA_DIR", ".ragline"))
    path = data_dir / "secrets" / "admin-token"
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        raise click.UsageError(
            f"no operator token: set RAGLINE_ADMIN_TOKEN (or --admin-token), or run where "
            f"{path} exists"
        ) from None


def _path(spec: str) -> str:
    return "/v1/admin/index-models/" + quote(spec, safe=":/")


def _line(row: dict[str, Any]) -> str:
    return (
        f"{row['model']}: {row['state']}, {row['done']}/{row['total']} done, "
        f"{row['failed']} failed ({row['percent']}%)"
    )


_COLUMNS = ("model", "state", "done", "failed", "total", "percent", "error")


def print_status(console: Console, listing: dict[str, Any]) -> None:
    table = Table(title=f"Reads use: {listing['active']}", title_justify="left")
    for column in _COLUMNS:
        table.add_column(column, overflow="fold")
    for row in listing["index_models"]:
        table.add_row(*("" if row[name] is None else str(row[name]) for name in _COLUMNS))
    console.print(table)


async def wait_for_switch(
    api: GatewayApi, console: Console, spec: str, *, timeout_s: float
) -> bool:
    """Poll the reindex until reads use ``spec`` (True) or it stalls with failures or the
    deadline passes (False)."""
    deadline = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < deadline:
        row = await api.request("GET", _path(spec))
        line = _line(row)
        if line != last:
            console.print(line)
            last = line
        if row["state"] == "active":
            return True
        if row["state"] != "building":
            return False
        if row["done"] + row["failed"] >= row["total"] and row["failed"]:
            console.print(
                f"{row['failed']} documents failed ({row['error']}); reads stay where they are. "
                f"Switch anyway with: ragline reindex --activate {spec}"
            )
            return False
        await asyncio.sleep(POLL_INTERVAL_S)
    console.print("gave up waiting; the reindex goes on (ragline reindex --status)")
    return False


async def run_reindex(
    *,
    url: str,
    token: str,
    model: str | None,
    status: bool,
    activate: str | None,
    drop: str | None,
    wait: bool,
    wait_s: float,
    console: Console,
    transport: httpx.AsyncBaseTransport | None = None,
) -> bool:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=url, headers=headers, timeout=REQUEST_TIMEOUT_S, transport=transport
    ) as http:
        api = GatewayApi(http, with_code=True)
        if model is not None:
            row = await api.request("POST", "/v1/admin/index-models", json={"model": model})
            console.print(f"reindex started: {_line(row)}")
            if wait:
                return await wait_for_switch(api, console, row["model"], timeout_s=wait_s)
            return True
        if activate is not None:
            row = await api.request("POST", _path(activate) + "/activate")
            console.print(f"reads now use {row['model']}")
            return True
        if drop is not None:
            row = await api.request("DELETE", _path(drop))
            console.print(f"{row['model']}: {row['state']}")
            return True
        if status:
            print_status(console, await api.request("GET", "/v1/admin/index-models"))
            return True
    raise click.UsageError("name one of --model, --status, --activate or --drop")


@click.command("reindex")
@click.option("--model", help="Start re-embedding every document with KIND or KIND:MODEL.")
@click.option("--status", is_flag=True, help="Show every index and the reindex progress.")
@click.option("--activate", metavar="SPEC", help="Switch reads to SPEC (or back to it).")
@click.option("--drop", metavar="SPEC", help="Delete a non-active index.")
@click.option("--wait", is_flag=True, help="With --model: follow progress until reads switch.")
@click.option(
    "--wait-timeout",
    "wait_s",
    default=3600.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds --wait waits at most.",
)
@click.option(
    "--gateway-url",
    envvar="RAGLINE_URL",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="The gateway's base URL (or RAGLINE_URL).",
)
@click.option(
    "--admin-token",
    envvar="RAGLINE_ADMIN_TOKEN",
    default=None,
    show_envvar=True,
    help="The operator token (default: RAGLINE_ADMIN_TOKEN, else .ragline/secrets/admin-token).",
)
def reindex_command(
    model: str | None,
    status: bool,
    activate: str | None,
    drop: str | None,
    wait: bool,
    wait_s: float,
    gateway_url: str,
    admin_token: str | None,
) -> None:
    """Re-embed every document with another model, switch reads, switch back, drop."""
    if sum(option is not None for option in (model, activate, drop)) + status != 1:
        raise click.UsageError("name exactly one of --model, --status, --activate or --drop")
    ok = asyncio.run(
        run_reindex(
            url=gateway_url,
            token=operator_token(admin_token),
            model=model,
            status=status,
            activate=activate,
            drop=drop,
            wait=wait,
            wait_s=wait_s,
            console=Console(),
        )
    )
    if not ok:
        raise SystemExit(1)
