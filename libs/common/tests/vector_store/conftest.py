"""The adapters the VectorStore contract suite (``test_vs_contract_*.py``) is held against.

``edge`` and ``qdrant-local`` (qdrant-client's local mode, on disk so reopening can be tested)
need nothing installed. ``qdrant-server`` starts the real Qdrant image with testcontainers and is
skipped when there is no Docker engine or testcontainers is not installed.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from vs_contract_harness import DIMENSION, MODEL_ID, StoreFactory

from ragline_common.adapters.vector_store.edge import EdgeVectorStore
from ragline_common.adapters.vector_store.qdrant_remote import QdrantRemoteVectorStore
from ragline_common.ports.vector_store import VectorStore
from ragline_testing.harness import service_reachable

QDRANT_IMAGE = "qdrant/qdrant:v1.20.0"  # the deployed version; IDF over a corpus filter


def docker_engine_reachable() -> bool:
    """Probe the Docker socket directly: testcontainers objects fail to construct without one."""
    address = urlparse(os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"))
    if address.scheme == "unix":
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(1.0)
            try:
                sock.connect(address.path)
            except OSError:
                return False
            return True
    if address.scheme in ("tcp", "http", "https") and address.hostname:
        return service_reachable(address.hostname, address.port or 2375)
    return False


@pytest.fixture(scope="session")
def qdrant_server_url() -> Iterator[str]:
    if not docker_engine_reachable():
        pytest.skip("no Docker engine reachable: the Qdrant server variant needs one")
    containers = pytest.importorskip("testcontainers.community.qdrant")
    with containers.QdrantContainer(image=QDRANT_IMAGE) as qdrant:
        host = qdrant.get_container_host_ip()
        yield f"http://{host}:{qdrant.get_exposed_port(6333)}"


@pytest.fixture(
    params=[
        "edge",
        "qdrant-local",
        pytest.param("qdrant-server", marks=pytest.mark.integration),
    ]
)
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    backend: str = request.param
    # Tests share one server, so each gets its own collection.
    prefix = f"t{uuid.uuid4().hex[:12]}"
    server_url = request.getfixturevalue("qdrant_server_url") if backend == "qdrant-server" else ""

    def make() -> VectorStore:
        match backend:
            case "edge":
                return EdgeVectorStore(tmp_path / "edge", dimension=DIMENSION)
            case "qdrant-local":
                return QdrantRemoteVectorStore(
                    model_id=MODEL_ID, dimension=DIMENSION, path=tmp_path / "qdrant-local"
                )
            case _:
                return QdrantRemoteVectorStore(
                    model_id=MODEL_ID,
                    dimension=DIMENSION,
                    collection_prefix=prefix,
                    url=server_url,
                )

    return make


@pytest.fixture
async def store(store_factory: StoreFactory) -> AsyncIterator[VectorStore]:
    opened = store_factory()
    await opened.open()
    yield opened
    await opened.close()
