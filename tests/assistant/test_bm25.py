"""The numpy BM25 snapshot: same ranking as FTS5, generation-checked, rebuilt when missing."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from assistant.store.bm25 import LexicalIndex, build
from assistant.store.store import BM25_DIR
from tests.conftest import CORPUS, DATA, DOC_NIFTAC

QUESTIONS = [
    "How much did the KP cabinet authorize for police equipment?",
    "What is NIFTAC and who approved it?",
    "NACTA coordination with provincial counter-terrorism departments",
    "Rs567.7 million",
    "training forensic capacity CTD budget Punjab Sindh Balochistan",
]


def _same(a: list[tuple[str, float]], b: list[tuple[str, float]]) -> None:
    assert [s for _, s in a] == pytest.approx([s for _, s in b], rel=1e-5)
    # ids agree wherever scores are not tied
    for i, ((ca, sa), (cb, _)) in enumerate(zip(a, b, strict=True)):
        tied = any(abs(sa - s) < 1e-6 for j, (_, s) in enumerate(a) if j != i)
        if not tied:
            assert ca == cb


def test_snapshot_ranks_exactly_like_fts5(fresh_corpus) -> None:  # type: ignore[no-untyped-def]
    store = fresh_corpus.store()
    assert store.lexical.current() is not None  # written by the ingest
    for q in QUESTIONS:
        got = store.lexical.search(q, 40)
        assert got, q
        _same(got, store.catalog.lexical_search(q, 40))
        _same(store.lexical.search(q, 3), store.catalog.lexical_search(q, 3))
    df_snap = store.lexical.document_frequencies(["nacta", "niftac", "zzzz"])
    assert df_snap == store.catalog.document_frequencies(["nacta", "niftac", "zzzz"])
    assert store.lexical.search("the of and", 10) == []  # stop words only
    assert store.lexical.search("zzzqqq", 10) == []


def test_filter_restricts_to_documents(fresh_corpus) -> None:  # type: ignore[no-untyped-def]
    store = fresh_corpus.store()
    q = "counter-terrorism departments capacity"
    got = store.lexical.search(q, 40, [DOC_NIFTAC])
    chunks = store.catalog.chunks([c for c, _ in got])
    assert got and {c.doc_id for c in chunks.values()} == {DOC_NIFTAC}
    _same(got, store.catalog.lexical_search(q, 40, [DOC_NIFTAC]))
    assert store.lexical.search(q, 40, []) == []


def test_other_process_writes_are_seen_at_the_next_question(fresh_corpus, make_assistant, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    reader = fresh_corpus.store().lexical
    before = reader.current()
    assert before is not None
    assert reader.search("PWNED", 5) == []
    # a second Assistant (as another process would) ingests a new document into the same store
    writer = make_assistant()
    writer.ingest([DATA / "docs" / "injection.txt"])
    after = reader.current()
    assert after is not None and after.generation > before.generation
    hits = reader.search("PWNED", 5)
    assert hits
    assert "PWNED" in next(iter(fresh_corpus.store().catalog.chunks([hits[0][0]]).values())).text
    assert [p.name for p in (fresh_corpus.store().root / BM25_DIR).iterdir()] == [f"gen-{after.generation}"]  # old ones pruned


def test_missing_snapshot_falls_back_to_fts5_and_ingest_rebuilds_it(fresh_corpus) -> None:  # type: ignore[no-untyped-def]
    store = fresh_corpus.store()
    q = QUESTIONS[0]
    expected = store.lexical.search(q, 10)
    shutil.rmtree(store.root / BM25_DIR)  # e.g. killed while writing it
    fresh = LexicalIndex(store.catalog, store.root / BM25_DIR)
    assert fresh.current() is None
    _same(fresh.search(q, 10), expected)  # FTS5 answers meanwhile
    report = fresh_corpus.ingest([CORPUS])  # nothing changed: the run only recovers
    assert report.embedded == 0
    assert fresh.current() is not None
    _same(fresh.search(q, 10), expected)


def test_stale_or_corrupt_snapshot_is_not_used(fresh_corpus) -> None:  # type: ignore[no-untyped-def]
    store = fresh_corpus.store()
    gen = store.catalog.lexical_generation()
    (store.root / BM25_DIR / f"gen-{gen}" / "meta.json").write_text('{"format": 999}')
    fresh = LexicalIndex(store.catalog, store.root / BM25_DIR)
    assert fresh.current() is None
    assert fresh.search(QUESTIONS[0], 5) == store.catalog.lexical_search(QUESTIONS[0], 5)


def test_empty_catalog_builds_an_empty_snapshot(tmp_path: Path) -> None:
    from assistant.store.catalog import Catalog

    snap = build(Catalog(tmp_path / "catalog.sqlite3"))
    assert snap.n_rows == 0 and snap.top(["nacta"], 5) == []
    assert np.asarray(snap.indptr).tolist() == [0]
