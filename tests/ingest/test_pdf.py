"""Paged PDFs: page map, header/footer removal, hyphenation, two columns, page labels, OCR.

The PDFs are made by tests/data/make_pdfs.py; `<name>.json` beside them holds each page's text as written.
"""

from __future__ import annotations

import difflib
import json
import re
import shutil
from pathlib import Path

import pytest

from assistant.answer.cite import citation
from assistant.errors import ReadError
from assistant.store.catalog import Catalog
from assistant.types import Document, PageSpan
from ingest import pdf
from ingest.read import normalize, read_file
from tests.conftest import DATA, missing

PDFS = DATA / "pdf"
REPORT = PDFS / "security_report.pdf"
SOURCE = json.loads((PDFS / "security_report.json").read_text(encoding="utf-8"))["pages"]


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _need_tesseract() -> None:
    if shutil.which("tesseract") is None:
        missing("tesseract is not installed (apt-get install tesseract-ocr tesseract-ocr-eng)")


@pytest.fixture(scope="module")
def parsed():  # type: ignore[no-untyped-def]
    _need_tesseract()
    return read_file(REPORT)


def test_page_map_labels_and_ranges(parsed) -> None:  # type: ignore[no-untyped-def]
    pages = parsed.pages
    assert [p["n"] for p in pages] == [1, 2, 3, 4, 5, 6]
    assert [p["label"] for p in pages] == ["i", "ii", "1", "2", "3", "4"]
    assert [p["ocr"] for p in pages] == [False] * 5 + [True]
    assert parsed.text == normalize(parsed.text)
    for prev, nxt in zip(pages, pages[1:]):
        assert 0 <= prev["start"] < prev["end"] <= nxt["start"]
    assert pages[-1]["end"] == len(parsed.text)


def test_text_pages_equal_the_source_text(parsed) -> None:  # type: ignore[no-untyped-def]
    """Every text-layer page is exactly its source: no header/footer, hyphens joined, columns in order."""
    for meta, src in zip(parsed.pages, SOURCE):
        if src["kind"] == "scan":
            continue
        assert _squash(parsed.text[meta["start"] : meta["end"]]) == _squash(src["text"]), meta


def test_headers_footers_and_page_numbers_are_gone(parsed) -> None:  # type: ignore[no-untyped-def]
    assert "Security Review 2024 |" not in parsed.text
    for meta in parsed.pages:
        page = parsed.text[meta["start"] : meta["end"]]
        assert not re.search(rf"(^|\n){re.escape(meta['label'])}(\n|$)", page), meta


def test_hyphenation_joined_but_real_hyphens_kept(parsed) -> None:  # type: ignore[no-untyped-def]
    text = parsed.text
    for joined in ("published", "counterterrorism departments", "frequently delayed"):
        assert joined in text
    for broken in ("publi-", "coun-", "freque-", "\x02", "\ufffe"):
        assert broken not in text
    for real in ("counter-terrorism operations", "well-known pattern", "Counter-terrorism courts", "intelligence-based"):
        assert real in text


def test_two_columns_read_left_then_right(parsed) -> None:  # type: ignore[no-untyped-def]
    left = "By December only 18,600 seminaries had completed registration with the education ministry"
    right = "The financial monitoring unit received 1,412 suspicious transaction reports linked to proscribed organisations"
    assert left in parsed.text and right in parsed.text
    assert parsed.text.index(left) < parsed.text.index(right)


def test_scanned_page_is_ocrd(parsed) -> None:  # type: ignore[no-untyped-def]
    meta = parsed.pages[-1]
    page = _squash(parsed.text[meta["start"] : meta["end"]])
    want = _squash(SOURCE[-1]["text"])
    assert difflib.SequenceMatcher(None, page, want).ratio() > 0.9, page
    assert "arrested 326 suspects" in page


