from __future__ import annotations

import pytest
from click.testing import CliRunner

from ragline_cli.main import cli
from ragline_cli.runner import UnknownTargetError, parse_targets


def test_all_means_every_service() -> None:
    assert parse_targets("all") == {"gateway", "ingestion", "retrieval", "generation"}


def test_comma_separated_subsets() -> None:
    assert parse_targets("retrieval, ingestion") == {"retrieval", "ingestion"}
    assert parse_targets("gateway") == {"gateway"}


@pytest.mark.parametrize("raw", ["", "gatway", "all,gateway", "gateway,nope"])
def test_unknown_targets_are_refused(raw: str) -> None:
    with pytest.raises(UnknownTargetError):
        parse_targets(raw)


def test_cli_reports_bad_target_and_bad_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["run", "--target", "gatway"])
    assert result.exit_code == 2
    assert "unknown target" in result.output
    monkeypatch.setenv("RAGLINE_ADMIN_TOKEN", "changeme")
    result = runner.invoke(cli, ["run", "--target", "gateway"])
    assert result.exit_code == 2
    assert "admin_token" in result.output
    assert "changeme" not in result.output
