"""Start order and connections from what components declare they provide and require."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from click.testing import CliRunner
from fastapi import APIRouter
from starlette.middleware import Middleware

from ragline_cli import main
from ragline_cli.assembly import assemble_app
from ragline_cli.hosting import WiringError
from ragline_cli.runner import SERVICE_NAMES
from ragline_cli.wiring import ServiceComponent, start_order
from ragline_common.hosting import Api, ComponentHost, Host, Requirement
from ragline_common.settings import CoreSettings, InfrastructureSettings
from ragline_gateway.component import GatewayComponent
from ragline_generation.component import GenerationComponent
from ragline_ingestion.component import IngestionComponent
from ragline_retrieval.component import RetrievalComponent
from ragline_testing.harness import embedded_settings

CLOCK: Api[str] = Api("Clock")
NEWS: Api[str] = Api("News")


@dataclass
class Fake:
    """A component that provides fixed strings and records what it required."""

    name: str
    provides: tuple[Api[Any], ...] = ()
    requires: tuple[Requirement[Any], ...] = ()
    provides_at_start: dict[Api[str], str] = field(default_factory=dict)
    received: dict[str, str] = field(default_factory=dict)
    started: list[str] = field(default_factory=list)

    def routers(self, *, internal_api: bool) -> Sequence[APIRouter]:
        return []

    def middleware(self) -> Sequence[Middleware]:
        return []

    async def start(self, host: ComponentHost) -> None:
        for requirement in self.requires:
            self.received[requirement.api.name] = host.require(requirement.api)
        for api, value in self.provides_at_start.items():
            host.provide(api, value)
        self.started.append(self.name)


def _remote_clock(host: Host) -> str:
    return "remote clock"


def _settings(tmp_path: Path) -> InfrastructureSettings:
    return embedded_settings(CoreSettings(data_dir=tmp_path))


async def _run(components: Sequence[ServiceComponent], tmp_path: Path) -> None:
    app = assemble_app(components, _settings(tmp_path))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ragline") as http:
            assert (await http.get("/healthz")).status_code == 200


def test_the_real_services_start_providers_before_the_gateway() -> None:
    components: list[ServiceComponent] = [
        GatewayComponent(),
        IngestionComponent(),
        RetrievalComponent(),
        GenerationComponent(),
    ]
    assert [c.name for c in components] == list(SERVICE_NAMES)

    ordered = [c.name for c in start_order(components)]

    assert ordered == ["ingestion", "retrieval", "generation", "gateway"]


def test_unlinked_components_keep_the_given_order_and_providers_move_first() -> None:
    reader = Fake("reader", requires=(Requirement(NEWS),))
    bystander = Fake("bystander")
    press = Fake("press", provides=(NEWS,))

    ordered = [c.name for c in start_order([reader, bystander, press])]

    assert ordered == ["bystander", "press", "reader"]


async def test_a_co_hosted_provider_is_used_in_process(tmp_path: Path) -> None:
    press = Fake("press", provides=(NEWS,), provides_at_start={NEWS: "in-process news"})
    reader = Fake("reader", requires=(Requirement(NEWS),))

    await _run([reader, press], tmp_path)

    assert reader.received == {"News": "in-process news"}


async def test_without_a_co_hosted_provider_the_remote_client_is_used(tmp_path: Path) -> None:
    reader = Fake("reader", requires=(Requirement(CLOCK, remote=_remote_clock),))

    await _run([reader], tmp_path)

    assert reader.received == {"Clock": "remote clock"}


async def test_the_remote_client_is_not_built_when_a_provider_is_co_hosted(
    tmp_path: Path,
) -> None:
    clock = Fake("clock", provides=(CLOCK,), provides_at_start={CLOCK: "local clock"})
    reader = Fake("reader", requires=(Requirement(CLOCK, remote=_remote_clock),))

    await _run([reader, clock], tmp_path)

    assert reader.received == {"Clock": "local clock"}


def test_a_missing_provider_is_refused_before_anything_starts(tmp_path: Path) -> None:
    reader = Fake("reader", requires=(Requirement(NEWS),))

    with pytest.raises(WiringError, match="reader requires News, which no service"):
        assemble_app([reader], _settings(tmp_path))
    assert reader.started == []


def test_a_cycle_is_refused_with_its_path(tmp_path: Path) -> None:
    chicken = Fake("chicken", provides=(CLOCK,), requires=(Requirement(NEWS),))
    egg = Fake("egg", provides=(NEWS,), requires=(Requirement(CLOCK),))

    cycle = r"cycle: (chicken -> egg -> chicken|egg -> chicken -> egg)"
    with pytest.raises(WiringError, match=cycle):
        assemble_app([chicken, egg], _settings(tmp_path))


def test_an_api_provided_twice_is_refused() -> None:
    with pytest.raises(WiringError, match="News is provided by both one and two"):
        start_order([Fake("one", provides=(NEWS,)), Fake("two", provides=(NEWS,))])


@pytest.mark.parametrize(
    ("component", "message"),
    [
        (Fake("press", provides=(NEWS,)), "press started without providing News"),
        (Fake("press", provides_at_start={NEWS: "x"}), "press provides News without declaring"),
    ],
)
async def test_provisions_must_match_the_declaration(
    tmp_path: Path, component: Fake, message: str
) -> None:
    with pytest.raises(WiringError, match=message):
        await _run([component], tmp_path)


async def test_requiring_an_undeclared_api_is_refused(tmp_path: Path) -> None:
    @dataclass
    class Sneaky(Fake):
        async def start(self, host: ComponentHost) -> None:
            host.require(NEWS)

    press = Fake("press", provides=(NEWS,), provides_at_start={NEWS: "news"})

    with pytest.raises(WiringError, match="sneaky requires News without declaring it"):
        await _run([press, Sneaky("sneaky")], tmp_path)


def test_the_command_reports_a_wiring_error_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RAGLINE_DATA_DIR", str(tmp_path))

    def refuse(*_: object) -> None:
        raise WiringError("services require each other in a cycle: a -> b -> a")

    monkeypatch.setattr(main, "build_app", refuse)
    # Logging and tracing are configured process-wide, once: a test in the runner's own process
    # must not install them (a global tracer provider would re-parent every later test's spans).
    monkeypatch.setattr(main, "configure_logging", lambda **_: None)
    monkeypatch.setattr(main, "configure_tracing", lambda _service: None)

    result = CliRunner().invoke(main.cli, ["run", "--target", "gateway"])

    assert result.exit_code == 2
    assert "Cannot wire the services: services require each other in a cycle" in result.output
