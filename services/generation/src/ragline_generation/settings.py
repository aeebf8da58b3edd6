"""Generation settings (``RAGLINE_GENERATION_*``) and the language model's (``RAGLINE_LLM_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class GenerationSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RAGLINE_GENERATION_", env_nested_delimiter="__", extra="ignore", frozen=True
    )

    max_answer_sentences: int = Field(default=4, ge=1, le=20)
    """Sentences an extractive answer quotes at most."""
    snippet_chars: int = Field(default=300, ge=40, le=4000)
    """Chunk text shown in a citation, around the cited sentence (ellipses aside)."""
    prompt_budget_tokens: int = Field(default=3000, ge=256, le=1_000_000)
    """Tokens the whole prompt (rules, sources, question) may take, counted by the tokenizer."""
    tokenizer_path: Path | None = None
    """A Hugging Face ``tokenizer.json``; unset means the MiniLM tokenizer bundled offline."""


class ModelPrice(BaseModel):
    """US dollars per million tokens."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt: float = Field(ge=0)
    completion: float = Field(ge=0)


class LlmSettings(BaseSettings):
    """An OpenAI-compatible chat endpoint; with no ``base_url`` every answer is extractive."""

    model_config = SettingsConfigDict(
        env_prefix="RAGLINE_LLM_", env_nested_delimiter="__", extra="ignore", frozen=True
    )

    base_url: str | None = None
    """E.g. ``https://api.openai.com/v1``, ``http://vllm:8000/v1``, ``http://ollama:11434/v1``."""
    model: str = "gpt-4o-mini"
    api_key: SecretStr | None = None
    """Local servers (vLLM, Ollama, llama.cpp) accept any key; none is sent as a placeholder."""
    max_tokens: int = Field(default=512, ge=1, le=32_768)
    """Completion tokens one answer may use."""
    temperature: float = Field(default=0.1, ge=0, le=2)
    first_token_timeout_s: float = Field(default=15.0, gt=0)
    """From the call to the first answer token, retries included; past it the answer falls back."""
    read_timeout_s: float = Field(default=30.0, gt=0)
    """Longest silence between two streamed tokens, and the whole of a non-streamed call."""
    connect_timeout_s: float = Field(default=3.0, gt=0)
    max_retries: int = Field(default=2, ge=0, le=10)
    """Retries of a call refused with 429 or 5xx or not connected (before any token arrived)."""
    retry_base_s: float = Field(default=0.5, gt=0)
    max_retry_wait_s: float = Field(default=5.0, ge=0)
    """A ``Retry-After`` longer than this is not waited out: the answer falls back at once."""
    breaker_failures: int = Field(default=5, ge=1)
    """Consecutive failed calls that open the circuit breaker."""
    breaker_reset_s: float = Field(default=30.0, gt=0)
    """How long the breaker stays open before one trial call may close it again."""
    prices: dict[str, ModelPrice] = Field(default_factory=dict)
    """Price table by model, as JSON: ``{"gpt-4o-mini": {"prompt": 0.15, "completion": 0.6}}``."""

    @field_validator("base_url", "api_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """Deployment files set these to empty when there is no model (compose, ConfigMaps)."""
        return None if isinstance(value, str) and not value.strip() else value
