"""Source code: the file verbatim, one section per top-level definition.

Code is kept exactly as written (indentation is meaning), and sections follow the units a
developer searches for, so a chunk never mixes the end of one function with the start of the
next and its heading path names what it is:

- Python is parsed with :mod:`ast`: each function and class is a section, each method a
  section inside its class; the heading path is the qualified name split into its parts
  (``("Cache", "get")`` for ``Cache.get``). Module-level code between them has no path.
- Other languages have no parser here (one per language would be a dependency each); a
  line-based heuristic finds top-level definitions instead: a line starting in column 0 that
  declares a function, class, type... in that language's syntax. Nested definitions stay in
  their parent's section.

Comments, decorators and annotations directly above a definition belong to it. Python that
does not parse (a fragment, Python 2) falls back to the heuristic.

Every pattern must match in time linear in the line, on lines of up to ``max_line_chars``
from strangers. Possessive quantifiers (``*+``, ``++``) keep the engine from retrying ways to
split a run of spaces or name characters between adjacent quantifiers: ``func (`` followed by
300 spaces took the old Go pattern 0.7 s, growing with the cube of the length, and code was
then parsed in the worker itself, holding the GIL.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ragline_ingestion.domain.parsing.decoding import check_line_lengths, decode_text
from ragline_ingestion.domain.parsing.document import ParsedDocument, Section

_JS = (
    r"^(?:export\s+(?:default\s+)?)?(?:async\s+)?function\*?\s*([\w$]+)",
    r"^(?:export\s+(?:default\s+)?)?(?:abstract\s+)?class\s+([\w$]+)",
    r"^(?:export\s+)?(?:const|let|var)\s+([\w$]+)\s*=\s*(?:async\s*)?(?:function|\(|[\w$]+\s*=>)",
)
_C = (
    r"^(?:typedef\s++)?(?:struct|union|enum)\s++(\w++)\s*+\{?\s*+$",
    # A function definition: a declarator in column 0 with an open parameter list and no ";".
    # The name starts a run of name characters (after a type), or follows the ``::`` that
    # starts one (``Bits<1>::empty(``) or the class of a member defined in column 0
    # (``Duck::~Duck(``); nowhere else, or every ``:`` of ``a:a:a...`` would start a rescan
    # of the rest of the line.
    r"^(?!(?:if|else|for|while|do|switch|return|typedef|using|case)\b)"
    r"(?:[A-Za-z_][\w\s*&:<>,~]*?(?:(?<![\w:~])|(?<=[^\w:~]::))|[A-Za-z_]\w*+::)"
    r"~?([A-Za-z_][\w:~]*+)\s*+\([^;]*+$",
)
_JAVA_MODIFIERS = r"(?:(?:public|protected|private|internal|abstract|final|static|sealed|partial|"
_JAVA_MODIFIERS += r"readonly|unsafe|strictfp|non-sealed)\s+)*"

# Top-level definition patterns per language; each group that matches is a part of the path.
LANGUAGES: dict[str, tuple[str, ...]] = {
    "javascript": _JS,
    "typescript": (
        *_JS,
        r"^(?:export\s+)?(?:declare\s+)?(?:interface|type|enum|namespace|module)\s+([\w$]+)",
    ),
    "go": (
        r"^func\s++(?:\(\s*+(?:\w++\s*+(?=[*\w]))?\*?\s*+(\w++)(?:\[[^\]]*+\])?\s*+\)\s*+)?"
        r"(\w+)",
        r"^type\s+(\w+)",
    ),
    "java": (_JAVA_MODIFIERS + r"(?:class|interface|enum|record|@interface)\s+(\w+)",),
    "csharp": (
        r"^namespace\s+([\w.]+)",
        _JAVA_MODIFIERS + r"(?:class|interface|enum|record|struct)\s+(\w+)",
    ),
    "kotlin": (
        r"^(?:(?:public|private|internal|protected|open|abstract|sealed|data|inline|value|enum|"
        r"annotation|suspend|override)\s+)*(?:class|interface|object|fun)\s+(?:<[^>]*>\s*)?"
        r"([\w.]+)",
    ),
    "scala": (
        r"^(?:(?:private|protected|final|sealed|abstract|case|implicit)\s+)*"
        r"(?:class|object|trait|def)\s+(\w+)",
    ),
    "swift": (
        r"^(?:(?:public|private|internal|open|final|fileprivate)\s+)*"
        r"(?:class|struct|enum|protocol|extension|func|actor)\s+([\w.]+)",
    ),
    "c": _C,
    "cpp": (r"^(?:template\s*<.*>\s*)?(?:class|struct|namespace)\s+(\w+)", *_C),
    "rust": (
        r"^(?:pub(?:\([^)]*\))?\s+)?(?:(?:async|const|unsafe|extern\s+\"\w+\")\s+)*"
        r"(?:fn|struct|enum|trait|mod|union|type|macro_rules!)\s+(\w+)",
        # The name runs to the brace; trailing whitespace goes with ``strip``.
        r"^(?:unsafe\s++)?impl(?:<[^>{]*+>)?\s++([^{]++)(?:\{.*)?$",
    ),
    "ruby": (r"^(?:def|class|module)\s+([\w.:?!]+)",),
    "php": (
        r"^(?:(?:abstract|final|readonly)\s+)*(?:function|class|interface|trait|enum)\s+(\w+)",
    ),
    "shell": (r"^(?:function\s++)?([\w-]++)\s*+\(\)\s*+\{?\s*+$", r"^function\s+([\w-]+)"),
    "python": (r"^(?:async\s+)?def\s+(\w+)", r"^class\s+(\w+)"),
}
# Lines that lead into the definition below them.
_PREAMBLE = re.compile(r"^\s*(?:#|//|/\*|\*|@|\[\w|///)")


@dataclass(frozen=True)
class _Boundary:
    """From ``line`` (0-based) on, text belongs to ``path`` until the next boundary."""

    line: int
    path: tuple[str, ...]


class CodeParser:
    def __init__(self, language: str, *, max_line_chars: int) -> None:
        self._language = language
        self._max_line_chars = max_line_chars
        self._patterns = tuple(re.compile(pattern) for pattern in LANGUAGES[language])

    def parse(self, content: bytes) -> ParsedDocument:
        text = decode_text(content)
        check_line_lengths(text, self._max_line_chars)
        lines = text.splitlines(keepends=True)
        boundaries = None
        if self._language == "python":
            boundaries = _python_boundaries(text)
        if boundaries is None:
            boundaries = list(self._heuristic_boundaries(lines))
        return ParsedDocument(text=text, sections=_sections(text, lines, boundaries))

    def _heuristic_boundaries(self, lines: Sequence[str]) -> Iterable[_Boundary]:
        for number, line in enumerate(lines):
            for pattern in self._patterns:
                match = pattern.match(line)
                if match:
                    path = tuple(group.strip() for group in match.groups() if group)
                    yield _Boundary(_lead_in(lines, number), path)
                    break


def _python_boundaries(text: str) -> list[_Boundary] | None:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return None
    lines = text.splitlines(keepends=True)
    boundaries: list[_Boundary] = []

    def visit(body: list[ast.stmt], parent: tuple[str, ...]) -> None:
        for node in body:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            path = (*parent, node.name)
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
            boundaries.append(_Boundary(_lead_in(lines, first), path))
            if isinstance(node, ast.ClassDef):
                visit(node.body, path)
            boundaries.append(_Boundary(node.end_lineno or node.lineno, parent))

    visit(tree.body, ())
    return boundaries


def _lead_in(lines: Sequence[str], line: int) -> int:
    """The first of the comment/decorator lines directly above ``line``."""
    while line > 0 and _PREAMBLE.match(lines[line - 1]):
        line -= 1
    return line


def _sections(text: str, lines: Sequence[str], boundaries: list[_Boundary]) -> tuple[Section, ...]:
    line_starts = [0]
    for line in lines:
        line_starts.append(line_starts[-1] + len(line))
    # At equal lines the boundary recorded last wins: a definition starting right where
    # the previous one ended takes the line.
    by_line: dict[int, tuple[str, ...]] = {0: ()}
    for boundary in sorted(boundaries, key=lambda b: b.line):
        by_line[boundary.line] = boundary.path
    starts = sorted(by_line)
    sections: list[Section] = []
    for index, first_line in enumerate(starts):
        start = line_starts[min(first_line, len(lines))]
        end = (
            line_starts[min(starts[index + 1], len(lines))]
            if index + 1 < len(starts)
            else len(text)
        )
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            sections.append(Section(by_line[first_line], start, end))
    return tuple(sections)
