"""``ragline ingest`` against a real monolithic Ragline process (hashing embedder: no model)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from ragline_e2e_harness import Client, RaglineProcess

from ragline_cli.ingest_command import collect_files
from ragline_cli.main import cli
from ragline_testing.harness import unused_port

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def ragline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A monolith on a free port; yields its URL and an ingest+query key of a fresh tenant."""
    work = tmp_path_factory.mktemp("cli-ingest")
    admin_token = secrets.token_urlsafe(24)
    process = RaglineProcess(
        "all",
        {
            "RAGLINE_DATA_DIR": str(work / "data"),
            "RAGLINE_ADMIN_TOKEN": admin_token,
            "RAGLINE_EMBEDDER_KIND": "hash",
            "RAGLINE_LOG_LEVEL": "warning",
        },
        work / "ragline.log",
    ).start()
    client = Client(process.url)
    try:
        yield process.url, client.create_tenant(admin_token, "cli").key
    finally:
        client.close()
        process.stop()


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    # Rich wraps to the terminal width (80 when there is none): keep each table row on one line.
    monkeypatch.setenv("COLUMNS", "250")


def run_ingest(url: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["ingest", "--url", url, *args], env=env)
    return result.exit_code, result.output


def test_a_folder_is_indexed_and_failures_are_listed_with_reasons(
    ragline: tuple[str, str], tmp_path: Path
) -> None:
    url, key = ragline
    folder = tmp_path / "notes"
    (folder / "birds").mkdir(parents=True)
    (folder / "ducks.txt").write_text("Ducks paddle on the pond and eat duckweed.")
    (folder / "birds" / "geese.md").write_text("# Geese\n\nGeese honk while they migrate south.")
    (folder / "empty.txt").write_text("")
    (folder / "program.exe").write_bytes(b"MZ\x90\x00")
    (folder / ".hidden.txt").write_text("never uploaded")

    status, output = run_ingest(url, str(folder), env={"RAGLINE_API_KEY": key})

    assert status == 1, output
    assert "2 indexed, 2 failed" in output
    progress = [line for line in output.splitlines() if "files sent" in line or "jobs fin" in line]
    assert len(progress) == 2
    assert all(line.endswith("4/4") for line in progress), progress
    failed_rows = {line.split()[1]: line for line in output.splitlines() if "│" in line}
    assert "file: the file is empty (HTTP 422)" in failed_rows[str(folder / "empty.txt")]
    assert "not a supported type" in failed_rows[str(folder / "program.exe")]
    assert "(HTTP 415)" in output  # the end of a long reason, wrapped onto a later line
    assert not any("ducks" in row or "geese" in row for row in failed_rows)
    assert ".hidden" not in output


def test_everything_indexed_exits_zero_and_the_documents_are_searchable(
    ragline: tuple[str, str], tmp_path: Path
) -> None:
    url, key = ragline
    document = tmp_path / "herons.txt"
    document.write_text("Herons stand motionless in shallow water, waiting for fish.")

    status, output = run_ingest(url, str(document), "--api-key", key, "--concurrency", "2")

    assert status == 0, output
    assert "1 indexed, 0 failed" in output
    assert "Failed" not in output
    client = Client(url)
    try:
        hits = client.search(key, "herons waiting for fish", top_k=3)
    finally:
        client.close()
    assert hits
    assert "Herons stand motionless" in hits[0]["text"]


def test_a_wrong_key_fails_every_file_and_a_missing_key_is_a_usage_error(
    ragline: tuple[str, str], tmp_path: Path
) -> None:
    url, _ = ragline
    document = tmp_path / "owls.txt"
    document.write_text("Owls hunt at night.")

    status, output = run_ingest(url, str(document), "--api-key", "rl_" + "x" * 38)
    assert status == 1, output
    assert "0 indexed, 1 failed" in output
    assert "(HTTP 401)" in output

    status, output = run_ingest(url, str(document), env={"RAGLINE_API_KEY": ""})
    assert status == 2
    assert "--api-key" in output


def test_an_unreachable_gateway_is_a_reason_not_a_crash(tmp_path: Path) -> None:
    document = tmp_path / "swans.txt"
    document.write_text("Swans mate for life.")
    url = f"http://127.0.0.1:{unused_port()}"
    status, output = run_ingest(url, str(document), "--api-key", "rl_key")
    assert status == 1, output
    assert f"could not reach {url}" in output


def test_folders_are_walked_once_in_order_without_hidden_files(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / ".git").mkdir()
    for name in ("b/two.md", "one.txt", ".git/config", ".env"):
        (tmp_path / name).write_text("x")
    one = tmp_path / "one.txt"
    assert collect_files([tmp_path, one]) == [tmp_path / "b" / "two.md", one]
