"""Issue 20, as a new user met it: a folder holding files that are not documents, and Markdown
with a `Date:` line and `#` heading marks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ingest.markdown import parse_markdown
from ingest.pipeline import walk
from ingest.read import read_file
from tests.conftest import CORPUS, DATA, run_cli

NOTE = """# Levies reform note

Date: 2025-03-10

## Funding ##

The Levies force was merged into the Balochistan police in 2021.

```
# a shell comment stays as it is
```
"""


def _folder_with_strays(d: Path) -> Path:
    d.mkdir()
    shutil.copy(DATA / "docs" / "brief.txt", d / "brief.txt")
    (d / "note.md").write_text(NOTE, encoding="utf-8")
    (d / "build_index.py").write_text("print('not a document')\n", encoding="utf-8")
    (d / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (d / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
    return d


def test_walk_skips_and_counts_files_that_are_not_documents(tmp_path: Path) -> None:
    d = _folder_with_strays(tmp_path / "d")
    found = walk([d])
    assert sorted(f.name for f in found.files) == ["brief.txt", "note.md"]
    assert sorted(f.name for f in found.skipped) == [".DS_Store", "Thumbs.db", "build_index.py"]
    assert found.failures == []
    # named explicitly, a file is always read: an unsupported one is then an error
    assert [f.name for f in walk([d / "build_index.py"]).files] == ["build_index.py"]


def test_cli_ingest_of_a_folder_with_strays_succeeds_with_one_summary_line(tmp_path: Path) -> None:
    d = _folder_with_strays(tmp_path / "d")
    store = str(tmp_path / "store")
    r = run_cli("ingest", str(d), "--store", store)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == ""
    lines = r.stdout.strip().splitlines()
    assert lines == [
        "added 2, updated 0, unchanged 0, removed 0, failed 0; store has 2 documents, 2 chunks",
        "skipped 3 files that are not a document type (documents are .txt .md .html .pdf .docx)",
    ]
    report = json.loads(run_cli("ingest", str(d), "--store", store, "--json").stdout)
    assert report["skipped"] == 3 and report["failed"] == [] and report["unchanged"] == 2

    # an unsupported file named on the command line stays an error (exit 1, named with its reason)
    r = run_cli("ingest", str(d / "build_index.py"), "--store", store)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [f"failed: {d / 'build_index.py'}: unsupported file type '.py' (supported: .docx, .htm, .html, .markdown, .md, .pdf, .text, .txt)"]

    # `docs list` counts in words: "1 chunk", not "1 chunks"
    listing = run_cli("docs", "list", "--store", store).stdout.splitlines()
    assert len(listing) == 2 and all("\t1 chunk\t" in line for line in listing), listing
    note = next(line for line in listing if "Levies reform note" in line)
    assert "\t2025-03-10\t" in note  # the Markdown `Date:` line is the document's date


def test_markdown_date_line_and_heading_marks(tmp_path: Path) -> None:
    path = tmp_path / "note.md"
    path.write_text(NOTE, encoding="utf-8")
    parsed = read_file(path)
    assert (parsed.title, parsed.date) == ("Levies reform note", "2025-03-10")
    assert parsed.text.startswith("Levies reform note\n\nFunding\n\nThe Levies force")
    assert "##" not in parsed.text and "Date:" not in parsed.text
    assert "# a shell comment stays as it is" in parsed.text  # fenced code is not a heading
    # front matter carries title and date too, and leaves the text
    text, title, date, _ = parse_markdown("---\ntitle: 'Budget brief'\ndate: 2024-11-02\n---\n# Other\nBody #5 stays.\n")
    assert (title, date) == ("Budget brief", "2024-11-02") and text == "Other\nBody #5 stays.\n"
    # bold `**Date:**` lines count; a date deep in the body does not
    assert parse_markdown("# T\n**Date:** 2023-01-05\nx")[2] == "2023-01-05"
    late = "# T\n" + "".join(f"para {i}\n\n" for i in range(8)) + "Date: 2023-01-05\n"
    assert parse_markdown(late)[2] is None
    # the shipped corpus still reads as before (its `date` header, metadata.json titles)
    assert read_file(CORPUS / "000_e17f9ff628b617e6.txt").date == "2024-05-16"
