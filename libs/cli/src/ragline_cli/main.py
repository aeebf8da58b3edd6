"""The ``ragline`` command."""

from __future__ import annotations

import sys

import click
from pydantic import ValidationError

from ragline_cli.hosting import WiringError
from ragline_cli.ingest_command import ingest_command
from ragline_cli.malloc_arenas import limit_malloc_arenas
from ragline_cli.reindex_command import reindex_command
from ragline_cli.runner import UnknownTargetError, build_app, parse_targets
from ragline_cli.serving import serve
from ragline_common.http.internal_auth import OpenInternalApiError
from ragline_common.observability.logs import configure_logging
from ragline_common.observability.tracing import configure_tracing
from ragline_common.settings import load_infrastructure_settings


def describe_errors(exc: ValidationError) -> str:
    """Field and reason per error, never the offending value: it may be a secret."""
    return "\n".join(
        f"  {'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
        for error in exc.errors()
    )


@click.group()
def cli() -> None:
    """Ragline: multi-tenant retrieval-augmented generation."""


@cli.command()
@click.option(
    "--target",
    default="all",
    show_default=True,
    help="Services to host in this process: 'all' or a comma-separated subset of "
    "gateway, ingestion, retrieval, generation.",
)
def run(target: str) -> None:
    """Run services (all of them by default: the monolithic mode)."""
    limit_malloc_arenas()
    try:
        targets = parse_targets(target)
        settings = load_infrastructure_settings()
    except UnknownTargetError as exc:
        raise click.BadParameter(str(exc), param_hint="--target") from None
    except ValidationError as exc:
        click.echo(f"Invalid configuration ({exc.title}):\n{describe_errors(exc)}", err=True)
        sys.exit(2)
    service_label = ",".join(sorted(targets))
    configure_logging(
        level=settings.core.log_level, fmt=settings.core.log_format, service=service_label
    )
    configure_tracing(f"ragline-{service_label.replace(',', '-')}")
    settings.core.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        app = build_app(targets, settings)
    except OpenInternalApiError as exc:
        click.echo(f"Invalid configuration: {exc}", err=True)
        sys.exit(2)
    except WiringError as exc:
        # The hosted services' declarations do not fit together: no amount of retrying helps.
        click.echo(f"Cannot wire the services: {exc}", err=True)
        sys.exit(2)
    except ValidationError as exc:
        # A service's own settings (GatewaySettings...) are read when its component is built.
        click.echo(f"Invalid configuration ({exc.title}):\n{describe_errors(exc)}", err=True)
        sys.exit(2)
    serve(app, settings.core)


cli.add_command(ingest_command)
cli.add_command(reindex_command)

if __name__ == "__main__":
    cli()
