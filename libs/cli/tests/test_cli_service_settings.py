"""A service's own settings are refused by ``ragline run`` as the shared ones are: a clear
message and exit status 2, never a traceback, and never the refused value (it may be a secret)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_a_weak_key_pepper_is_a_configuration_error_not_a_traceback(tmp_path: Path) -> None:
    weak_pepper = "pepperpepper"
    env = {name: value for name, value in os.environ.items() if not name.startswith("RAGLINE_")}
    env |= {
        "RAGLINE_DATA_DIR": str(tmp_path),
        "RAGLINE_GATEWAY_KEY_PEPPER": weak_pepper,
        "RAGLINE_METRICS_PORT": "0",
    }
    result = subprocess.run(
        [sys.executable, "-m", "ragline_cli", "run", "--target", "gateway"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 2, result.stderr[-2000:]
    assert "Invalid configuration" in result.stderr
    assert "key_pepper" in result.stderr
    assert "Traceback" not in result.stderr
    assert weak_pepper not in result.stderr + result.stdout
