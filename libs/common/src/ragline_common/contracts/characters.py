"""Characters no text from a client may carry into storage: NUL (U+0000).

PostgreSQL cannot store NUL in a ``text`` column or a JSONB string, so a title or metadata value
holding one used to fail deep inside the catalog: a ``500`` at the REST doors and an endless
requeue on the queue drop. Every door refuses it up front with one stable code instead of
stripping it: what is stored stays exactly what was sent (a silently altered external id would no
longer match the producer's own), and the producer learns which field to fix. Document files are
different: they are bytes, stored as such, and the ingestion parsers drop control characters.
"""

from __future__ import annotations

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

NUL_CHARACTER = "nul_character"
"""Problem code, and pydantic error type, of a refused NUL character."""

_NUL = "\x00"


def refuse_nul(value: str) -> str:
    """``value`` unchanged, or a validation error of type :data:`NUL_CHARACTER`."""
    if _NUL in value:
        raise PydanticCustomError(NUL_CHARACTER, "must not contain NUL (U+0000) characters")
    return value


NulFree = AfterValidator(refuse_nul)
"""``Annotated[str, NulFree]``: a text field that refuses NUL characters."""
