"""Property-based fuzzing of every parser, the segmenter and the chunker.

The property: whatever the bytes, parsing either gives a well-formed document (sections in
order, disjoint, inside the text) that chunks into exact, bounded slices, or raises the
documented ``PermanentProcessingError``; never another exception, which the worker could only
report as "the parser failed on it". Inputs are built from the pieces each format is made of
(markup, keywords, numbers in attributes, encodings), so hypothesis reaches the parsers'
branches rather than their first "not a ..." check.

Python-only parsers (text, Markdown, code, HTML, DOCX) run in-process, each example under a
memory budget traced by ``tracemalloc`` and the module under a hang budget. PDFium is C++ fed
mutated files: its many cases run in one child process (a crash fails the test instead of
killing pytest), and a few hostile files of every format go through the real sandbox.
Inputs that once failed live in ``fuzz_corpus/`` and are replayed by
``test_ingest_fuzz_corpus.py``.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tracemalloc
import zipfile
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ragline_common.adapters.embedder import HashEmbedder
from ragline_common.errors import PermanentProcessingError
from ragline_ingestion.domain.chunking import ChunkingLimits, chunk_document
from ragline_ingestion.domain.parsing import (
    CODE_MEDIA_TYPES,
    DOCX,
    ParsedDocument,
    Section,
    default_parsers,
)
from ragline_ingestion.domain.parsing.decoding import decode_text
from ragline_ingestion.domain.parsing.sandbox import ParseSandbox
from ragline_ingestion.domain.segmenting import segment

pytestmark = pytest.mark.timeout(240)

PARSERS = default_parsers()
COUNT_TOKENS = HashEmbedder().count_tokens
LIMITS = ChunkingLimits(max_tokens=24, overlap_tokens=6, max_chunks=1_000_000)
_MEMORY_BUDGET = 64 * 2**20
"""Peak Python allocation for one example of a few kilobytes: generous, it catches blow-ups."""
_CAMPAIGN_EXAMPLES = os.environ.get("RAGLINE_FUZZ_EXAMPLES")
"""Set it (say to 5000) for a longer, randomised search; unset, the suite replays the same
120 examples per parser every run, so it never fails on a bug it did not introduce."""
_FUZZ = settings(
    max_examples=int(_CAMPAIGN_EXAMPLES or 120),
    derandomize=_CAMPAIGN_EXAMPLES is None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

# --- the property --------------------------------------------------------------------------------


def assert_parses_cleanly(content_type: str, content: bytes) -> None:
    """Parse and chunk ``content`` in-process: a sound result or the documented error."""
    tracemalloc.start()
    try:
        _parse_and_chunk(content_type, content)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < _MEMORY_BUDGET, f"{peak / 2**20:.0f} MB for {len(content)} bytes"


def _parse_and_chunk(content_type: str, content: bytes) -> None:
    try:
        document = PARSERS.parser_for(content_type).parse(content)
    except PermanentProcessingError:
        return
    assert_well_formed(document)
    if not any(document.text[s.start : s.end].strip() for s in document.sections):
        with pytest.raises(PermanentProcessingError, match="document contains no text"):
            chunk_document(document, count_tokens=COUNT_TOKENS, limits=LIMITS)
        return
    chunks = chunk_document(document, count_tokens=COUNT_TOKENS, limits=LIMITS)
    for chunk in chunks:
        assert chunk.text == document.text[chunk.char_start : chunk.char_end]
        assert chunk.text and chunk.text == chunk.text.strip()
        assert chunk.token_count <= LIMITS.max_tokens
        assert len(chunk.text) <= LIMITS.max_chars


def assert_well_formed(document: ParsedDocument) -> None:
    previous_end = 0
    for section in document.sections:
        # Plain text is one section of the whole text, even when that is empty.
        assert previous_end <= section.start <= section.end <= len(document.text)
        previous_end = section.end


# --- strategies ----------------------------------------------------------------------------------

# Odd numbers for attributes that parsers turn into ints: non-ASCII digits pass ``isdigit``
# but not ``int``, and ``int`` refuses over 4,300 digits.
_NUMBERS = st.sampled_from(["0", "1", "3", "-1", "²", "٣", "1e3", "", " 2", "9" * 5000])
_WORDS = st.sampled_from(["duck", "Heron", "é", "漢字", "\u0301", "x" * 60, "1.", "a:b"])


def _joined(pieces: st.SearchStrategy[str], *, max_size: int = 60) -> st.SearchStrategy[str]:
    return st.lists(pieces, max_size=max_size).map("".join)


_ENCODINGS = ("utf-8", "utf-16", "utf-16-le", "utf-32", "cp1252", "shift_jis", "latin-1")


@st.composite
def encoded(draw: st.DrawFn, text: st.SearchStrategy[str]) -> bytes:
    """Text in one of the encodings uploads come in (or raw bytes now and then)."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=400))
    return draw(text).encode(draw(st.sampled_from(_ENCODINGS)), errors="ignore")


