"""The CLI in fresh processes: the --json contract and one-line usage errors."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import CORPUS, DATA, DOC_NIFTAC, run_cli


def test_ingest_ask_docs_json(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    r = run_cli("ingest", str(CORPUS), "--store", store, "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert set(report) >= {"added", "updated", "unchanged", "removed", "failed", "documents", "chunks"}
    assert report["added"] == 2 and report["documents"] == 2 and report["failed"] == []

    r = run_cli("ask", "How much did the KP cabinet authorize for police equipment?", "--store", store, "--json")
    assert r.returncode == 0, r.stderr
    ans = json.loads(r.stdout)
    assert not ans["refused"] and "Rs567.7 million" in ans["answer"]
    for c in ans["citations"]:
        shown = json.loads(run_cli("docs", "show", c["doc_id"], "--store", store, "--json").stdout)
        assert set(shown) == {"doc_id", "source", "title", "date", "text", "pages", "sections"}
        assert shown["pages"] is None  # text documents have no page map
        assert shown["sections"] is None  # nor headings (TXT/MD)
        assert shown["text"][c["start"] : c["end"]] == c["quote"]

    r = run_cli("ask", "What is the capital of France?", "--store", store, "--json", "--doc", DOC_NIFTAC, "--top-k", "3")
    assert json.loads(r.stdout)["refused"] is True

    listed = json.loads(run_cli("docs", "list", "--store", store, "--json").stdout)
    assert {d["doc_id"] for d in listed} == {"000_e17f9ff628b617e6", DOC_NIFTAC}
    text = run_cli("ask", "Why did NACTA struggle with CTD integration?", "--store", store)
    assert "[1]" in text.stdout and "Sources:" in text.stdout


def _one_line_error(r, needle: str) -> None:  # type: ignore[no-untyped-def]
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = [line for line in r.stderr.strip().splitlines() if line]
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr and needle in lines[0], lines[0]


def test_usage_errors_are_one_line(tmp_path: Path) -> None:
    missing = str(tmp_path / "never-created")
    _one_line_error(run_cli("ask", "What is NIFTAC?", "--store", missing), "no store at")
    _one_line_error(run_cli("docs", "list", "--store", missing), "no store at")
    store = str(tmp_path / "s")
    assert run_cli("ingest", str(DATA / "docs" / "brief.txt"), "--store", store).returncode == 0
    _one_line_error(run_cli("ask", "   ", "--store", store), "empty question")
    _one_line_error(run_cli("docs", "show", "nope", "--store", store), "unknown document id")
    _one_line_error(run_cli("ask", "x?", "--store", store, "--doc", "nope"), "unknown document id")
    _one_line_error(run_cli("ask", "x?", "--store", store, "--date-from", "yesterday"), "filter date")
    _one_line_error(run_cli("ask", "x?", "--store", store, "--top-k", "0"), "top_k")
    bad = run_cli("ask", "x?", "--store", store, env={"CT_ASSISTANT_CHUNK_TOKENS": "900"})
    _one_line_error(bad, "chunk_tokens")


def test_ingest_reports_bad_files_and_continues(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    r = run_cli("ingest", str(DATA / "docs"), str(DATA / "bad"), str(tmp_path / "missing.txt"), "--store", store, "--json")
    assert r.returncode == 1  # some files failed
    report = json.loads(r.stdout)
    failed = {Path(f["path"]).name: f["error"] for f in report["failed"]}
    assert {"corrupt.pdf", "notapdf.pdf", "corrupt.docx", "binary.txt", "empty.txt", "blank.md", "latin1.txt", "missing.txt"} <= set(failed)
    assert "image.png" not in failed and report["skipped"] == 1  # in a folder, a file that is no document type is skipped
    assert report["added"] == len(list((DATA / "docs").iterdir()))
    assert "Traceback" not in r.stderr


def test_each_failed_file_is_reported_once_and_nothing_else(tmp_path: Path) -> None:
    """Text mode: one `failed:` line per bad file on stderr; no log line repeating it, no third-party warnings."""
    r = run_cli("ingest", str(DATA / "docs"), str(DATA / "bad"), "--store", str(tmp_path / "store"))
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    bad = sorted(p.name for p in (DATA / "bad").iterdir() if p.suffix != ".png")  # image.png: skipped, counted on stdout
    assert len(lines) == len(bad), r.stderr
    assert sorted(Path(line.split(": ")[1]).name for line in lines) == bad
    assert all(line.startswith("failed: ") for line in lines), r.stderr
