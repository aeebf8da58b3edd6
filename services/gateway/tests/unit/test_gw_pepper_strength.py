"""A weak key pepper is refused at start-up, with a message that names the setting but never
echoes the value (it is a secret, and start-up errors end up in logs)."""

from __future__ import annotations

import secrets

import pytest
from pydantic import ValidationError

from ragline_gateway.settings import GatewaySettings

WEAK = [
    "changeme",
    "short-but-random-9f8e7d",
    "changeme-changeme-changeme-changeme",
    "replace-with-a-real-pepper-placeholder-value",
    "0" * 64,
    "abababababababababababababababab",
]


@pytest.mark.parametrize("pepper", WEAK)
def test_a_short_or_placeholder_pepper_is_refused(
    pepper: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGLINE_GATEWAY_KEY_PEPPER", pepper)
    with pytest.raises(ValidationError) as refused:
        GatewaySettings()
    message = str(refused.value)
    assert "key_pepper" in message
    assert "at least 32 characters" in message
    assert "token_hex" in message  # says how to make a good one
    assert pepper not in message


def test_a_random_pepper_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    pepper = secrets.token_hex(32)
    monkeypatch.setenv("RAGLINE_GATEWAY_KEY_PEPPER", pepper)
    settings = GatewaySettings()
    assert settings.key_pepper is not None
    assert settings.key_pepper.get_secret_value() == pepper


def test_no_pepper_is_still_fine_on_a_single_node(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAGLINE_GATEWAY_KEY_PEPPER", raising=False)
    assert GatewaySettings().key_pepper is None
