"""Every format reads real documents into text with structure: headings, pages, code units."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from ragline_common.errors import PermanentProcessingError
from ragline_ingestion.domain.parsing import (
    CODE_MEDIA_TYPES,
    DOCX,
    ParsedDocument,
    ParseLimits,
    default_parsers,
)

PARSERS = default_parsers()
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "docx": DOCX,
    "html": "text/html",
    "md": "text/markdown",
    "txt": "text/plain",
}


def _parse(content: bytes, content_type: str) -> ParsedDocument:
    return PARSERS.parser_for(content_type).parse(content)


def _read(shared_docs: Path, folder: str, name: str) -> ParsedDocument:
    return _parse((shared_docs / folder / name).read_bytes(), MEDIA_TYPES[folder])


def _assert_well_formed(document: ParsedDocument, name: str, *, trimmed: bool = True) -> None:
    previous_end = 0
    for section in document.sections:
        assert previous_end <= section.start < section.end <= len(document.text), name
        body = document.text[section.start : section.end]
        assert not trimmed or body == body.strip(), name
        previous_end = section.end


@pytest.mark.parametrize("folder", sorted(MEDIA_TYPES))
def test_every_shared_document_parses_into_well_formed_sections(
    shared_docs: Path, folder: str
) -> None:
    paths = sorted((shared_docs / folder).iterdir())
    if not paths:
        pytest.skip(f"no documents in {shared_docs / folder}")
    for path in paths:
        document = _parse(path.read_bytes(), MEDIA_TYPES[folder])
        assert document.text.strip(), path.name
        # Plain text is one section of the whole text, as uploaded.
        _assert_well_formed(document, path.name, trimmed=folder != "txt")


# --- PDF ----------------------------------------------------------------------------------------


def test_pdf_sections_are_its_pages_in_order(shared_docs: Path) -> None:
    document = _read(shared_docs, "pdf", "normal_4pages.pdf")
    assert [s.page for s in document.sections] == [1, 2, 3, 4]
    assert all(s.heading_path == () for s in document.sections)


def test_right_to_left_ligatures_and_script_changes_are_repaired(shared_docs: Path) -> None:
    text = _read(shared_docs, "pdf", "right_to_left_01.pdf").text
    assert "الإنتاجية" in text  # PDFium alone gives "اإلنتاجية"
    assert "Python من" in text  # PDFium alone glues "Pythonمن"


def test_pdf_over_the_page_limit_fails_before_reading(shared_docs: Path) -> None:
    limited = default_parsers(ParseLimits(max_pages=3)).parser_for("application/pdf")
    with pytest.raises(PermanentProcessingError, match="has 4 pages; the limit is 3"):
        limited.parse((shared_docs / "pdf" / "normal_4pages.pdf").read_bytes())


def test_copy_protected_pdf_is_read_since_permission_flags_are_not_a_password(
    shared_docs: Path,
) -> None:
    document = _parse((shared_docs / "bad" / "copy-protected.pdf").read_bytes(), "application/pdf")
    assert "LayoutParser" in document.text
    assert [s.page for s in document.sections] == [1, 2]


def test_a_pdf_that_other_tools_fail_to_repair_is_read_by_pdfium(shared_docs: Path) -> None:
    document = _parse(
        (shared_docs / "bad" / "failure-after-repair.pdf").read_bytes(), "application/pdf"
    )
    assert "A guide for people with cancer" in document.text
    assert len(document.sections) > 50


# --- DOCX ---------------------------------------------------------------------------------------


def test_docx_heading_styles_nest_into_paths(shared_docs: Path) -> None:
    document = _read(shared_docs, "docx", "unit_test_headers.docx")
    # "Test Document" has the Title style: it heads every path.
    paths = [s.heading_path[1:] for s in document.sections]
    assert {s.heading_path[0] for s in document.sections} == {"Test Document"}
    assert paths[:5] == [
        (),
        ("Section 1",),
        ("Section 1", "Section 1.1"),
        ("Section 1", "Section 1.2"),
        ("Section 1", "Section 1.2", "Section 1.2.3"),
    ]
    # A level-4 heading right under a level-2 one nests under it; the next level 3 replaces it.
    assert paths[5:] == [
        ("Section 2",),
        ("Section 2", "Section 2.1.1"),
        ("Section 2", "Section 2.1"),
    ]


def test_docx_title_style_heads_the_document(shared_docs: Path) -> None:
    document = _read(shared_docs, "docx", "word_sample.docx")
    paths = [s.heading_path for s in document.sections]
    assert ("Swimming in the lake", "Let’s swim!", "Let’s eat") in paths
    text = document.text
    assert "You can relax and look around\nPaddle about\nEnjoy summer warmth" in text


def test_docx_tables_are_rows_of_cells_and_merged_cells_repeat(shared_docs: Path) -> None:
    text = _read(shared_docs, "docx", "word_tables.docx").text
    assert "Header 0.0 | Header 0.1 | Header 0.2\nCell 1.0 | Cell 1.1 | Cell 1.2" in text
    assert "Cell 1.0 | Merged Cell 1.1 1.2 | Merged Cell 1.1 1.2" in text


# --- HTML ---------------------------------------------------------------------------------------


def test_html_headings_nest_and_tables_are_rows(shared_docs: Path) -> None:
    document = _read(shared_docs, "html", "example_03.html")
    assert [s.heading_path for s in document.sections] == [
        ("Example Document",),
        ("Example Document", "Introduction"),
        ("Example Document", "Background"),
        ("Example Document", "Data Table"),
    ]
    assert "Header 1 | Header 2 | Header 3\nRow 1, Col 1 | Row 1, Col 2" in document.text
    assert "Nested item 1\nNested item 2" in document.text


def test_html_drops_scripts_styles_and_hidden_elements() -> None:
    page = (
        b"<html><head><title>T</title><style>p {color: red}</style></head><body>"
        b"<h1>Ducks</h1><script>var secret = 1;</script><p>Ducks <b>paddle</b>.</p>"
        b"<div hidden>invisible</div><pre>  keep\n    indent</pre>"
        b'<img alt="a duck"><table><tr><td colspan="2">wide</td></tr><tr><td>a</td><td>b</td>'
        b"</tr></table></body></html>"
    )
    document = _parse(page, "text/html")
    # A <pre> block keeps its inner layout (its first line's indent goes with the trim).
    assert (
        document.text
        == "Ducks\n\nDucks paddle.\n\nkeep\n    indent\n\na duck\n\nwide | wide\na | b"
    )
    assert document.sections[0].heading_path == ("Ducks",)


def test_html_meta_charset_is_honoured_when_the_bytes_agree() -> None:
    page = '<meta charset="windows-1252"><p>Déjà vu — 5 €</p>'.encode("cp1252")
    assert _parse(page, "text/html").text == "Déjà vu — 5 €"
    # Mislabelled pages are common: bytes that are not what the label says are detected.
    mislabelled = '<meta charset="utf-8"><p>Déjà vu, señor</p>'.encode("cp1252")
    assert _parse(mislabelled, "text/html").text == "Déjà vu, señor"


def test_cp1252_html_without_a_declaration_is_detected(shared_docs: Path) -> None:
    text = _parse((shared_docs / "bad" / "fake-html-cp1252.html").read_bytes(), "text/html").text
    assert "Die schöne Frau" in text
    assert "15,50 €" in text
    assert "El niño comió paella con ñoquis" in text


# --- plain text encodings -----------------------------------------------------------------------


def test_utf16_text_reads_with_and_without_a_byte_order_mark(shared_docs: Path) -> None:
    with_bom = (shared_docs / "bad" / "fake-text-utf-16.txt").read_bytes()
    expected = _parse(with_bom, "text/plain").text
    assert expected.startswith("This is a test document to use for unit tests.")
    assert with_bom.startswith(codecs.BOM_UTF16_LE)
    assert _parse(with_bom[2:], "text/plain").text == expected
    big_endian = expected.encode("utf-16-be")
    assert _parse(big_endian, "text/plain").text == expected


# --- code ---------------------------------------------------------------------------------------

PYTHON = b'''"""Module."""
import os


# Reads things.
@cache
def read(path):
    return path


class Store:
    size = 3

    def get(self, key):
        def inner():
            return key
        return inner

    async def put(self, key):
        return key


print(read("x"))
'''


def test_python_definitions_are_sections_named_by_qualified_name() -> None:
    document = _parse(PYTHON, "text/x-python")
    sections = [(s.heading_path, document.text[s.start : s.end]) for s in document.sections]
    assert [path for path, _ in sections] == [
        (),
        ("read",),
        ("Store",),
        ("Store", "get"),
        ("Store", "put"),
        (),
    ]
    assert sections[1][1].startswith("# Reads things.\n@cache\ndef read(path):")
    assert "def inner" in sections[3][1]
    assert document.text == PYTHON.decode()


def test_python_that_does_not_parse_falls_back_to_top_level_definitions() -> None:
    document = _parse(
        b"def ok():\n    pass\n\nprint 'python 2'\n\nclass K:\n    x = (\n", "text/x-python"
    )
    assert [s.heading_path for s in document.sections] == [("ok",), ("K",)]


@pytest.mark.parametrize(
    ("content_type", "source", "paths"),
    [
        (
            "text/x-go",
            b"package main\n\n// Greeter greets.\ntype Greeter struct{}\n\n"
            b'func (g *Greeter) Hello() string {\n\treturn "hi"\n}\n\nfunc main() {}\n',
            [(), ("Greeter",), ("Greeter", "Hello"), ("main",)],
        ),
        (
            "application/javascript",
            b"import x from 'x';\n\nexport async function load(a) {\n  return a;\n}\n\n"
            b"export const twice = (n) => n * 2;\n\nclass Box {\n  open() {}\n}\n",
            [(), ("load",), ("twice",), ("Box",)],
        ),
        (
            "application/typescript",
            b"export interface Point {\n  x: number;\n}\n\nexport type Id = string;\n",
            [("Point",), ("Id",)],
        ),
        (
            "text/x-rust",
            b"use std::fmt;\n\n/// A duck.\npub struct Duck;\n\nimpl fmt::Display for Duck {\n"
            b"    fn fmt(&self) {}\n}\n\npub fn quack() {}\n",
            [(), ("Duck",), ("fmt::Display for Duck",), ("quack",)],
        ),
        (
            "text/x-c",
            b"#include <stdio.h>\n\nstruct point {\n  int x;\n};\n\n"
            b"static int add(int a, int b)\n{\n  return a + b;\n}\n\nint main(void) {\n"
            b"  return add(1, 2);\n}\n",
            [(), ("point",), ("add",), ("main",)],
        ),
        (
            "text/x-java",
            b"package a;\n\nimport java.util.List;\n\n@Deprecated\npublic final class Pond {\n"
            b"    void fill() {}\n}\n",
            [(), ("Pond",)],
        ),
    ],
)
def test_other_languages_split_at_top_level_definitions(
    content_type: str, source: bytes, paths: list[tuple[str, ...]]
) -> None:
    document = _parse(source, content_type)
    assert [s.heading_path for s in document.sections] == paths
    assert document.text == source.decode()
    _assert_well_formed(document, content_type)


def test_every_code_media_type_has_a_parser() -> None:
    assert set(CODE_MEDIA_TYPES) <= PARSERS.content_types