def test_without_tesseract_the_scanned_page_is_skipped_and_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no tesseract on PATH
    parsed = read_file(REPORT)
    assert len(parsed.warnings) == 1
    assert "page 6 (label 4)" in parsed.warnings[0] and "Tesseract is not installed" in parsed.warnings[0]
    assert parsed.pages[-1]["start"] == parsed.pages[-1]["end"] == len(parsed.text)
    assert "326 suspects" not in parsed.text
    with pytest.raises(ReadError, match="Tesseract is not installed") as err:
        read_file(PDFS / "notification.pdf")
    assert err.value.path.endswith("notification.pdf")


def test_fully_scanned_pdf_reads_through_ocr() -> None:
    _need_tesseract()
    parsed = read_file(PDFS / "notification.pdf")
    assert parsed.title == "Proscription notification"
    assert "proscribed the organisation known as the Northern Front" in _squash(parsed.text)
    assert parsed.pages == [{"n": 1, "label": "1", "ocr": True, "start": 0, "end": len(parsed.text)}]


def test_sentence_running_over_a_page_break_stays_whole() -> None:
    parsed = read_file(PDFS / "continued.pdf")
    source = json.loads((PDFS / "continued.json").read_text(encoding="utf-8"))["pages"]
    one, two = parsed.pages
    assert (one["label"], two["label"]) == ("1", "2")
    for meta, src in zip(parsed.pages, source):
        assert _squash(parsed.text[meta["start"] : meta["end"]]) == _squash(src["text"])
    # the hyphenated word across the break is joined and the sentence has no paragraph break in it
    assert "with independent verification by parliamentary committees" in parsed.text
    assert one["end"] == two["start"]  # "inde" | "pendent": page 2 starts mid-word
    assert "points.\n\nFunding" in parsed.text


def _doc() -> Document:
    text = "First page ends here.\n\nSecond page starts. It goes on.\n\nThird."
    a, b = text.index("Second"), text.index("Third")
    pages = [
        PageSpan(n=1, label="i", start=0, end=a - 2),
        PageSpan(n=2, label="1", start=a, end=b - 2),
        PageSpan(n=3, label="2", start=b, end=len(text), ocr=True),
    ]
    return Document(doc_id="d", source="/x.pdf", title="T", text=text, pages=pages)


def test_citation_pages() -> None:
    doc = _doc()
    s = doc.text.index("Second")
    c = citation(1, doc, "c", s, s + 19)
    assert (c.page, c.page_label, c.page_end, c.ocr) == (2, "1", None, False)
    assert c.quote == doc.text[c.start : c.end]
    across = citation(2, doc, "c", doc.text.index("ends"), doc.text.index("starts"))
    assert (across.page, across.page_label, across.page_end, across.page_end_label) == (1, "i", 2, "1")
    assert across.page_text() == "pp. i-1"
    ocr = citation(3, doc, "c", doc.text.index("Third"), len(doc.text))
    assert ocr.ocr and ocr.page_text() == "p. 2 (OCR)"
    plain = citation(4, Document(doc_id="t", source="/t.txt", title="T", text="Plain text."), "c", 0, 5)
    assert plain.page is None and plain.page_end is None and plain.to_dict()["page"] is None


def test_catalog_keeps_the_page_map_and_reads_older_stores(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "catalog.sqlite3")
    doc = _doc()
    cat.put_documents([(doc, [], "")])
    assert cat.document("d").pages == doc.pages
    assert cat.documents_by_ids(["d"])["d"].pages == doc.pages
    cat.put_documents([(doc.model_copy(update={"pages": None}), [], "")])  # re-ingest without pages: map gone
    assert cat.document("d").pages is None
    # an older store: no pages table at all
    cat.db.execute("DROP TABLE pages")
    cat.close()
    old = Catalog(tmp_path / "catalog.sqlite3")  # CREATE TABLE IF NOT EXISTS on open
    assert old.document("d").text == doc.text and old.document("d").pages is None
    old.close()