_TEXT_PIECES = st.one_of(
    _WORDS,
    st.sampled_from([" ", "\n", "\n\n", "\r\n", "\r", "\t", ".", "!?", "…", "。", '."', "\x00"]),
    st.text(max_size=4),
)
_MARKDOWN_PIECES = st.one_of(
    _TEXT_PIECES,
    st.sampled_from(
        [
            "# ", "###### ", "####### ", "Title\n===\n", "- ", "* ", "1. ", "> ", "```", "~~~",
            "    ", "| a | b |\n|---|---|\n", "|", "---", "*", "**", "_", "`", "[", "](", ")",
            "![", "<div>", "</div>", "<table><tr><td>", "</td></tr></table>", "<", ">",
            "&amp;", "&#", "\\", "<!--", "-->", "<script>", "<pre>", "[x]: /u\n",
        ]
    ),
)  # fmt: skip
_HTML_PIECES = st.one_of(
    _TEXT_PIECES,
    st.sampled_from(
        [
            "<p>", "</p>", "<h1>", "</h1>", "<h4>", "<table>", "</table>", "<tr>", "<td>",
            "</td>", "<th>", "<caption>", "<pre>", "</pre>", "<br>", "<img alt='bird'>",
            "<script>", "</script>", "<li>", "<ul>", "<div hidden>", "<template>", "<head>",
            "<body>", "<svg>", "&lt;", "&#x10FFFF;", "&#0;", "&nbsp;", "<!--", "-->", "<",
            ">", '"', "</", "<![CDATA[", "<h2 hidden>",
        ]
    ),
    _NUMBERS.map(lambda n: f"<td colspan='{n}'>"),
    st.sampled_from(["utf-8", "utf-16", "rot13", "base64", "undefined", "idna", "x-bogus"]).map(
        lambda name: f"<meta charset='{name}'>"
    ),
)  # fmt: skip
_CODE_PIECES = st.one_of(
    _TEXT_PIECES,
    st.sampled_from(
        [
            "def ", "class ", "async def ", "func ", "func (", "fn ", "impl ", "impl<T> ",
            "struct ", "function ", "export ", "const ", "type ", "pub ", "@", "#", "//",
            "/*", "*/", "(", ")", "()", "{", "}", "[", "]", "<", ">", ":", "::", "~", "*",
            "&", ";", "=", "=>", "    ", "name", "Name", "\n", "  ", "\t", "\"", "'",
            "if ", "template<", "namespace ", "interface ", "fun ", "object ", "trait ",
        ]
    ),
)  # fmt: skip

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_DOCX_PIECES = st.one_of(
    _WORDS,
    st.sampled_from(
        [
            "<w:p>", "</w:p>", "<w:r>", "</w:r>", "<w:t>", "</w:t>", "<w:tab/>", "<w:br/>",
            "<w:tbl>", "</w:tbl>", "<w:tr>", "</w:tr>", "<w:tc>", "</w:tc>", "<w:numPr/>",
            "<w:vMerge/>", "<w:vMerge w:val='restart'/>", "<w:delText>", "</w:delText>",
            "<w:instrText>", "</w:instrText>", "<mc:Fallback>", "</mc:Fallback>",
            "<w:pStyle w:val='Heading1'/>", "<w:pStyle w:val='Title'/>", "&amp;", "&bogus;",
            "<", ">", " ", "<w:noBreakHyphen/>", "<w:txbxContent>", "</w:txbxContent>",
        ]
    ),
    _NUMBERS.map(lambda n: f"<w:gridSpan w:val='{n}'/>"),
    _NUMBERS.map(lambda n: f"<w:outlineLvl w:val='{n}'/>"),
)  # fmt: skip
_STYLES = st.lists(
    st.tuples(
        st.sampled_from(["Heading1", "H", "Title", "x", ""]),
        st.sampled_from(["heading 1", "Heading 9", "Title", "Normal", "", "heading ٣"]),
        st.sampled_from(["", "<w:basedOn w:val='H'/>", "<w:basedOn w:val='Heading1'/>"]),
        _NUMBERS.map(lambda n: f"<w:outlineLvl w:val='{n}'/>") | st.just(""),
    ),
    max_size=4,
)
_TARGETS = st.sampled_from(
    ["word/document.xml", "/word/document.xml", "../../etc/passwd", "word/none.xml", "", "."]
)


