"""Parsers turn real uploads into clean text with structure, or fail with a reason."""

from __future__ import annotations

import codecs
import os
from pathlib import Path

import pytest

from ragline_common.errors import PermanentProcessingError
from ragline_ingestion.domain.parsing import ParsedDocument, default_parsers

PARSERS = default_parsers()


def _parse(content: bytes, content_type: str) -> ParsedDocument:
    return PARSERS.parser_for(content_type).parse(content)


def _section_texts(document: ParsedDocument) -> dict[tuple[str, ...], str]:
    return {s.heading_path: document.text[s.start : s.end] for s in document.sections}


# --- registry ---------------------------------------------------------------------------------


def test_content_type_parameters_and_case_do_not_matter() -> None:
    assert PARSERS.parser_for("Text/Markdown; charset=UTF-8") is PARSERS.parser_for("text/markdown")
    assert {"text/plain", "text/markdown"} <= PARSERS.content_types


def test_unsupported_content_type_is_a_permanent_failure_naming_the_supported_ones() -> None:
    with pytest.raises(PermanentProcessingError) as caught:
        PARSERS.parser_for("application/x-msdownload")
    assert caught.value.code == "unsupported_content_type"
    assert "'application/x-msdownload'" in caught.value.detail
    assert "text/plain" in caught.value.detail


# --- plain text -------------------------------------------------------------------------------


def test_plain_text_file_is_its_own_text(shared_docs: Path) -> None:
    raw = (shared_docs / "txt" / "fake-text.txt").read_bytes()
    document = _parse(raw, "text/plain")
    assert document.text == raw.decode("utf-8")
    assert document.sections[0].heading_path == ()
    assert (document.sections[0].start, document.sections[0].end) == (0, len(document.text))


def test_utf16_file_with_byte_order_mark_decodes(shared_docs: Path) -> None:
    document = _parse((shared_docs / "bad" / "fake-text-utf-16.txt").read_bytes(), "text/plain")
    assert document.text.startswith("This is a test document to use for unit tests.")
    assert "\ufeff" not in document.text
    assert "Hamburgers are delicious" in document.text


def test_legacy_code_page_is_detected(shared_docs: Path) -> None:
    raw = (shared_docs / "bad" / "fake-html-cp1252.html").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = _parse(raw, "text/plain").text
    assert "Die schöne Frau" in text
    assert "El niño comió paella" in text


@pytest.mark.parametrize(
    ("bom", "codec"),
    [
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
    ],
)
def test_byte_order_marks_pick_the_encoding_and_are_dropped(bom: bytes, codec: str) -> None:
    document = _parse(bom + "Grüße aus Köln".encode(codec), "text/plain")
    assert document.text == "Grüße aus Köln"


def test_windows_newlines_become_unix_newlines() -> None:
    assert _parse(b"one\r\ntwo\rthree\n", "text/plain").text == "one\ntwo\nthree\n"


def test_a_stray_control_character_is_removed() -> None:
    prose = b"A long enough line of ordinary prose around one stray control character. " * 2
    document = _parse(prose + b"tab\tkept, bell\x07 dropped", "text/plain")
    assert document.text == prose.decode() + "tab\tkept, bell dropped"


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(os.urandom(4096), id="random-bytes"),
        pytest.param(b"\x00" * 200 + b"hello", id="valid-utf8-but-nul-bytes"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, id="png-header"),
    ],
)
def test_binary_content_is_a_permanent_failure_with_a_human_reason(content: bytes) -> None:
    with pytest.raises(PermanentProcessingError) as caught:
        _parse(content, "text/plain")
    assert caught.value.code == "binary_content"
    assert "not text" in caught.value.detail


def test_a_pdf_uploaded_as_text_is_refused(shared_docs: Path) -> None:
    with pytest.raises(PermanentProcessingError, match="not text"):
        _parse((shared_docs / "pdf" / "fake-memo.pdf").read_bytes(), "text/plain")


