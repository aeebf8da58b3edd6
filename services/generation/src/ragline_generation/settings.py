"""Generation settings (``RAGLINE_GENERATION_*``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GenerationSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RAGLINE_GENERATION_", env_nested_delimiter="__", extra="ignore", frozen=True
    )

    max_answer_sentences: int = Field(default=4, ge=1, le=20)
    """Sentences an extractive answer quotes at most."""
    snippet_chars: int = Field(default=300, ge=40, le=4000)
    """Chunk text shown in a citation, around the cited sentence (ellipses aside)."""
