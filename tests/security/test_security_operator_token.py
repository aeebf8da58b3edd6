"""The operator token a first start generates stays in its file: the output (log stream and
console alike, which end up in log collectors) names the file, never the token."""

from __future__ import annotations

from pathlib import Path

import pytest
from security_stack import bearer, open_stack


async def test_a_first_start_names_the_token_file_and_never_prints_the_token(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    token_path = tmp_path / "secrets" / "admin-token"
    for _start in ("first", "second"):
        async with open_stack(tmp_path, admin_token=None) as stack:
            token = token_path.read_text().strip()
            listed = await stack.client.get("/v1/tenants", headers=bearer(token))
            assert listed.status_code == 200, listed.text
        output = capfd.readouterr()
        printed = output.out + output.err
        assert token not in printed
        assert str(token_path) in printed
    assert token_path.stat().st_mode & 0o777 == 0o600
