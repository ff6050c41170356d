"""DOCX headings kept as section titles: citations name the section they quote from (real DOCX, MiniLM, Chroma)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.read import locate_headings, read_file
from tests.conftest import run_cli


def _docx(path: Path) -> Path:
    import docx

    d = docx.Document()
    d.add_heading("Provincial counter-terrorism review", level=0)
    d.add_paragraph("This review covers the counter-terrorism departments of the provinces.")
    d.add_heading("Funding", level=1)
    d.add_paragraph("The provincial cabinet allocated Rs 2.4 billion to the department for new forensic laboratories.")
    d.add_heading("Oversight", level=1)
    d.add_paragraph("A parliamentary committee reviews the department's detentions every quarter.")
    d.add_paragraph("Oversight reports are published within thirty days of each review.")
    d.save(str(path))
    return path


def test_docx_headings_become_sections_at_exact_offsets(tmp_path: Path) -> None:
    parsed = read_file(_docx(tmp_path / "review.docx"))
    titles = [s["title"] for s in parsed.sections or []]
    assert titles == ["Provincial counter-terrorism review", "Funding", "Oversight"]
    for s in parsed.sections or []:
        start = int(s["start"])  # type: ignore[call-overload]
        assert parsed.text[start : start + len(str(s["title"]))] == s["title"]
    # "Oversight" the heading, not the word starting the later paragraph
    oversight = next(s for s in parsed.sections or [] if s["title"] == "Oversight")
    assert parsed.text[int(oversight["start"]) - 1] == "\n"  # type: ignore[call-overload]


def test_locate_headings_skips_words_inside_paragraphs() -> None:
    text = "Intro about funding.\n\nFunding\n\nMoney went to labs."
    assert locate_headings(text, ["Funding", "Missing heading"]) == [{"title": "Funding", "start": text.index("\nFunding") + 1}]


@pytest.mark.slow
def test_citations_name_the_section_and_text_files_have_none(tmp_path: Path, make_assistant) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "docs"
    folder.mkdir()
    _docx(folder / "review.docx")
    (folder / "plain.txt").write_text("The annual report of the interior ministry lists 14 training centres for police.\n")
    a = make_assistant()
    report = a.ingest([folder])
    assert report.documents == 2 and not report.failed
    ans = a.ask("How much did the provincial cabinet allocate for forensic laboratories?")
    cited = [c for c in ans.citations if "Rs 2.4 billion" in c.quote]
    assert cited and cited[0].section == "Funding"
    ans = a.ask("How often does the parliamentary committee review detentions?")
    cited = [c for c in ans.citations if "every quarter" in c.quote]
    assert cited and cited[0].section == "Oversight"
    ans = a.ask("How many training centres for police does the interior ministry list?")
    cited = [c for c in ans.citations if "14 training centres" in c.quote]
    assert cited and cited[0].section is None


@pytest.mark.slow
def test_cli_shows_the_section(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    _docx(folder / "review.docx")
    store = str(tmp_path / "store")
    assert run_cli("ingest", str(folder), "--store", store).returncode == 0
    r = run_cli("ask", "How often does the parliamentary committee review detentions?", "--store", store)
    assert r.returncode == 0, r.stderr
    assert "§ Oversight" in r.stdout
    shown = json.loads(run_cli("docs", "show", "review", "--store", store, "--json").stdout)
    assert [s["title"] for s in shown["sections"]] == ["Provincial counter-terrorism review", "Funding", "Oversight"]
