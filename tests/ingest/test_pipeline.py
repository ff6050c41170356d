"""Idempotency, updates, prune and crash recovery, against real Chroma and SQLite."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from assistant.store.store import Store
from tests.conftest import CORPUS, DATA, ROOT


def _state(store: Store) -> tuple[set[str], set[str], int]:
    cat_ids = store.catalog.chunk_ids()
    vec_ids = store.vectors.all_ids()
    lexical_rows = store.catalog.db.execute("SELECT count(*) FROM lexical").fetchone()[0]
    return cat_ids, vec_ids, int(lexical_rows)


def _consistent(store: Store) -> set[str]:
    cat_ids, vec_ids, lexical_rows = _state(store)
    assert cat_ids == vec_ids, "catalog and Chroma disagree"
    assert lexical_rows == len(cat_ids), "lexical index and catalog disagree"
    assert store.vectors.count() == len(vec_ids), "duplicate vectors"
    return cat_ids


def test_reingest_unchanged_embeds_nothing(make_assistant, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    docs = tmp_path / "docs"
    shutil.copytree(CORPUS, docs)
    a = make_assistant()
    first = a.ingest([docs])
    assert (first.added, first.embedded) == (2, first.chunks) and first.chunks > 0
    before = _consistent(a.store())
    again = a.ingest([docs])
    assert (again.added, again.updated, again.unchanged, again.embedded) == (0, 0, 2, 0)
    # touching a file without changing it re-reads it but still embeds nothing
    os.utime(docs / "000_e17f9ff628b617e6.txt", None)
    touched = a.ingest([docs])
    assert (touched.unchanged, touched.embedded) == (2, 0)
    assert _consistent(a.store()) == before


def test_changed_file_replaces_its_chunks(make_assistant, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    docs = tmp_path / "docs"
    shutil.copytree(CORPUS, docs)
    a = make_assistant()
    a.ingest([docs])
    old = a.store().catalog.chunk_ids("002_f76924cdbd8590c8")
    path = docs / "002_f76924cdbd8590c8.txt"
    path.write_text(path.read_text() + "\n\nThe Sindh CTD received 300 new vehicles in 2025.\n", encoding="utf-8")
    r = a.ingest([docs])
    assert (r.updated, r.unchanged) == (1, 1)
    assert 0 < r.embedded < len(old) + 2  # only chunks with new content are embedded
    new = a.store().catalog.chunk_ids("002_f76924cdbd8590c8")
    assert new != old
    all_ids = _consistent(a.store())
    assert not (old - new) & all_ids  # replaced chunks are gone from both indexes
    ans = a.ask("How many vehicles did the Sindh CTD receive?")
    assert not ans.refused and "300 new vehicles" in ans.answer


def test_prune_removes_documents_whose_files_are_gone(make_assistant, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    docs = tmp_path / "docs"
    shutil.copytree(DATA / "docs", docs)
    a = make_assistant()
    n = a.ingest([docs]).documents
    (docs / "brief.txt").unlink()
    kept = a.ingest([docs])
    assert kept.removed == 0 and kept.documents == n  # without --prune nothing is removed
    pruned = a.ingest([docs], prune=True)
    assert pruned.removed == 1 and pruned.documents == n - 1
    assert "brief" not in {d.doc_id for d in a.documents()}
    _consistent(a.store())


def test_same_file_name_in_two_folders_gets_two_ids(make_assistant, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for sub in ("x", "y"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "report.txt").write_text(f"Report from folder {sub}. It has facts.", encoding="utf-8")
    a = make_assistant()
    a.ingest([tmp_path / "x", tmp_path / "y"])
    ids = sorted(d.doc_id for d in a.documents())
    assert len(ids) == 2 and ids[0] == "report" and ids[1].startswith("report-")


CRASH = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    sys.path.insert(0, {root!r})
    from assistant.api import Assistant
    from assistant.config import Settings
    import assistant.store.catalog, assistant.store.vectors
    where = sys.argv[1]
    if where == "before_catalog":      # vectors written, catalog not: orphan vectors
        assistant.store.catalog.Catalog.put_documents = lambda *a, **k: os._exit(9)
    elif where == "before_delete":     # catalog replaced, stale vectors not yet deleted
        assistant.store.vectors.VectorIndex.delete = lambda *a, **k: os._exit(9)
    a = Assistant(Settings(store=Path(sys.argv[2])))
    a.ingest([Path(sys.argv[3])])
    """
)


def _crash(where: str, store: Path, docs: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-c", CRASH.format(root=str(ROOT)), where, str(store), str(docs)], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 9, r.stderr[-2000:]


def test_killed_ingest_converges_on_rerun(make_assistant, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    docs = tmp_path / "docs"
    shutil.copytree(CORPUS, docs)
    store = tmp_path / "store"
    # 1. killed after writing vectors, before the catalog: a fresh store with orphan vectors
    _crash("before_catalog", store, docs)
    a = make_assistant(store=store)
    assert a.store().vectors.count() > 0 and a.store().catalog.counts() == (0, 0)
    assert a.ask("How much did the KP cabinet authorize for police equipment?").refused  # orphans are never cited
    r = a.ingest([docs])
    assert r.added == 2
    ids = _consistent(a.store())
    a.close()
    # 2. a changed file, killed after the catalog switched but before stale vectors were deleted
    path = docs / "000_e17f9ff628b617e6.txt"
    path.write_text(path.read_text().replace("funding problems", "severe funding problems"), encoding="utf-8")
    _crash("before_delete", store, docs)
    b = make_assistant(store=store)
    cat, vec, _ = _state(b.store())
    assert vec - cat, "expected stale vectors after the crash"
    b.ingest([docs])
    after = _consistent(b.store())
    # 3. the result equals a clean ingest of the same files
    clean = make_assistant(store=tmp_path / "clean")
    clean.ingest([docs])
    assert after == _consistent(clean.store())
    assert after != ids
