"""NUL bytes in an uploaded file: the gateway stores the file as bytes, the parsers deal with them.

The gateway refuses NUL in titles, text fields and metadata (PostgreSQL cannot store it), but a
file is bytes and is stored as sent. Every text format must then either drop the stray NULs or
fail the job permanently with a reason: never pass a NUL on, and never raise anything a consumer
would retry.
"""

from __future__ import annotations

import pytest

from ragline_common.errors import PermanentProcessingError
from ragline_ingestion.domain.parsing import default_parsers

PARSERS = default_parsers()
PROSE = b"A long enough paragraph of ordinary prose, so one stray byte is clearly a stray. " * 3
TEXT_TYPES = ["text/plain", "text/markdown", "text/html", "text/x-python"]


@pytest.mark.parametrize("content_type", TEXT_TYPES)
def test_a_stray_nul_is_dropped_by_every_text_parser(content_type: str) -> None:
    document = PARSERS.parser_for(content_type).parse(PROSE + b"before\x00after\n")
    assert "\x00" not in document.text
    assert "beforeafter" in document.text


@pytest.mark.parametrize("content_type", TEXT_TYPES)
def test_a_file_of_mostly_nuls_fails_permanently(content_type: str) -> None:
    with pytest.raises(PermanentProcessingError) as failed:
        PARSERS.parser_for(content_type).parse(b"x\x00y" * 500)
    assert failed.value.code == "binary_content"
