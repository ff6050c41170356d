"""The fault suite (issue 14): kill -9 at seeded random points of ingest, readers during a writer,
16 threads on a fresh Assistant, and property tests of the readers, the question path and
file-system shapes. Figures are printed (`pytest -s tests/faults`) and summarised in
docs/reliability.md.

What is compared after a killed ingest and the next (normal) run is everything a user sees:
documents and their content hashes, catalog chunk ids == Chroma ids (no orphans, no duplicates),
lexical rows, BM25 top-10 for three queries, and the answers to two questions.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from assistant.errors import AssistantError
from tests.conftest import CORPUS, DATA, ROOT

pytestmark = [pytest.mark.slow, pytest.mark.faults]

TRIALS = int(os.environ.get("CT_FAULT_TRIALS", "6"))
QUERIES = ["NACTA provincial CTD integration", "madrassas registered bank accounts", "KP cabinet police equipment"]
QUESTIONS = ["Why did NACTA struggle with CTD integration?", "How many madrassas did the federal government register?"]


def _corpus(root: Path) -> Path:
    """The fault corpus: the shipped corpus and the test documents (8 files, ~25 chunks)."""
    d = root / "corpus"
    d.mkdir()
    for f in [*CORPUS.glob("*.txt"), *(DATA / "docs").iterdir()]:
        if f.is_file():
            shutil.copy(f, d / f.name)
    return d


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    return env


def _snapshot(a: Any) -> dict[str, Any]:
    store = a.store()
    cat = store.catalog
    docs = {r[0]: r[1] for r in cat.db.execute("SELECT doc_id, content_hash FROM documents")}
    chunk_ids = cat.chunk_ids()
    vec_ids = store.vectors.all_ids()
    lexical_rows = cat.db.execute("SELECT count(*) FROM lexical").fetchone()[0]
    bm25 = {q: [c for c, _ in store.lexical.search(q, 10)] for q in QUERIES}
    answers = {q: (ans.answer, [(c.doc_id, c.start, c.end) for c in ans.citations]) for q in QUESTIONS for ans in [a.ask(q)]}
    return {
        "docs": docs,
        "chunks": chunk_ids,
        "vectors_match": vec_ids == chunk_ids and store.vectors.count() == len(chunk_ids),
        "lexical_rows": lexical_rows == len(chunk_ids),
        "bm25": bm25,
        "answers": answers,
        "dirty": cat.get_meta("dirty"),
    }


def _state_at_kill(store: Path, want: dict[str, str]) -> str:
    """What the killed run left, read without writing (mode=ro): and the catalog is never half-updated."""
    path = store / "catalog.sqlite3"
    if not path.exists():
        return "no catalog yet"
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        docs, chunks, lex = (db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("documents", "chunks", "lexical"))
        assert lex == chunks, "lexical rows and chunks out of step"
        bare = db.execute("SELECT count(*) FROM documents d WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.doc_id = d.doc_id)").fetchone()[0]
        assert bare == 0, "a document without its chunks"
        dirty = (db.execute("SELECT value FROM meta WHERE key='dirty'").fetchone() or ["0"])[0]
        current = sum(want.get(d) == h for d, h in db.execute("SELECT doc_id, content_hash FROM documents"))
    except sqlite3.OperationalError:
        return "catalog being created"
    finally:
        db.close()
    return f"{'dirty' if dirty == '1' else 'clean'}, {docs} docs ({current} in their new version)"


def test_kill_9_during_ingest_converges_to_a_clean_build(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    from assistant.api import Assistant
    from assistant.config import Settings

    corpus = _corpus(tmp_path)
    clean = Assistant(Settings(store=tmp_path / "clean"), embedder)
    clean.ingest([corpus])
    want = _snapshot(clean)
    clean.close()
    assert want["vectors_match"] and want["lexical_rows"] and len(want["docs"]) == 8

    # a store of an older version of the same files: half the trials kill a run that updates it
    changed = sorted([*corpus.glob("*.txt"), *corpus.glob("*.md")])  # 5 of the 8 files change: a long update
    current = {f: f.read_text(encoding="utf-8") for f in changed}
    for f in changed:  # the older version: the first half of each text, so the update embeds the rest
        f.write_text(current[f][: len(current[f]) // 2] + "\n\nAn older paragraph that the new version no longer has.\n", encoding="utf-8")
    old = Assistant(Settings(store=tmp_path / "old"), embedder)
    old.ingest([corpus])
    old.close()
    for f in changed:
        f.write_text(current[f], encoding="utf-8")

    def run_child(store: Path, kill_after: float | None) -> tuple[str, float]:
        cmd = [sys.executable, "-m", "tests.faults.ingest_child", str(store), str(corpus)]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=_env(), cwd=ROOT)
        assert p.stdout is not None
        line = p.stdout.readline()
        assert line.strip() == "start", line
        t0 = time.perf_counter()
        if kill_after is None:
            out = p.stdout.read()
            p.wait(timeout=600)
            return "finished", float(out.split()[-1])
        try:
            p.wait(timeout=kill_after)
            return "finished before the kill", time.perf_counter() - t0
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
            return "killed", time.perf_counter() - t0

    # calibrate: how long the child's ingest takes from "start" on this machine, fresh and updating
    durations = [run_child(tmp_path / "calibrate", None)[1]]
    shutil.copytree(tmp_path / "old", tmp_path / "calibrate-update")
    durations.append(run_child(tmp_path / "calibrate-update", None)[1])
    rng = random.Random(14)
    outcomes: Counter[str] = Counter()
    rows = []
    t_all = time.perf_counter()
    for trial in range(TRIALS):
        store = tmp_path / f"trial-{trial}"
        if trial % 2:
            shutil.copytree(tmp_path / "old", store)
        duration = durations[trial % 2]
        kill_after = rng.uniform(0.05, 1.0) * duration
        how, at = run_child(store, kill_after)
        left = _state_at_kill(store, want["docs"])
        outcomes[f"{how}: {left.split(',')[0]}"] += 1
        t0 = time.perf_counter()
        a = Assistant(Settings(store=store), embedder)
        report = a.ingest([corpus])  # the next normal run
        got = _snapshot(a)
        a.close()
        rows.append((trial, "update" if trial % 2 else "fresh", f"{at:.2f}s of {duration:.2f}s", how, left, f"recovered in {time.perf_counter() - t0:.1f}s"))
        assert not report.failed
        assert got == want, f"trial {trial} ({how} at {at:.2f}s, left {left}) did not converge"
    print(f"\nkill -9 trials: {TRIALS}, child ingest {durations[0]:.2f}s fresh / {durations[1]:.2f}s update, suite {time.perf_counter() - t_all:.0f}s; outcomes {dict(outcomes)}")
    for r in rows:
        print("  trial %d (%s): kill at %s -> %s, store left %s; %s; converged" % r)


def test_readers_during_a_writer_never_fail(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """Three reader threads ask and list while another process ingests and prunes."""
    from assistant.api import Assistant
    from assistant.config import Settings

    corpus = _corpus(tmp_path)
    base = tmp_path / "base"
    base.mkdir()
    for f in CORPUS.glob("*.txt"):
        shutil.copy(f, base / f.name)
    store = tmp_path / "store"
    Assistant(Settings(store=store), embedder).ingest([base])
    reader = Assistant(Settings(store=store), embedder)
    reader.ask(QUESTIONS[0])  # warm
    stop = threading.Event()
    errors: list[str] = []
    reads: list[float] = []

    def read_loop() -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                ans = reader.ask(QUESTIONS[0])
                assert not ans.refused and ans.citations, "the unchanged document stopped answering"
                assert len(reader.documents()) >= 2
            except (AssistantError, AssertionError, sqlite3.Error) as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
            reads.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=read_loop) for _ in range(3)]
    for t in threads:
        t.start()
    t0 = time.perf_counter()
    try:
        for args in ([str(corpus)], [str(base), "--prune"]):  # add 6 documents, then prune them again
            r = subprocess.run([sys.executable, "-m", "tests.faults.ingest_child", str(store), *args], capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=600)
            assert r.returncode == 0, r.stderr[-2000:]
    finally:
        stop.set()
        for t in threads:
            t.join()
    reader.close()
    print(f"\nreaders during a writer: {len(reads)} reads by 3 threads over {time.perf_counter() - t0:.0f}s of writing, "
          f"{len(errors)} errors, slowest read {max(reads):.2f}s")
    assert not errors, errors[:3]
    assert len(reads) >= 3


def test_sixteen_threads_on_a_fresh_assistant(corpus_store: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """Defect 3: 16 threads calling `ask` at once on a fresh Assistant (lazy store and Chroma
    client). Repeated with a new Assistant each time."""
    from assistant.api import Assistant
    from assistant.config import Settings

    repeats, n = 4, 16
    failures: list[str] = []
    for _ in range(repeats):
        a = Assistant(Settings(store=corpus_store), embedder)
        barrier = threading.Barrier(n)

        def call() -> None:
            barrier.wait()
            try:
                ans = a.ask(QUESTIONS[0])
                if ans.refused:
                    failures.append("refused")
            except Exception as exc:  # noqa: BLE001 - any error is the defect
                failures.append(f"{type(exc).__name__}: {exc}")

        threads = [threading.Thread(target=call) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        a.close()
    print(f"\n16 threads x {repeats} fresh assistants: {len(failures)} errors of {repeats * n} calls")
    assert not failures, failures[:3]
