"""The generation service as a hostable component (see :mod:`ragline_common.hosting`)."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter
from pydantic import SecretStr
from starlette.middleware import Middleware

from ragline_common.contracts.answer import AnswerApi
from ragline_common.errors import UpstreamUnavailable
from ragline_common.hosting import Host
from ragline_generation.api.internal import internal_router
from ragline_generation.domain.extractive import ExtractiveAnswerer
from ragline_generation.domain.service import AnswerService
from ragline_generation.settings import GenerationSettings


class GenerationComponent:
    def __init__(self, settings: GenerationSettings | None = None) -> None:
        """``settings`` defaults to the environment, read when the component starts."""
        self._settings = settings
        self._service: AnswerService | None = None
        self._internal_token: SecretStr | None = None

    @property
    def name(self) -> str:
        return "generation"

    def routers(self, *, internal_api: bool) -> Sequence[APIRouter]:
        if not internal_api:
            return []
        return [internal_router(service=self._started_service, internal_token=self._token)]

    def middleware(self) -> Sequence[Middleware]:
        """None of its own: the shared request middleware is all an internal route needs."""
        return ()

    async def start(self, host: Host) -> None:
        settings = self._settings if self._settings is not None else GenerationSettings()
        self._internal_token = host.settings.core.internal_token
        self._service = AnswerService(
            extractive=ExtractiveAnswerer(
                max_sentences=settings.max_answer_sentences,
                snippet_chars=settings.snippet_chars,
            )
        )
        host.answer_api = self._service

    def _started_service(self) -> AnswerApi:
        if self._service is None:
            raise _starting()
        return self._service

    def _token(self) -> SecretStr | None:
        # Fail closed: before start() the configured token is unknown, so nothing gets through.
        if self._service is None:
            raise _starting()
        return self._internal_token


def _starting() -> UpstreamUnavailable:
    return UpstreamUnavailable("The generation service is still starting.", retry_after_s=1)
