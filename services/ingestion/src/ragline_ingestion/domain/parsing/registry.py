"""Which parser reads which content type."""

from __future__ import annotations

from collections.abc import Mapping

from ragline_common.errors import PermanentProcessingError
from ragline_ingestion.domain.parsing.document import Parser


def media_type(content_type: str) -> str:
    """``Text/Markdown; charset=UTF-8`` -> ``text/markdown``: parameters do not pick a parser."""
    return content_type.split(";", 1)[0].strip().lower()


class ParserRegistry:
    def __init__(self, parsers: Mapping[str, Parser]) -> None:
        self._parsers = {media_type(name): parser for name, parser in parsers.items()}

    @property
    def content_types(self) -> frozenset[str]:
        return frozenset(self._parsers)

    def parser_for(self, content_type: str) -> Parser:
        parser = self._parsers.get(media_type(content_type))
        if parser is None:
            supported = ", ".join(sorted(self._parsers))
            raise PermanentProcessingError(
                f"content type {media_type(content_type)!r} is not supported "
                f"(supported: {supported})",
                code="unsupported_content_type",
            )
        return parser
