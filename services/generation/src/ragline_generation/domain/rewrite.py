"""Follow-up questions restated so that they stand alone, for retrieval.

"And on weekends?" finds nothing by itself. The model restates it from the conversation; with no
model, or one that fails or answers nonsense, the previous user turn joined to the question is
a retrieval query good enough to go on with.
"""

from __future__ import annotations

from ragline_common.contracts.answer import RewriteRequest, RewrittenQuestion
from ragline_common.contracts.search import MAX_QUERY_CHARS
from ragline_common.tenancy import TenantId
from ragline_generation.domain.fallback import no_usage
from ragline_generation.domain.llm import Llm, count_tokens, record
from ragline_generation.domain.prompt import build_rewrite_prompt
from ragline_generation.domain.tokens import TokenCounter
from ragline_generation.ports.chat_model import ChatModelError

REWRITE_MAX_TOKENS = 96


async def rewrite_question(
    llm: Llm | None, tenant_id: TenantId, request: RewriteRequest, counter: TokenCounter
) -> RewrittenQuestion:
    """The model's standalone version of a question with history, or (no model, or it failed)
    the previous user turn followed by the question."""
    if llm is not None and not llm.circuit_open():
        messages = build_rewrite_prompt(request.question, request.history)
        try:
            with llm.call(tenant_id) as call:
                completion = await llm.model.complete(
                    messages, max_tokens=REWRITE_MAX_TOKENS, temperature=0.0
                )
                usage = llm.usage(
                    completion.usage,
                    prompt_tokens=sum(count_tokens(counter, m.content) for m in messages),
                    completion=completion.text,
                    counter=counter,
                )
                record(call, usage, completion.model)
        except ChatModelError as exc:
            llm.failed(exc)
        else:
            llm.succeeded()
            question = completion.text.strip().strip("\"'").strip()
            if question and len(question) <= MAX_QUERY_CHARS:
                return RewrittenQuestion(question=question, usage=usage)
            # Unusable output still cost tokens: the gateway records them anyway.
            return RewrittenQuestion(question=_joined(request), usage=usage)
    return RewrittenQuestion(question=_joined(request), usage=no_usage())


def _joined(request: RewriteRequest) -> str:
    """Retrieval query from the last user turn plus the follow-up (no model to rewrite it)."""
    previous = next((t.content for t in reversed(request.history) if t.role == "user"), "")
    joined = f"{previous.strip()} {request.question.strip()}".strip()
    return joined[-MAX_QUERY_CHARS:]
