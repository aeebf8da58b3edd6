"""The extractive answer, as the answer of choice and as the stand-in for a failed model.

Whole and streamed answers fall back the same way (quoted sentences, links guarded, marked
``degraded`` with the reason when the model was wanted), so both paths come here.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import anyio

from ragline_common.contracts.answer import Answer, AnswerEvent, DeltaEvent, DoneEvent, Usage
from ragline_generation.domain.extractive import EXTRACTIVE_MODEL, ExtractiveAnswerer
from ragline_generation.domain.link_guard import LinkGuard, source_hosts
from ragline_generation.domain.prompt import Prompt


def no_usage(model: str = EXTRACTIVE_MODEL) -> Usage:
    """Usage of an answer no model was paid for."""
    return Usage(model=model, prompt_tokens=0, completion_tokens=0)


def link_guard(prompt: Prompt) -> LinkGuard:
    """Answers may link only to where their sources come from (see ``link_guard``)."""
    return LinkGuard(source_hosts(block.hit for block in prompt.blocks))


class ExtractiveFallback:
    def __init__(self, extractive: ExtractiveAnswerer) -> None:
        self._extractive = extractive

    async def answer(self, question: str, prompt: Prompt, reason: str | None) -> Answer:
        """Quoted from the prompt's sources; ``reason`` says why the model did not answer."""
        hits = [block.hit for block in prompt.blocks]
        numbers = [block.index for block in prompt.blocks]

        def quoted() -> Answer:
            answer = self._extractive.answer(question, hits, numbers)
            # Quoted documents are untrusted too: a poisoned one may carry the image itself.
            return answer.model_copy(update={"answer": link_guard(prompt).clean_all(answer.answer)})

        # Sentence splitting over up to MAX_TOP_K chunks is CPU work: keep it off the loop.
        answer = await anyio.to_thread.run_sync(quoted)
        if reason is None:
            return answer
        return answer.model_copy(update={"degraded": True, "degraded_reason": reason})

    async def events(
        self, question: str, prompt: Prompt, reason: str | None
    ) -> AsyncGenerator[AnswerEvent, None]:
        """The same answer as a stream: one delta, then ``done``."""
        answer = await self.answer(question, prompt, reason)
        yield DeltaEvent(text=answer.answer)
        yield DoneEvent(
            cited=[item.index for item in answer.citations],
            mode="extractive",
            degraded=answer.degraded,
            degraded_reason=answer.degraded_reason,
            usage=answer.usage,
        )
