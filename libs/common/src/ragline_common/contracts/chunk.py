"""One model of a chunk: a piece of one document version, with its text and what places it.

The vector store keeps a chunk beside its vectors (``ChunkPayload``), a search returns it with
a score (``SearchHit``) and a document's listing shows it whole (``StoredChunk``). Those views
inherit their shared fields from the two classes here instead of declaring copies, so a field
added here reaches each view at once, and one view becomes another with
``model_validate(other, from_attributes=True)``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, JsonValue


class DocumentChunk(BaseModel):
    """What every view of a chunk carries: which version of which document it is from, its
    text, and what a reader needs to cite it (title, source, section, page, metadata)."""

    model_config = ConfigDict(frozen=True)

    document_id: str
    version: int
    chunk_index: int
    text: str
    title: str
    source_name: str
    heading_path: tuple[str, ...] = ()
    page: int | None = None
    metadata: dict[str, JsonValue]


class IndexedChunk(DocumentChunk):
    """A chunk with what indexing recorded of its origin: the document's content type and the
    chunk's span in the parsed text. Search hits leave these out; storage and listings keep
    them."""

    content_type: str
    char_start: int
    char_end: int
