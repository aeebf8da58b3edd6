"""Extraction quality of the parsers: token recall per groundtruth file (``make bench-parse``).

For every ``shared/data/docs/groundtruth/NAME.md`` whose source ``NAME`` exists, parse the
source with the production parser for its format and report the token recall (the share of
the groundtruth's words, counted with multiplicity, found in the extracted text: see
:mod:`ragline_ingestion.domain.parsing.token_recall`), the extracted characters and the parse
time. Prints a table and writes ``bench-results/parse.json`` at the repository root; exits
non-zero if any file is below the 0.90 gate (``make test`` enforces the same gate).

Parsing happens in this process, without the sandbox: the numbers are the parsers' own cost.
Run from anywhere: ``.venv/bin/python services/ingestion/benchmarks/bench_parse.py``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from token_recall import token_recall

from ragline_ingestion.domain.parsing import DOCX, default_parsers

REPO_ROOT = Path(__file__).resolve().parents[3]
DOCS = REPO_ROOT.parent / "shared" / "data" / "docs"
RESULTS = REPO_ROOT / "bench-results" / "parse.json"
MIN_RECALL = 0.90
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "docx": DOCX,
    "html": "text/html",
    "md": "text/markdown",
    "txt": "text/plain",
}


def main() -> int:
    groundtruth_dir = DOCS / "groundtruth"
    if not groundtruth_dir.is_dir():
        print(f"skipped: no groundtruth at {groundtruth_dir} (expected beside the repository)")
        return 0
    parsers = default_parsers()
    rows: list[dict[str, object]] = []
    for groundtruth in sorted(groundtruth_dir.glob("*.md")):
        name = groundtruth.name.removesuffix(".md")
        folder = name.rsplit(".", 1)[-1]
        source = DOCS / folder / name
        if folder not in MEDIA_TYPES or not source.is_file():
            continue
        parser = parsers.parser_for(MEDIA_TYPES[folder])
        content = source.read_bytes()
        started = time.perf_counter()
        text = parser.parse(content).text
        seconds = time.perf_counter() - started
        recall = token_recall(groundtruth.read_text(encoding="utf-8"), text)
        rows.append(
            {
                "file": name,
                "parser": type(parser).__name__,
                "token_recall": round(recall, 4),
                "chars": len(text),
                "seconds": round(seconds, 4),
                "passed": recall >= MIN_RECALL,
            }
        )
    _print_table(rows)
    passed = all(row["passed"] for row in rows)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "metric": "token recall: share of groundtruth word tokens (lowercased, Markdown "
        "stripped, counted as a multiset) found in the extracted text",
        "threshold": MIN_RECALL,
        "passed": passed,
        "files": rows,
    }
    RESULTS.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(
        f"\nwrote {RESULTS.relative_to(REPO_ROOT)}; {'all' if passed else 'NOT all'} files "
        f">= {MIN_RECALL}"
    )
    return 0 if passed else 1


def _print_table(rows: list[dict[str, object]]) -> None:
    print(f"{'file':<28} {'parser':<12} {'recall':>7} {'chars':>8} {'seconds':>8}")
    for row in rows:
        mark = "" if row["passed"] else "  < gate"
        print(
            f"{row['file']!s:<28} {row['parser']!s:<12} {row['token_recall']:>7.3f} "
            f"{row['chars']:>8} {row['seconds']:>8.3f}{mark}"
        )


if __name__ == "__main__":
    sys.exit(main())