@pytest.mark.slow
def test_answers_cite_the_right_page(make_assistant, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Ingest the PDFs (real MiniLM, real Chroma) and ask: citations name the page, quotes are exact and clean."""
    from assistant.answer.cite import citation_problems
    from assistant.cli.common import format_answer

    _need_tesseract()
    folder = tmp_path / "pdfs"
    folder.mkdir()
    for p in PDFS.glob("*.pdf"):
        shutil.copy(p, folder / p.name)
    a = make_assistant()
    report = a.ingest([folder])
    assert report.documents == 3 and not report.failed and not report.warnings
    cases = [
        ("How many suspicious transaction reports did the financial monitoring unit receive?", "1,412", 5, "3", False),
        ("How often did the board of governors of the counter terrorism authority meet?", "only twice", 3, "1", False),
        ("How many terrorist attacks were recorded in 2024?", "521", 2, "ii", False),
        ("How many suspects did the Punjab Counter Terrorism Department arrest?", "326", 6, "4", True),
    ]
    for question, fact, page, label, ocr in cases:
        ans = a.ask(question)
        assert not ans.refused, question
        cited = [c for c in ans.citations if fact in c.quote]
        assert cited, (question, [c.quote for c in ans.citations])
        c = cited[0]
        assert (c.page, c.page_label, c.page_end, c.ocr) == (page, label, None, ocr), question
        assert "Security Review 2024 |" not in c.quote
        assert not citation_problems(ans, {c.doc_id: a.document(c.doc_id)})
        text = format_answer(ans.to_dict())
        assert f"p. {label}" in text and (("(OCR)" in text) == ocr)
    ans = a.ask("Who became responsible for monitoring implementation of the revised plan?")
    crossing = [c for c in ans.citations if "independent verification" in c.quote]
    assert crossing, [c.quote for c in ans.citations]
    c = crossing[0]
    assert (c.page, c.page_end, c.page_label, c.page_end_label) == (1, 2, "1", "2")
    assert "pp. 1-2" in format_answer(ans.to_dict())


@pytest.mark.parametrize(("name", "reason"), [("encrypted.pdf", "encrypted PDF"), ("corrupt.pdf", "corrupt PDF"), ("notapdf.pdf", "corrupt PDF")])
def test_broken_pdfs_fail_with_a_reason(name: str, reason: str) -> None:
    with pytest.raises(ReadError, match=reason) as err:
        read_file(DATA / "bad" / name)
    assert err.value.path.endswith(name)


# --- cleaning rules on lines (no PDF needed) ---------------------------------------------------
def _page(n: int, label: str, texts: list[str]) -> pdf.PageText:
    top = 800.0
    lines = []
    for i, t in enumerate(texts):
        lines.append(pdf.Line(text=t, top=top - 15 * i, bottom=top - 15 * i - 10, para_start=i == 0))
    return pdf.PageText(n=n, label=label, lines=lines)


def test_printed_page_numbers_offset_from_the_file_are_dropped_but_numbers_in_text_kept() -> None:
    # no PDF labels; the printed numbers start at 1 on the file's page 3 (two unnumbered front pages)
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
    body = {n: [f"The {words[n - 1]} section opens.", f"It closes on {words[-n]} grounds."] for n in range(1, 7)}
    pages = [_page(n, str(n), [*body[n], str(n - 2) if n > 2 else "Cover"]) for n in range(1, 7)]
    single = [_page(1, "1", ["Attacks by year, total for", "2024"])]
    pdf.clean(pages)
    pdf.clean(single)
    for p in pages[2:]:
        assert p.text == " ".join(body[p.n]), p.text
    assert single[0].text.endswith("2024")  # a number in the text, not a page number


def test_hyphen_rules() -> None:
    words, compounds = {"counterterrorism", "published"}, {"counter-terrorism", "well-known"}
    assert pdf._join("daily newspapers publi\x02", "shed in four", words, compounds) == "daily newspapers publi" + "shed in four"
    assert pdf._join("the well-", "known pattern", set(), compounds) == "the well-known pattern"
    assert pdf._join("the Anti-", "Terrorism Act", words, compounds) == "the Anti-Terrorism Act"
    assert pdf._join("ends a sentence.", "Next one", words, compounds) == "ends a sentence. Next one"


def test_narrow_side_by_side_cells_are_a_table_not_two_columns() -> None:
    rows = [("Punjab", "326"), ("Sindh", "141"), ("Balochistan", "171"), ("Khyber Pakhtunkhwa", "295")]
    segs = []
    for i, (a, b) in enumerate(rows):
        y = 700 - 15 * i
        segs += [pdf._Seg(72, y, 72 + 6 * len(a), y + 10, a), pdf._Seg(320, y, 320 + 6 * len(b), y + 10, b)]
    lines = pdf.layout_lines(segs, 595)
    assert [ln.text for ln in lines] == [f"{a} {b}" for a, b in rows]


@pytest.mark.slow
def test_cli_reports_skipped_scanned_pages_without_tesseract(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    pdfs = sorted(str(p) for p in PDFS.glob("*.pdf"))
    r = run_cli("ingest", *pdfs, "--store", str(tmp_path / "store"), env={"PATH": str(empty_bin)})
    assert r.returncode == 1, r.stderr  # notification.pdf (all scanned) failed; the others were ingested
    lines = r.stderr.strip().splitlines()
    warn = [ln for ln in lines if ln.startswith("warning:")]
    failed = [ln for ln in lines if ln.startswith("failed:")]
    assert len(warn) == 1 and "security_report.pdf: page 6 (label 4): no text layer and Tesseract is not installed" in warn[0]
    assert len(failed) == 1 and "notification.pdf: PDF has no extractable text: no text layer and Tesseract is not installed" in failed[0]
    assert "store has 2 documents" in r.stdout


def test_page_marks_survive_normalisation_and_stray_private_use_chars() -> None:
    pages = [pdf.PageText(n=1, label="1", text="First  page\ue000 text."), pdf.PageText(n=2, label="2", text=""), pdf.PageText(n=3, label="3", text="Third.")]
    meta = [{"n": p.n, "label": p.label, "ocr": False} for p in pages]
    text, ranges = pdf.page_ranges(normalize(pdf.join_pages(pages)), meta)
    assert text == "First page\ufffd text.\n\nThird."
    assert [text[r["start"] : r["end"]] for r in ranges] == ["First page\ufffd text.", "", "Third."]


@pytest.mark.slow
def test_skipped_pages_are_read_once_tesseract_is_installed(make_assistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    _need_tesseract()
    folder = tmp_path / "pdfs"
    folder.mkdir()
    shutil.copy(REPORT, folder / REPORT.name)
    a = make_assistant()
    with monkeypatch.context() as m:
        m.setenv("PATH", str(tmp_path))  # no tesseract
        first = a.ingest([folder])
    assert first.added == 1 and len(first.warnings) == 1
    assert "326 suspects" not in a.document("security_report").text
    second = a.ingest([folder])  # same file, Tesseract available now: read again, not "unchanged"
    assert second.updated == 1 and not second.warnings
    doc = a.document("security_report")
    assert "326 suspects" in doc.text and doc.pages[-1].ocr and doc.pages[-1].end > doc.pages[-1].start
    assert a.ingest([folder]).unchanged == 1


def test_chapter_running_heads_with_page_numbers_are_dropped() -> None:
    chapters = ["Scope", "Threats", "Agencies", "Funding"]
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    pages = [
        _page(n, str(n), [f"Chapter {(n + 1) // 2}: {chapters[(n - 1) // 2]} {n}", f"The {words[n - 1]} part begins.", f"It ends {words[-n]}."])
        for n in range(1, 9)
    ]
    pdf.clean(pages)
    assert [p.text for p in pages] == [f"The {words[n - 1]} part begins. It ends {words[-n]}." for n in range(1, 9)]


def test_paragraph_gaps_bullets_and_run_on_lines() -> None:
    def line(text: str, top: float) -> pdf.Line:
        return pdf.Line(text=text, top=top, bottom=top - 10)

    lines = pdf._mark_paragraphs([[
        line("Heading", 800), line("First paragraph line one", 778), line("continues here.", 763),
        line("Second paragraph after a gap", 740), line("and a wide gap inside a sentence", 748 - 30),
        line("• a bullet", 703), line("• another bullet", 688),
    ]])
    assert [ln.para_start for ln in lines] == [True, True, False, True, False, True, True]
