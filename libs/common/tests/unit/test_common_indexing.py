"""Model specs and the indexes a process holds (issue 15, reindexing without downtime).

Indexes are opened for real (Qdrant Edge under a temporary directory); the embedders are hash
embedders standing in for models, one dimension per kind, so two kinds give two collections
while ``torch`` and ``onnx-int8`` share one, as the MiniLM backends do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from vs_contract_harness import chunk

from ragline_common.adapters.embedder.hashing import HashEmbedder
from ragline_common.adapters.factory import open_vector_store
from ragline_common.indexing.indexes import EmbeddingIndexes
from ragline_common.indexing.model_spec import ModelSpec, UnknownIndexModel
from ragline_common.ports.embedder import Embedder
from ragline_common.ports.vector_store import VectorStore
from ragline_common.settings import CoreSettings, EmbedderSettings, InfrastructureSettings
from ragline_common.tenancy import TenantId
from ragline_testing.harness import embedded_settings

TENANT = TenantId("ten_indexing")
_DIMENSIONS = {"hash": 64, "onnx-int8": 32, "torch": 32, "onnx": 32, "openai": 16}


class TestModelSpec:
    @pytest.mark.parametrize(
        ("text", "kind", "model"),
        [
            ("hash", "hash", None),
            ("onnx-int8", "onnx-int8", None),
            (" torch ", "torch", None),
            ("minilm", "torch", None),
            ("onnx:/models/e5-small", "onnx", "/models/e5-small"),
            ("openai:text-embedding-3-small", "openai", "text-embedding-3-small"),
        ],
    )
    def test_parses_kind_and_optional_model(self, text: str, kind: str, model: str | None) -> None:
        spec = ModelSpec.parse(text)
        assert (spec.kind, spec.model) == (kind, model)
        assert ModelSpec.parse(str(spec)) == spec

    @pytest.mark.parametrize("text", ["", "bert", "HASH", "hash:x", "onnx:", ":model", "onnx-int9"])
    def test_refuses_what_names_no_embedder(self, text: str) -> None:
        with pytest.raises(UnknownIndexModel, match="Unknown index model") as caught:
            ModelSpec.parse(text)
        assert isinstance(caught.value, ValueError)
        assert caught.value.spec == text

    def test_the_default_spec_is_the_configured_kind(self) -> None:
        assert str(ModelSpec.default(EmbedderSettings(kind="hash"))) == "hash"
        assert str(ModelSpec.default(EmbedderSettings(kind="minilm"))) == "torch"

    def test_settings_keep_everything_but_kind_and_model(self) -> None:
        base = EmbedderSettings(kind="hash", batch_size=8, model_path=Path("/m/base"))
        local = ModelSpec.parse("onnx-int8:/m/other").settings_for(base)
        assert (local.kind, local.model_path, local.batch_size) == (
            "onnx-int8",
            Path("/m/other"),
            8,
        )
        assert ModelSpec.parse("torch").settings_for(base).model_path == Path("/m/base")
        remote = ModelSpec.parse("openai:text-embedding-3-large").settings_for(base)
        assert (remote.kind, remote.model) == ("openai", "text-embedding-3-large")


class ModelStandIn(HashEmbedder):
    """A hash embedder that remembers being loaded."""

    warmed = False

    async def warm_up(self) -> None:
        self.warmed = True


class Openings:
    """Fake model loading: the kinds whose embedders were built, in order."""

    def __init__(self) -> None:
        self.built: list[str] = []

    async def __call__(self, settings: EmbedderSettings, stack: AsyncExitStack) -> Embedder:
        self.built.append(settings.kind)
        return ModelStandIn(_DIMENSIONS[settings.kind])


class ClosedStores:
    def __init__(self) -> None:
        self.stores: list[VectorStore] = []

    async def __call__(
        self, settings: InfrastructureSettings, stack: AsyncExitStack, embedder: Embedder
    ) -> VectorStore:
        store = await open_vector_store(settings, stack, embedder)
        self.stores.append(store)
        return store


@pytest.fixture
def settings(tmp_path: Path) -> InfrastructureSettings:
    return embedded_settings(CoreSettings(data_dir=tmp_path), hash_dimension=64)


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as opened:
        yield opened


class TestEmbeddingIndexes:
    async def test_opens_nothing_until_asked_then_once(
        self, settings: InfrastructureSettings, stack: AsyncExitStack
    ) -> None:
        openings = Openings()
        indexes = EmbeddingIndexes(settings, stack, open_embedder=openings)
        assert openings.built == []
        default = await indexes.index()
        assert default.spec == ModelSpec.parse("hash")
        assert await indexes.index(ModelSpec.parse("hash")) is default
        other = await indexes.index(ModelSpec.parse("onnx-int8"))
        assert await indexes.index(ModelSpec.parse("onnx-int8")) is other
        assert openings.built == ["hash", "onnx-int8"]
        assert other.key != default.key
        assert other.store is not default.store

    async def test_models_are_loaded_before_use(
        self, settings: InfrastructureSettings, stack: AsyncExitStack
    ) -> None:
        openings = Openings()
        indexes = EmbeddingIndexes(settings, stack, open_embedder=openings)
        index = await indexes.index(ModelSpec.parse("onnx-int8"))
        assert isinstance(index.embedder, ModelStandIn)
        assert index.embedder.warmed

    async def test_specs_of_one_collection_share_the_index(
        self, settings: InfrastructureSettings, stack: AsyncExitStack
    ) -> None:
        openings = Openings()
        indexes = EmbeddingIndexes(settings, stack, open_embedder=openings)
        int8 = await indexes.index(ModelSpec.parse("onnx-int8"))
        torch = await indexes.index(ModelSpec.parse("torch"))
        assert torch is int8
        assert len(indexes.opened()) == 1

    async def test_stores_close_with_the_stack(self, settings: InfrastructureSettings) -> None:
        stores = ClosedStores()
        async with AsyncExitStack() as stack:
            indexes = EmbeddingIndexes(settings, stack, open_embedder=Openings(), open_store=stores)
            await indexes.index()
            await indexes.index(ModelSpec.parse("onnx"))
            for store in stores.stores:
                await store.ping()
        for store in stores.stores:
            with pytest.raises(Exception, match="not open"):
                await store.ping()

    async def test_drop_removes_the_data_and_a_later_use_starts_empty(
        self, settings: InfrastructureSettings, stack: AsyncExitStack
    ) -> None:
        indexes = EmbeddingIndexes(settings, stack, open_embedder=Openings())
        spec = ModelSpec.parse("onnx-int8")
        first = await indexes.index(spec)
        await first.store.upsert(TENANT, [chunk(TENANT, "doc", dense=[1.0] + [0.0] * 31)])
        kept = await indexes.index()
        await kept.store.upsert(TENANT, [chunk(TENANT, "doc", dense=[1.0] + [0.0] * 63)])

        await indexes.drop(ModelSpec.parse("torch"))  # the same collection, by another name

        again = await indexes.index(spec)
        assert again is not first
        assert await again.store.count(TENANT) == 0
        assert await kept.store.count(TENANT) == 1
