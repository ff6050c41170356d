"""Feedback from the web chat: stored in SQLite with question, answer and citations; exported for evaluators."""

from __future__ import annotations

import argparse
import csv
import io
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from assistant.errors import InvalidFilterError
from assistant.ui.feedback import COLUMNS, FeedbackStore, default_path
from tests.conftest import run_cli

CITATION = {
    "n": 1,
    "doc_id": "002_f76924cdbd8590c8",
    "source": "corpus/002.txt",
    "title": "NIFTAC, NACTA and the revival of civilian counter-terrorism",
    "chunk_id": "c1",
    "quote": "authorized Rs567.7 million for police equipment purchases.",
    "start": 10,
    "end": 69,
}


def _add(store: FeedbackStore, **kw: Any) -> int:
    args: dict[str, Any] = {
        "rating": "helpful",
        "question": "How much, \"exactly\"?",
        "answer": "Rs567.7 million [1].",
        "citations": [CITATION],
        "comment": "good, with a comma\nand a newline",
        "mode": "extractive",
        "filters": {"doc_ids": ["002_f76924cdbd8590c8"]},
        "session_id": "abc",
    }
    args.update(kw)
    return store.add(**args)


def test_add_rows_and_export_roundtrip(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "sub" / "fb.sqlite3")
    assert store.rows() == [] and store.export_text() == ""
    assert _add(store) == 1
    assert _add(store, rating="not_helpful", comment="", refused=True, answer="The documents don't say.", citations=[]) == 2
    rows = store.rows()
    assert [r["rating"] for r in rows] == ["helpful", "not_helpful"]
    assert rows[0]["citations"] == [CITATION] and rows[0]["filters"] == {"doc_ids": ["002_f76924cdbd8590c8"]}
    assert rows[1]["refused"] is True and rows[0]["refused"] is False
    assert rows[0]["created_at"].endswith("+00:00")

    lines = [json.loads(x) for x in store.export_text("jsonl").splitlines()]
    assert lines == rows

    out = tmp_path / "fb.csv"
    assert store.export(out, "csv") == 2
    with out.open(newline="", encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    assert list(table[0]) == list(COLUMNS)
    assert table[0]["comment"] == "good, with a comma\nand a newline"
    assert json.loads(table[0]["citations"])[0]["quote"] == CITATION["quote"]

    buf = io.StringIO()
    assert store.export(buf, "jsonl") == 2 and buf.getvalue().count("\n") == 2


def test_bad_rating_and_format(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    with pytest.raises(InvalidFilterError, match="rating"):
        _add(store, rating="meh")
    with pytest.raises(InvalidFilterError, match="format"):
        store.export(io.StringIO(), "xml")


def test_concurrent_adds(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            for j in range(10):
                _add(store, session_id=f"s{i}", comment=str(j))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and store.count() == 40


def test_default_path(tmp_path: Path) -> None:
    from assistant.config import Settings

    assert default_path(Settings(store=tmp_path)) == tmp_path / "feedback.sqlite3"
    assert default_path(Settings(store=tmp_path, feedback_db=tmp_path / "x.db")) == tmp_path / "x.db"


def test_rate_handler_stores_latest_answer(tmp_path: Path) -> None:
    from assistant.config import Settings
    from assistant.types import Answer, Citation
    from assistant.ui.app import ChatUI, UiSession

    class NoDocs:
        settings = Settings(store=tmp_path)

        def documents(self) -> list[Any]:
            return []

    ui = ChatUI(NoDocs(), NoDocs.settings)  # type: ignore[arg-type]
    state = UiSession()
    state.answers.append(
        Answer(question="q1", answer="a1 [1].", refused=False, mode="extractive", citations=[Citation(**CITATION)], standalone_question="q1 full")
    )
    state.filters.append({"doc_ids": ["002_f76924cdbd8590c8"]})
    status, comment = ui.rate("not_helpful", "  wrong year  ", state)
    assert "#1 recorded (not helpful)" in status and comment == ""
    row = ui.feedback.rows()[0]
    assert (row["question"], row["standalone_question"], row["answer"], row["comment"]) == ("q1", "q1 full", "a1 [1].", "wrong year")
    assert row["citations"][0]["quote"] == CITATION["quote"] and row["session_id"] == state.id
    assert (tmp_path / "feedback.sqlite3").exists()


def test_feedback_export_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from assistant.cli.common import UsageError
    from assistant.cli.serve import register_feedback

    parser = argparse.ArgumentParser()
    register_feedback(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["feedback", "export", "--store", str(tmp_path)])
    with pytest.raises(UsageError, match="no feedback file"):
        args.func(args)

    _add(FeedbackStore(tmp_path / "feedback.sqlite3"))
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out.strip())["rating"] == "helpful"

    out = tmp_path / "out.csv"
    args = parser.parse_args(["feedback", "export", "--store", str(tmp_path), "--format", "csv", "--out", str(out)])
    assert args.func(args) == 0
    assert out.read_text(encoding="utf-8").startswith("id,created_at,")


def test_feedback_export_cli_subprocess(tmp_path: Path) -> None:
    from assistant.cli.main import build_parser

    assert "feedback" in build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    _add(FeedbackStore(tmp_path / "feedback.sqlite3"))
    r = run_cli("feedback", "export", "--store", str(tmp_path), "--format", "jsonl", timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[0])["citations"][0]["doc_id"] == CITATION["doc_id"]
    r = run_cli("feedback", "export", "--store", str(tmp_path / "none"), timeout=120)
    assert r.returncode == 2 and "no feedback file" in r.stderr


def test_open_feedback_picks_the_shared_catalog_unless_a_file_is_named(tmp_path: Path) -> None:
    """With `catalog_url` feedback goes to the catalog database (nothing is connected to until it is
    used); an explicit `feedback_db` file still wins; without either, the store's SQLite file."""
    from assistant.config import Settings
    from assistant.ui.feedback import PostgresFeedback, open_feedback

    url = "postgresql://ct:secret@db.internal:5432/ct_archive"
    shared = open_feedback(Settings(store=tmp_path, catalog_url=url, chroma_host="127.0.0.1"))
    assert isinstance(shared, PostgresFeedback) and shared.where == "postgresql://ct@db.internal:5432/ct_archive"
    named = open_feedback(Settings(store=tmp_path, catalog_url=url, chroma_host="127.0.0.1", feedback_db=tmp_path / "x.db"))
    assert isinstance(named, FeedbackStore) and named.path == tmp_path / "x.db"
    local = open_feedback(Settings(store=tmp_path))
    assert isinstance(local, FeedbackStore) and local.path == tmp_path / "feedback.sqlite3" and not local.exists()
    assert not list(tmp_path.iterdir())
