"""The fields every door takes for a document, typed once: JSON body, multipart form, queue drop.

Each door builds its request model from these types, so a title, an external id or metadata is
accepted or refused alike whichever way it arrives, with the same problem code
(:func:`ragline_common.contracts.metadata.rule_code`).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from ragline_common.contracts.characters import NulFree

MAX_TITLE_CHARS = 500
MAX_EXTERNAL_ID_CHARS = 200

Title = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TITLE_CHARS), NulFree]
ExternalId = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_EXTERNAL_ID_CHARS), NulFree
]
DocumentText = Annotated[str, StringConstraints(min_length=1), NulFree]
"""Inline document text; each door also refuses text that is only whitespace."""
