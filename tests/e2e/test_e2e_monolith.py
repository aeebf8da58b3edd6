"""``ragline run --target all``: the embedded default, restarted once in the middle."""

from __future__ import annotations

from pathlib import Path

import pytest
from ragline_e2e_harness import Client, RaglineProcess
from ragline_e2e_scenario import ALPHA_TEXT, check_isolation_and_answers, upload_and_index

pytestmark = [pytest.mark.e2e]


def test_monolith_keeps_data_across_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {"RAGLINE_DATA_DIR": str(data_dir)}
    first = RaglineProcess("all", env, tmp_path / "first.log").start()
    try:
        admin_token = (data_dir / "secrets" / "admin-token").read_text().strip()
        client = Client(first.url)
        state = upload_and_index(client, admin_token)
        client.close()
        # The default embedder (int8 ONNX, ADR 17) indexed and answered without torch: a
        # process that imported it would have libtorch mapped.
        loaded = first.mapped_files()
        assert any("onnxruntime" in path for path in loaded)
        assert not [path for path in loaded if "libtorch" in path or "/torch/" in path]
    finally:
        assert first.stop(), first.log_tail()

    second = RaglineProcess("all", env, tmp_path / "second.log").start()
    try:
        client = Client(second.url)
        check_isolation_and_answers(client, state)
        # Still accepting work after the restart; identical content under one external id is
        # recognised as a duplicate instead of being indexed twice.
        body = {"title": "Reactor notes", "text": ALPHA_TEXT, "external_id": "reactor"}
        first_upload = client.call("POST", "/v1/documents", state.alpha.key, json=body)
        assert first_upload.status_code == 202, first_upload.text
        client.wait_indexed(state.alpha.key, first_upload.json()["job_id"])
        repeat = client.call("POST", "/v1/documents", state.alpha.key, json=body)
        assert repeat.status_code == 200, repeat.text
        assert repeat.json()["duplicate"] is True
        assert repeat.json()["document_id"] == first_upload.json()["document_id"]
        client.close()
    finally:
        assert second.stop(), second.log_tail()
    first_log = (tmp_path / "first.log").read_text()
    # The first start says where the generated operator token is, and never prints the token.
    assert "operator_token_generated" in first_log
    assert str((data_dir / "secrets" / "admin-token").resolve()) in first_log
    assert admin_token not in first_log
    assert admin_token not in (tmp_path / "second.log").read_text()