@st.composite
def docx_packages(draw: st.DrawFn) -> bytes:
    """A zip of DOCX parts whose XML is drawn from WordprocessingML pieces (often invalid)."""
    body = draw(_joined(_DOCX_PIECES, max_size=80))
    document = f'<w:document xmlns:w="{_W}" xmlns:mc="{_MC}"><w:body>{body}</w:body></w:document>'
    styles = "".join(
        f"<w:style w:type='paragraph' w:styleId='{sid}'><w:name w:val='{name}'/>{based}"
        f"<w:pPr>{level}</w:pPr></w:style>"
        for sid, name, based, level in draw(_STYLES)
    )
    target = draw(_TARGETS)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr(
            "_rels/.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="r" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            f'relationships/officeDocument" Target="{target}"/></Relationships>',
        )
        package.writestr("word/document.xml", document)
        if draw(st.booleans()):
            package.writestr("word/styles.xml", f'<w:styles xmlns:w="{_W}">{styles}</w:styles>')
    data = buffer.getvalue()
    if draw(st.integers(0, 5)) == 0:  # damage the archive itself now and then
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at + 1 :]
    return data


# --- in-process parsers --------------------------------------------------------------------------


@_FUZZ
@given(content=encoded(_joined(_TEXT_PIECES)))
def test_fuzz_plain_text(content: bytes) -> None:
    assert_parses_cleanly("text/plain", content)


@_FUZZ
@given(content=encoded(_joined(_MARKDOWN_PIECES)))
def test_fuzz_markdown(content: bytes) -> None:
    assert_parses_cleanly("text/markdown", content)


@_FUZZ
@given(
    content_type=st.sampled_from(sorted(CODE_MEDIA_TYPES)),
    content=encoded(_joined(_CODE_PIECES)),
)
def test_fuzz_code(content_type: str, content: bytes) -> None:
    assert_parses_cleanly(content_type, content)


@_FUZZ
@given(content=encoded(_joined(_HTML_PIECES)))
def test_fuzz_html(content: bytes) -> None:
    assert_parses_cleanly("text/html", content)


@_FUZZ
@given(content=docx_packages())
def test_fuzz_docx(content: bytes) -> None:
    assert_parses_cleanly(DOCX, content)


@_FUZZ
@given(
    content=st.binary(max_size=600),
    declared=st.none() | st.sampled_from(["utf-8", "rot13", "base64", "undefined", "idna", "zz"]),
)
def test_fuzz_decoding(content: bytes, declared: str | None) -> None:
    try:
        text = decode_text(content, declared=declared)
    except PermanentProcessingError:
        return
    assert "\r" not in text


# --- the segmenter and the chunker on their own ---------------------------------------------------


def _squeezing(text: str) -> int:
    """Like WordPiece on hostile text: a long word is one ``[UNK]``, combining marks vanish."""
    return sum(1 for word in text.split() if word.strip("\u0300\u0301\u0302"))


_TOKENIZERS: dict[str, Callable[[str], int]] = {"hash": COUNT_TOKENS, "squeezing": _squeezing}
_SEGMENT_PIECES = st.one_of(
    _TEXT_PIECES, st.sampled_from(["\u0301" * 50, "." * 50, "a" * 300, "\n \t\n", '?!"'])
)


@_FUZZ
@given(
    text=_joined(_SEGMENT_PIECES, max_size=120),
    tokenizer=st.sampled_from(sorted(_TOKENIZERS)),
    max_tokens=st.integers(min_value=1, max_value=40),
    overlap_share=st.floats(min_value=0.0, max_value=0.9),
)
def test_fuzz_segmenter_and_chunker(
    text: str, tokenizer: str, max_tokens: int, overlap_share: float
) -> None:
    """Units and chunks tile the visible text, in order, within both budgets."""
    count = _TOKENIZERS[tokenizer]
    limits = ChunkingLimits(
        max_tokens=max_tokens, overlap_tokens=int(max_tokens * overlap_share), max_chunks=10**6
    )
    units = segment(
        text, 0, len(text), count_tokens=count, max_tokens=max_tokens, max_chars=limits.max_chars
    )
    covered = 0
    for unit in units:
        piece = text[unit.start : unit.end]
        assert covered <= unit.start < unit.end
        assert piece == piece.strip() and not text[covered : unit.start].strip()
        assert unit.tokens == count(piece) <= max_tokens
        assert len(piece) <= limits.max_chars
        covered = unit.end
    assert not text[covered:].strip()
    document = ParsedDocument(text=text, sections=(Section((), 0, len(text)),))
    if not units:
        with pytest.raises(PermanentProcessingError, match="document contains no text"):
            chunk_document(document, count_tokens=count, limits=limits)
        return
    chunks = chunk_document(document, count_tokens=count, limits=limits)
    assert chunks[0].char_start == units[0].start and chunks[-1].char_end == units[-1].end
    for chunk in chunks:
        assert chunk.token_count == count(chunk.text) <= max_tokens
        assert len(chunk.text) <= limits.max_chars


