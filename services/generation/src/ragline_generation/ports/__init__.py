"""The chat model port: only generation talks to a language model."""
