"""The order services start in, found from what each declares it provides and requires.

A service that calls another co-hosted service must start after it, so that the API is there
when it asks. Nothing else orders them: two services with no declared link start in the order
given (the target order), and a process whose declarations cannot be met (an API provided twice,
required in-process but provided by no one, or a cycle) is refused before anything starts.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from graphlib import CycleError, TopologicalSorter
from typing import Any, Protocol

from fastapi import APIRouter
from starlette.middleware import Middleware

from ragline_cli.hosting import WiringError
from ragline_common.hosting import Api, ComponentHost, Requirement


class ServiceComponent(Protocol):
    """One service as the process assembly sees it."""

    @property
    def name(self) -> str: ...

    @property
    def provides(self) -> Collection[Api[Any]]:
        """APIs this service hands to co-hosted services once started (``host.provide``)."""

    @property
    def requires(self) -> Collection[Requirement[Any]]:
        """APIs this service calls (``host.require``), and how to reach each one remotely."""

    def routers(self, *, internal_api: bool) -> Sequence[APIRouter]:
        """Routers to mount; ``internal_api`` is False when the gateway shares the process
        and calls this service in-process, so internal endpoints need not be exposed."""

    def middleware(self) -> Sequence[Middleware]:
        """ASGI middleware this service needs around the whole app (e.g. body limits)."""

    async def start(self, host: ComponentHost) -> None:
        """Open resources on ``host.stack``, register checks and background tasks, and
        provide every declared API."""


def start_order(components: Sequence[ServiceComponent]) -> list[ServiceComponent]:
    """``components`` reordered so each starts after the co-hosted services it requires."""
    providers = _providers(components)
    after: dict[str, set[str]] = {}
    for component in components:
        after[component.name] = set()
        for requirement in component.requires:
            provider = providers.get(requirement.api)
            if provider is not None:
                after[component.name].add(provider)
            elif requirement.remote is None:
                raise WiringError(
                    f"{component.name} requires {requirement.api.name}, which no service in "
                    "this process provides and which it cannot reach in another process"
                )
    try:
        TopologicalSorter(after).prepare()
    except CycleError as exc:
        cycle = " -> ".join(exc.args[1])
        raise WiringError(f"services require each other in a cycle: {cycle}") from None
    # Without a cycle some service is always ready; taking the first one given keeps the
    # given order wherever the declarations allow it.
    ordered: list[ServiceComponent] = []
    started: set[str] = set()
    pending = list(components)
    while pending:
        ready = next(c for c in pending if after[c.name] <= started)
        pending.remove(ready)
        ordered.append(ready)
        started.add(ready.name)
    return ordered


def _providers(components: Sequence[ServiceComponent]) -> dict[Api[Any], str]:
    providers: dict[Api[Any], str] = {}
    for component in components:
        for api in component.provides:
            if api in providers:
                raise WiringError(
                    f"{api.name} is provided by both {providers[api]} and {component.name}"
                )
            providers[api] = component.name
    return providers
