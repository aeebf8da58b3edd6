"""The CLI's side of the public API: one request, its refusal in words, and polite retries.

``ragline ingest`` and ``ragline reindex`` are clients of the gateway like any other: what they
send is judged there, so a refusal is shown with the problem's own ``detail`` (and, where the
operator needs it to look the refusal up, its stable ``code``). ``429``/``503`` answers are
waited out as their ``Retry-After`` says, so a command paces itself instead of failing.
"""

from __future__ import annotations

import asyncio
from typing import Any

import click
import httpx

MAX_RETRY_AFTER_S = 30.0


class Refused(click.ClickException):
    """The gateway said no (or could not be reached); the message says why."""


def problem_message(response: httpx.Response, *, with_code: bool = False) -> str:
    """The problem+json ``detail`` (written for humans), else its ``title``, else the status."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for field in ("detail", "title"):
            if isinstance(body.get(field), str) and body[field]:
                code = body.get("code") if with_code else None
                where = f"{code}, " if isinstance(code, str) else ""
                return f"{body[field]} ({where}HTTP {response.status_code})"
    return f"HTTP {response.status_code} {response.reason_phrase}"


class GatewayApi:
    """JSON requests to the gateway; anything but success raises :class:`Refused`."""

    def __init__(self, http: httpx.AsyncClient, *, with_code: bool = False) -> None:
        self._http = http
        self._with_code = with_code

    async def request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        while True:
            try:
                response = await self._http.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                raise Refused(f"could not reach {self._http.base_url}: {exc}") from exc
            if response.status_code in (429, 503) and "Retry-After" in response.headers:
                await asyncio.sleep(min(float(response.headers["Retry-After"]), MAX_RETRY_AFTER_S))
                continue
            if response.is_success:
                body: dict[str, Any] = response.json()
                return body
            raise Refused(problem_message(response, with_code=self._with_code))
