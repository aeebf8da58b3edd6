"""The BM25 encoder reads a bounded prefix of any text, so its time is bounded wherever it runs
(the retrieval service encodes queries on its event loop)."""

from __future__ import annotations

import anyio

from ragline_common.adapters.sparse.bm25 import MAX_TEXT_CHARS, Bm25SparseEncoder


def test_text_past_the_cap_is_not_encoded() -> None:
    encoder = Bm25SparseEncoder()
    head = "duck " * (MAX_TEXT_CHARS // 5)
    text = head + "heron " * 1000
    [heron] = encoder.encode_query("heron").indices

    [document] = anyio.run(encoder.encode_documents, [text])
    query = encoder.encode_query(text)

    assert heron not in document.indices
    assert heron not in query.indices
    assert document == anyio.run(encoder.encode_documents, [text[:MAX_TEXT_CHARS]])[0]


def test_text_within_the_cap_is_encoded_whole() -> None:
    encoder = Bm25SparseEncoder()
    [heron] = encoder.encode_query("heron").indices
    text = "duck " * ((MAX_TEXT_CHARS - 6) // 5) + "heron"
    assert len(text) <= MAX_TEXT_CHARS
    [document] = anyio.run(encoder.encode_documents, [text])
    assert heron in document.indices
