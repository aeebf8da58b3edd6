"""Property-based fuzzing of the in-process parsers (text, Markdown, code, HTML, DOCX) and of
the decoder, against the property in ``ingest_fuzz_harness.py``.

Inputs are built from the pieces each format is made of (markup, keywords, numbers in
attributes, encodings), so hypothesis reaches the parsers' branches rather than their first
"not a ..." check.
"""

from __future__ import annotations

import io
import zipfile

from hypothesis import given
from hypothesis import strategies as st
from ingest_fuzz_harness import (
    FUZZ,
    FUZZ_TIME_LIMIT,
    TEXT_PIECES,
    WORDPROCESSINGML,
    WORDS,
    assert_parses_cleanly,
    joined,
)

from ragline_common.errors import PermanentProcessingError
from ragline_ingestion.domain.parsing import CODE_MEDIA_TYPES, DOCX
from ragline_ingestion.domain.parsing.decoding import decode_text

pytestmark = FUZZ_TIME_LIMIT


# --- strategies ----------------------------------------------------------------------------------

# Odd numbers for attributes that parsers turn into ints: non-ASCII digits pass ``isdigit``
# but not ``int``, and ``int`` refuses over 4,300 digits.
_NUMBERS = st.sampled_from(["0", "1", "3", "-1", "²", "٣", "1e3", "", " 2", "9" * 5000])


_ENCODINGS = ("utf-8", "utf-16", "utf-16-le", "utf-32", "cp1252", "shift_jis", "latin-1")


@st.composite
def encoded(draw: st.DrawFn, text: st.SearchStrategy[str]) -> bytes:
    """Text in one of the encodings uploads come in (or raw bytes now and then)."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=400))
    return draw(text).encode(draw(st.sampled_from(_ENCODINGS)), errors="ignore")


_MARKDOWN_PIECES = st.one_of(
    TEXT_PIECES,
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
    TEXT_PIECES,
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
    TEXT_PIECES,
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

_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_DOCX_PIECES = st.one_of(
    WORDS,
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
    body = draw(joined(_DOCX_PIECES, max_size=80))
    document = (
        f'<w:document xmlns:w="{WORDPROCESSINGML}" xmlns:mc="{_MC}">'
        f"<w:body>{body}</w:body></w:document>"
    )
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
            package.writestr(
                "word/styles.xml", f'<w:styles xmlns:w="{WORDPROCESSINGML}">{styles}</w:styles>'
            )
    data = buffer.getvalue()
    if draw(st.integers(0, 5)) == 0:  # damage the archive itself now and then
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at + 1 :]
    return data


# --- in-process parsers --------------------------------------------------------------------------


@FUZZ
@given(content=encoded(joined(TEXT_PIECES)))
def test_fuzz_plain_text(content: bytes) -> None:
    assert_parses_cleanly("text/plain", content)


@FUZZ
@given(content=encoded(joined(_MARKDOWN_PIECES)))
def test_fuzz_markdown(content: bytes) -> None:
    assert_parses_cleanly("text/markdown", content)


@FUZZ
@given(
    content_type=st.sampled_from(sorted(CODE_MEDIA_TYPES)),
    content=encoded(joined(_CODE_PIECES)),
)
def test_fuzz_code(content_type: str, content: bytes) -> None:
    assert_parses_cleanly(content_type, content)


@FUZZ
@given(content=encoded(joined(_HTML_PIECES)))
def test_fuzz_html(content: bytes) -> None:
    assert_parses_cleanly("text/html", content)


@FUZZ
@given(content=docx_packages())
def test_fuzz_docx(content: bytes) -> None:
    assert_parses_cleanly(DOCX, content)


@FUZZ
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
