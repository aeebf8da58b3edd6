"""The generation service as a hostable component (see :mod:`ragline_common.hosting`)."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter
from starlette.middleware import Middleware

from ragline_common.contracts.answer import AnswerApi
from ragline_common.hosting import Host
from ragline_common.http.internal_api import StartedApi
from ragline_generation.api.internal import internal_router
from ragline_generation.domain.extractive import ExtractiveAnswerer
from ragline_generation.domain.service import AnswerService
from ragline_generation.settings import GenerationSettings


class GenerationComponent:
    def __init__(self, settings: GenerationSettings | None = None) -> None:
        """``settings`` defaults to the environment, read when the component starts."""
        self._settings = settings
        self._internal: StartedApi[AnswerApi] = StartedApi("generation")

    @property
    def name(self) -> str:
        return "generation"

    def routers(self, *, internal_api: bool) -> Sequence[APIRouter]:
        if not internal_api:
            return []
        return [internal_router(service=self._internal.api, internal_token=self._internal.token)]

    def middleware(self) -> Sequence[Middleware]:
        """None of its own: the shared request middleware is all an internal route needs."""
        return ()

    async def start(self, host: Host) -> None:
        settings = self._settings if self._settings is not None else GenerationSettings()
        service = AnswerService(
            extractive=ExtractiveAnswerer(
                max_sentences=settings.max_answer_sentences,
                snippet_chars=settings.snippet_chars,
            )
        )
        self._internal.bind(service, host.settings.core.internal_token)
        host.answer_api = service