def test_empty_file_parses_to_empty_text(shared_docs: Path) -> None:
    # Refusing it is the chunker's job ("document contains no text"), for every format alike.
    assert _parse((shared_docs / "bad" / "empty.txt").read_bytes(), "text/plain").text == ""


# --- markdown ---------------------------------------------------------------------------------


def test_markdown_sections_follow_the_heading_hierarchy(shared_docs: Path) -> None:
    document = _parse((shared_docs / "md" / "wiki.md").read_bytes(), "text/markdown")
    assert [s.heading_path for s in document.sections] == [
        ("IBM",),
        ("IBM", "1910s–1950s"),
        ("IBM", "1960s–1980s"),
    ]
    sections = _section_texts(document)
    assert sections[("IBM",)].startswith("IBM\n\nInternational Business Machines Corporation")
    assert sections[("IBM", "1960s–1980s")].endswith("Selectric typewriter.")
    assert "#" not in document.text


def test_sibling_headings_replace_each_other_and_preamble_has_no_path(shared_docs: Path) -> None:
    document = _parse((shared_docs / "md" / "duck.md").read_bytes(), "text/markdown")
    assert [s.heading_path for s in document.sections] == [
        (),
        ("Swimming in the lake",),
        ("Swimming in the lake", "Let’s swim!"),
        ("Swimming in the lake", "Let’s eat"),
    ]
    assert _section_texts(document)[()] == "Summer activities"


def test_sections_are_ordered_disjoint_and_trimmed(shared_docs: Path) -> None:
    for path in sorted((shared_docs / "md").glob("*.md")):
        document = _parse(path.read_bytes(), "text/markdown")
        previous_end = 0
        for section in document.sections:
            assert previous_end <= section.start < section.end <= len(document.text), path.name
            body = document.text[section.start : section.end]
            assert body == body.strip(), path.name
            previous_end = section.end


def test_markdown_lists_and_tables_keep_their_text_without_markup(shared_docs: Path) -> None:
    text = _parse((shared_docs / "md" / "duck.md").read_bytes(), "text/markdown").text
    assert "You can relax and look around\nPaddle about\nEnjoy summer warmth" in text
    assert "Berries | Blueberry, Strawberry, Cranberry | 150" in text
    assert "---" not in text
    assert "- " not in text


def test_code_blocks_keep_their_code_but_lose_their_fences(shared_docs: Path) -> None:
    text = _parse((shared_docs / "md" / "codeblock.md").read_bytes(), "text/markdown").text
    assert "<to>Tove</to>" in text
    assert "```" not in text


def test_embedded_html_contributes_visible_text_only(shared_docs: Path) -> None:
    mixed = _parse((shared_docs / "md" / "mixed.md").read_bytes(), "text/markdown").text
    assert "Scrooge McDuck | Dagobert Duck | Balthazar Picsou | Paperone" in mixed
    assert "<td>" not in mixed
    assert "Now a div — almost there..." in mixed
    nested = _parse((shared_docs / "md" / "nested.md").read_bytes(), "text/markdown").text
    assert "Subitem 1\nSubitem 2" in nested
    assert "Table nesting apparently" not in nested  # inside an HTML comment


def test_inline_markup_is_dropped_and_link_targets_are_not_text() -> None:
    source = (
        b"# Intro *here*\n\n"
        b"Some **bold** and `code`, a [link](https://example.com/x) and ![a duck](d.png).\n"
    )
    document = _parse(source, "text/markdown")
    assert document.text == "Intro here\n\nSome bold and code, a link and a duck."
    assert document.sections[0].heading_path == ("Intro here",)


def test_markdown_without_headings_is_one_section() -> None:
    document = _parse(b"just a paragraph\n\nand another", "text/markdown")
    assert [(s.heading_path, s.start, s.end) for s in document.sections] == [
        ((), 0, len(document.text))
    ]