# --- PDF, in a child process ---------------------------------------------------------------------


def tiny_pdf(text: str) -> bytes:
    """A one-page PDF with ``text`` in its text layer, cross-reference table and all."""
    stream = f"BT /F1 12 Tf 72 712 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


@st.composite
def mutated_pdfs(draw: st.DrawFn) -> bytes:
    """The tiny PDF with a few bytes replaced, inserted or cut (markers kept, mostly)."""
    data = bytearray(tiny_pdf(draw(st.sampled_from(["Ducks paddle.", "", "(", "\\", "é"]))))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data) - 1))
        match draw(st.sampled_from(["replace", "insert", "delete"])):
            case "replace":
                data[at : at + 1] = draw(st.binary(min_size=1, max_size=4))
            case "insert":
                data[at:at] = draw(
                    st.sampled_from([b"<<", b">>", b"[", b"R", b"9999999999", b"-1", b"obj"])
                )
            case _:
                del data[at : at + draw(st.integers(1, 40))]
    return bytes(data)


_PDF_CHILD = """
import json, sys
from ragline_common.errors import PermanentProcessingError
from ragline_ingestion.domain.parsing import default_parsers

parser = default_parsers().parser_for("application/pdf")
unexpected = []
for number, hex_content in enumerate(json.load(sys.stdin)):
    try:
        document = parser.parse(bytes.fromhex(hex_content))
    except PermanentProcessingError:
        continue
    except Exception as exc:
        unexpected.append([number, type(exc).__name__, str(exc)[:200]])
        continue
    if any(not 0 <= s.start < s.end <= len(document.text) for s in document.sections):
        unexpected.append([number, "malformed", ""])
print(json.dumps(unexpected))
"""


def test_fuzz_pdf_mutations_in_a_child_process() -> None:
    """PDFium is C++: a crash must fail this test, not kill the test run."""
    examples: list[bytes] = []

    @settings(
        max_examples=int(_CAMPAIGN_EXAMPLES or 150),
        derandomize=_CAMPAIGN_EXAMPLES is None,
        deadline=None,
        database=None,
    )
    @given(content=mutated_pdfs())
    def collect(content: bytes) -> None:
        examples.append(content)

    collect()
    examples.append(tiny_pdf("Ducks paddle."))
    done = subprocess.run(  # the child reads the examples as JSON on stdin
        [sys.executable, "-c", _PDF_CHILD],
        input=json.dumps([example.hex() for example in examples]),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == []


# --- the sandbox path, a few hostile files -------------------------------------------------------


def _sandboxed(content_type: str, content: bytes) -> str:
    # Lexbor needs over 20 s for 100,000 nested elements (quadratic in depth): the deadline
    # ends that one, which is the sandbox's job.
    try:
        ParseSandbox(memory_mb=256, timeout_s=5).run(PARSERS.parser_for(content_type), content)
    except PermanentProcessingError as exc:
        return exc.code
    return "parsed"


SANDBOXED: dict[str, tuple[str, Callable[[], bytes], set[str]]] = {
    "mutated pdf": (
        "application/pdf",
        lambda: tiny_pdf("Ducks").replace(b"/Count 1", b"/Count 99999999"),
        {"parsed", "damaged_pdf", "no_text_layer", "too_many_pages"},
    ),
    "pdf of nested arrays": (
        "application/pdf",
        lambda: tiny_pdf("Ducks").replace(b"[0 0 612 792]", b"[" * 100_000 + b"]" * 100_000),
        {"parsed", "damaged_pdf", "no_text_layer"},
    ),
    "docx of deeply nested tables": (
        DOCX,
        lambda: _docx_body(
            "<w:tbl><w:tr><w:tc>" * 20_000 + "<w:p><w:r><w:t>deep</w:t></w:r></w:p>"
        ),
        {"parsed", "damaged_document"},
    ),
    "html nested a hundred thousand deep": (
        "text/html",
        lambda: b"<div>" * 100_000 + b"deep" + b"</div>" * 100_000,
        {"parsed", "parse_timeout"},
    ),
}


def _docx_body(body: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("word/document.xml", f'<w:document xmlns:w="{_W}"><w:body>{body}')
    return buffer.getvalue()


@pytest.mark.parametrize("name", sorted(SANDBOXED))
def test_hostile_files_end_cleanly_in_the_sandbox(name: str) -> None:
    content_type, make, expected = SANDBOXED[name]
    assert _sandboxed(content_type, make()) in expected
