"""The gateway's own secrets: the key-hashing pepper and the operator token.

On a single node they may be left unset: they are generated once and kept (mode 0600) in the
data directory, so keys keep working across restarts. Replicas that share a catalog must all
hash keys the same way, so there both must come from the environment.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import structlog
from pydantic import SecretStr

from ragline_common.settings import CoreSettings

_log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class GatewaySecrets:
    key_pepper: bytes
    admin_token: str


class MissingSecretError(RuntimeError):
    pass


def _read_or_create(path: Path, make: Callable[[], str]) -> tuple[str, bool]:
    if path.exists():
        return path.read_text().strip(), False
    path.parent.mkdir(parents=True, exist_ok=True)
    value: str = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value, True


def load_gateway_secrets(
    core: CoreSettings, pepper: SecretStr | None, *, shared_catalog: bool
) -> GatewaySecrets:
    if shared_catalog and (pepper is None or core.admin_token is None):
        raise MissingSecretError(
            "RAGLINE_GATEWAY_KEY_PEPPER and RAGLINE_ADMIN_TOKEN must be set when the catalog is "
            "shared (RAGLINE_CATALOG_URL points at a database server): every gateway replica "
            "must hash keys and check the operator token the same way."
        )
    secrets_dir = core.data_dir / "secrets"
    if pepper is not None:
        pepper_value = pepper.get_secret_value()
    else:
        pepper_value, _ = _read_or_create(secrets_dir / "key-pepper", lambda: secrets.token_hex(32))
    if core.admin_token is not None:
        admin_token = core.admin_token.get_secret_value()
    else:
        token_path = secrets_dir / "admin-token"
        admin_token, created = _read_or_create(
            token_path, lambda: "rlop_" + secrets.token_urlsafe(32)
        )
        # Where it is, never what it is: console output ends up in log collectors too, and the
        # file (mode 0600) is readable only by whoever runs the gateway.
        _log.info(
            "operator_token_generated" if created else "operator_token_from_file",
            path=str(token_path.resolve()),
        )
    return GatewaySecrets(key_pepper=pepper_value.encode(), admin_token=admin_token)
