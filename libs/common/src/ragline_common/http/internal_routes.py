"""Where the internal service APIs are served: the servers' paths, which their clients call.

The routes are declared at these paths by the serving side (``ragline_retrieval.api.internal``,
``ragline_generation.api.internal``); the HTTP clients in :mod:`ragline_common.clients` import
them from here, so a path changes in one place and a client can never call a route the server
does not have. They live in the shared library only because no service may import another.
"""

from __future__ import annotations

SEARCH_PATH = "/internal/v1/search"
CHUNKS_PATH = "/internal/v1/chunks"

ANSWER_PATH = "/internal/v1/answer"
ANSWER_STREAM_PATH = "/internal/v1/answer/stream"
REWRITE_PATH = "/internal/v1/rewrite"
MODELS_PATH = "/internal/v1/models"
NDJSON_MEDIA_TYPE = "application/x-ndjson"
"""The streamed answer's body: one ``AnswerEvent`` per line, written as soon as it exists."""
