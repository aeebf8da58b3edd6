"""HTTP clients of the internal service APIs, used when a service runs in another process.

Each client implements the same Protocol as the in-process service (``SearchApi``,
``AnswerApi``), so the gateway does not care which transport it got.
"""

from ragline_common.clients.answer_http import HttpAnswerClient
from ragline_common.clients.search_http import HttpSearchClient

__all__ = ["HttpAnswerClient", "HttpSearchClient"]
