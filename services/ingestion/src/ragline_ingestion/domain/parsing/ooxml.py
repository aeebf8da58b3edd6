"""Reading parts of an Office Open XML package (DOCX) without trusting it.

A DOCX is a ZIP of XML parts, which makes it a vehicle for two classic attacks, both stopped
here before any parser sees the bytes:

- zip bombs: a few kilobytes that inflate to gigabytes. Every part read counts against one
  decompression budget per document, checked against the size the archive declares before
  reading and against the bytes actually inflated while reading (declarations can lie);
- XML entity attacks (billion laughs, external entities fetching local files): OOXML parts
  never carry a document type declaration, so any ``<!DOCTYPE>`` or entity declaration is
  refused outright rather than expanded.

Parts are streamed through expat in small pieces, so memory stays proportional to what the
handlers keep, not to the size of the part.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
import zlib
from collections.abc import Callable
from typing import NoReturn
from xml.parsers import expat

from ragline_common.errors import PermanentProcessingError

_READ_BYTES = 64 * 1024
_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
_OFFICE_DOCUMENT = "/officeDocument"
# Legacy binary Office files and password-protected OOXML files are OLE compound documents.
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

StartHandler = Callable[[str, dict[str, str]], None]
EndHandler = Callable[[str], None]
TextHandler = Callable[[str], None]


class OoxmlPackage:
    """The parts of one package, read within a shared decompression budget."""

    def __init__(self, content: bytes, *, max_decompressed_bytes: int) -> None:
        if content.startswith(_OLE_MAGIC):
            raise PermanentProcessingError(
                "the document is password-protected or in the old binary .doc format; "
                "save it as an unprotected .docx",
                code="unsupported_document",
            )
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(content))
        except (zipfile.BadZipFile, ValueError):
            raise PermanentProcessingError(
                "the file is not a valid Word document (it is not a ZIP package)",
                code="damaged_document",
            ) from None
        self._budget = max_decompressed_bytes
        self._left = max_decompressed_bytes

    def main_part(self) -> str:
        """Name of the main document part, as the package relationships declare it."""
        targets: list[str] = []

        def relationship(name: str, attributes: dict[str, str]) -> None:
            if name == f"{_RELATIONSHIPS} Relationship" and attributes.get("Type", "").endswith(
                _OFFICE_DOCUMENT
            ):
                targets.append(attributes.get("Target", ""))

        if self.has("_rels/.rels"):
            self.stream("_rels/.rels", start=relationship)
        if targets:
            return posixpath.normpath(targets[0].lstrip("/"))
        return "word/document.xml"

    def has(self, name: str) -> bool:
        return name in self._zip.NameToInfo

    def stream(
        self,
        name: str,
        *,
        start: StartHandler | None = None,
        end: EndHandler | None = None,
        text: TextHandler | None = None,
    ) -> None:
        """Feed part ``name`` through expat to the handlers (element names are
        ``"{namespace} {local}"``)."""
        info = self._zip.NameToInfo.get(name)
        if info is None:
            raise PermanentProcessingError(
                f"the file is not a Word document (it has no {name} part)",
                code="damaged_document",
            )
        if info.file_size > self._left:
            self._too_large()
        parser = _safe_parser()
        if start is not None:
            parser.StartElementHandler = start
        if end is not None:
            parser.EndElementHandler = end
        if text is not None:
            parser.CharacterDataHandler = text
        try:
            with self._zip.open(info) as part:
                while chunk := part.read(_READ_BYTES):
                    self._left -= len(chunk)
                    if self._left < 0:
                        self._too_large()
                    parser.Parse(chunk, False)
                parser.Parse(b"", True)
        except (
            zipfile.BadZipFile,
            zlib.error,
            EOFError,
            expat.ExpatError,
            NotImplementedError,
            RuntimeError,  # an encrypted ZIP entry
            # A damaged entry header sends zipfile to an offset that does not exist
            # ("negative seek value"); found by fuzzing.
            ValueError,
            OverflowError,
        ):
            raise PermanentProcessingError(
                f"the Word document is damaged ({name} cannot be read)",
                code="damaged_document",
            ) from None

    def _too_large(self) -> NoReturn:
        raise PermanentProcessingError(
            f"the document expands to more than {self._budget // 2**20} MB when decompressed "
            "(the limit guards against zip bombs)",
            code="decompressed_too_large",
        )


def _safe_parser() -> expat.XMLParserType:
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    return parser


def _refuse_dtd(*_: object) -> NoReturn:
    raise PermanentProcessingError(
        "the document contains an XML document type declaration, which Word files never "
        "have; it is refused as a possible XML entity attack",
        code="xml_entities",
    )
