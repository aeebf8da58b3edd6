"""Map ``--target`` names to service components (Loki-style targets)."""

from __future__ import annotations

from fastapi import FastAPI

from ragline_cli.assembly import assemble_app
from ragline_cli.wiring import ServiceComponent
from ragline_common.settings import InfrastructureSettings

SERVICE_NAMES: tuple[str, ...] = ("gateway", "ingestion", "retrieval", "generation")


class UnknownTargetError(ValueError):
    pass


def parse_targets(raw: str) -> frozenset[str]:
    """``all`` or a comma-separated subset of the service names."""
    names = {part.strip() for part in raw.split(",") if part.strip()}
    if names == {"all"}:
        return frozenset(SERVICE_NAMES)
    unknown = names - set(SERVICE_NAMES)
    if unknown or not names:
        raise UnknownTargetError(
            f"unknown target(s) {sorted(unknown) or raw!r}; choose 'all' or any of "
            f"{', '.join(SERVICE_NAMES)}"
        )
    return frozenset(names)


def _component(name: str) -> ServiceComponent:
    # Imported on demand: a gateway-only process never imports torch or the vector engine.
    match name:
        case "gateway":
            from ragline_gateway.component import GatewayComponent

            return GatewayComponent()
        case "ingestion":
            from ragline_ingestion.component import IngestionComponent

            return IngestionComponent()
        case "retrieval":
            from ragline_retrieval.component import RetrievalComponent

            return RetrievalComponent()
        case "generation":
            from ragline_generation.component import GenerationComponent

            return GenerationComponent()
        case _:
            raise UnknownTargetError(name)


def build_app(targets: frozenset[str], settings: InfrastructureSettings) -> FastAPI:
    """One app hosting ``targets``; the services' declarations decide the start order."""
    return assemble_app([_component(name) for name in SERVICE_NAMES if name in targets], settings)
