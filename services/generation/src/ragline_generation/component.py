"""The generation service as a hostable component (see :mod:`ragline_common.hosting`).

It provides :data:`~ragline_common.hosting.ANSWER_API` and requires nothing.
"""

from __future__ import annotations

import anyio

from ragline_common.contracts.answer import AnswerApi
from ragline_common.hosting import ANSWER_API, ComponentHost, Host
from ragline_common.http.internal_api import InternalApiComponent
from ragline_generation.api.internal import internal_router
from ragline_generation.domain.breaker import CircuitBreaker
from ragline_generation.domain.extractive import ExtractiveAnswerer
from ragline_generation.domain.service import AnswerService, Llm
from ragline_generation.domain.tokens import TokenCounter
from ragline_generation.settings import GenerationSettings, LlmSettings


class GenerationComponent(InternalApiComponent[AnswerApi]):
    def __init__(
        self, settings: GenerationSettings | None = None, llm_settings: LlmSettings | None = None
    ) -> None:
        """Settings default to the environment, read when the component starts."""
        super().__init__(name="generation", api=ANSWER_API, router=internal_router)
        self._settings = settings
        self._llm_settings = llm_settings

    async def start(self, host: ComponentHost) -> None:
        settings = self._settings if self._settings is not None else GenerationSettings()
        llm_settings = self._llm_settings if self._llm_settings is not None else LlmSettings()
        counter = await anyio.to_thread.run_sync(TokenCounter, settings.tokenizer_path)
        service = AnswerService(
            extractive=ExtractiveAnswerer(
                max_sentences=settings.max_answer_sentences,
                snippet_chars=settings.snippet_chars,
            ),
            counter=counter,
            settings=settings,
            llm=self._open_llm(host, llm_settings),
        )
        self.serve(host, service)

    def _open_llm(self, host: Host, settings: LlmSettings) -> Llm | None:
        """The configured model, or ``None`` (extractive answers) without a base URL.

        Not a readiness check: the extractive fallback answers while the model is down.
        """
        if settings.base_url is None:
            return None
        from ragline_generation.adapters.openai_chat import OpenAIChatModel

        model = OpenAIChatModel(settings)
        host.stack.push_async_callback(model.aclose)
        breaker = CircuitBreaker(
            failure_threshold=settings.breaker_failures, reset_s=settings.breaker_reset_s
        )
        return Llm(model=model, settings=settings, breaker=breaker)
