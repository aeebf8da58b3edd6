"""Fuzzing the parsers that run out of process: PDFium is C++ fed mutated files, so its many
cases run in one child process (a crash fails the test instead of killing pytest), and a few
hostile files of every format go through the real parse sandbox.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ingest_fuzz_harness import CAMPAIGN_EXAMPLES, FUZZ_TIME_LIMIT, PARSERS, WORDPROCESSINGML

from ragline_common.errors import PermanentProcessingError
from ragline_ingestion.domain.parsing import DOCX
from ragline_ingestion.domain.parsing.sandbox import ParseSandbox

pytestmark = FUZZ_TIME_LIMIT

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
        max_examples=int(CAMPAIGN_EXAMPLES or 150),
        derandomize=CAMPAIGN_EXAMPLES is None,
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
        package.writestr(
            "word/document.xml", f'<w:document xmlns:w="{WORDPROCESSINGML}"><w:body>{body}'
        )
    return buffer.getvalue()


@pytest.mark.parametrize("name", sorted(SANDBOXED))
def test_hostile_files_end_cleanly_in_the_sandbox(name: str) -> None:
    content_type, make, expected = SANDBOXED[name]
    assert _sandboxed(content_type, make()) in expected
