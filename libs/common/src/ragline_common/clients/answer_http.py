"""``AnswerApi`` over HTTP: the gateway's view of a generation service in another process."""

from __future__ import annotations

from pydantic import SecretStr

from ragline_common.clients.internal_http import InternalHttpClient
from ragline_common.contracts.answer import Answer, AnswerRequest, InternalAnswerRequest
from ragline_common.tenancy import TenantId

ANSWER_PATH = "/internal/v1/answer"


class HttpAnswerClient:
    def __init__(
        self, base_url: str, internal_token: SecretStr | str | None, timeout_s: float = 60.0
    ) -> None:
        self._client = InternalHttpClient(
            peer="generation", base_url=base_url, internal_token=internal_token, timeout_s=timeout_s
        )

    async def answer(self, tenant_id: TenantId, request: AnswerRequest) -> Answer:
        body = InternalAnswerRequest(tenant_id=tenant_id, request=request)
        return await self._client.post(ANSWER_PATH, body, Answer)

    async def ping(self) -> None:
        await self._client.ping()

    async def aclose(self) -> None:
        await self._client.aclose()
