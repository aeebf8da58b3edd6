"""``AnswerApi`` in-process: what the gateway calls when generation shares its process.

Every answer is extractive for now. The LLM answerer slots in ahead of the extractive one as the
primary path; the extractive answerer then becomes its fallback, and answers it produces because
the LLM failed carry ``degraded=True`` with the reason.
"""

from __future__ import annotations

import anyio
from opentelemetry import trace

from ragline_common.contracts.answer import Answer, AnswerRequest
from ragline_common.contracts.search import MAX_TOP_K
from ragline_common.errors import ValidationFailed
from ragline_common.tenancy import TenantId
from ragline_generation.domain.extractive import ExtractiveAnswerer

_tracer = trace.get_tracer("ragline.generation")


class AnswerService:
    def __init__(self, *, extractive: ExtractiveAnswerer) -> None:
        self._extractive = extractive

    async def answer(self, tenant_id: TenantId, request: AnswerRequest) -> Answer:
        if len(request.chunks) > MAX_TOP_K:
            # The gateway never sends more than top_k hits; anything larger is a bug or abuse.
            raise ValidationFailed(
                f"At most {MAX_TOP_K} chunks can ground one answer.", code="too_many_chunks"
            )
        with _tracer.start_as_current_span("generation.extractive") as span:
            span.set_attribute("ragline.tenant_id", tenant_id)
            span.set_attribute("ragline.answer.chunks", len(request.chunks))
            # Sentence splitting over up to MAX_TOP_K chunks is CPU work: keep it off the loop.
            answer = await anyio.to_thread.run_sync(
                self._extractive.answer, request.question, request.chunks
            )
            span.set_attribute("ragline.answer.citations", len(answer.citations))
        return answer
