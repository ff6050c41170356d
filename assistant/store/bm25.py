"""BM25 over the catalog's lexical rows, scored with numpy from a snapshot on disk.

SQLite FTS5 computes `bm25()` for every row that matches any query term before `LIMIT`; an
OR query of a question's terms matches most of a large store, so FTS5 time grows with the
store (~390 ms at 100k chunks). This module keeps a term -> postings snapshot (CSC: for each
term the positions of the rows holding it and their BM25 term weights) and scores a question
with a few vector additions and one `argpartition`.

Consistency: the catalog is the source of truth. Every catalog write bumps
`meta.lexical_generation` in the same transaction. A snapshot is built inside one read
transaction (so it is exactly one generation), written to `<store>/bm25/gen-<G>.tmp-<pid>`
and renamed to `gen-<G>`. `search` uses the snapshot only when its generation equals the
catalog's current one; otherwise it loads `gen-<current>` if a writer left it, and else falls
back to FTS5 (same formula, so the same ranking). Writers rebuild at the end of every write
run (`Store.end_write`), so other processes pick up new documents at their next question.

Scores follow FTS5's bm25 exactly (k1 1.2, b 0.75, idf = ln((N - n + 0.5) / (n + 0.5)),
floored at 1e-6; document length = number of terms in the row; average over all rows), so the
fallback and the snapshot rank alike (FTS5 also folds diacritics; the snapshot does not).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.store.catalog import Catalog
from assistant.text.lexical import terms

log = logging.getLogger(__name__)

K1 = 1.2
B = 0.75
FORMAT = 1


@dataclass(frozen=True)
class Snapshot:
    generation: int
    vocab: dict[str, int]
    indptr: np.ndarray  # int64, len(vocab) + 1
    postings: np.ndarray  # int32 row positions, grouped by term
    weights: np.ndarray  # float32 tf part of BM25 per posting
    idf: np.ndarray  # float64 per term
    rowids: np.ndarray  # int64 catalog chunk rowid per row position

    @property
    def n_rows(self) -> int:
        return int(self.rowids.shape[0])

    def df(self, term: str) -> int:
        j = self.vocab.get(term)
        return 0 if j is None else int(self.indptr[j + 1] - self.indptr[j])

    def top(self, qterms: Iterable[str], limit: int, allowed_rowids: np.ndarray | None = None) -> list[tuple[int, float]]:
        """[(chunk rowid, score)] of the best `limit` rows holding any of the terms, best first."""
        scores = np.zeros(self.n_rows, dtype=np.float64)
        hit = False
        for t in set(qterms):
            j = self.vocab.get(t)
            if j is None:
                continue
            s, e = int(self.indptr[j]), int(self.indptr[j + 1])
            scores[self.postings[s:e]] += self.idf[j] * self.weights[s:e]
            hit = True
        if not hit or limit <= 0:
            return []
        cand = np.flatnonzero(scores)
        if allowed_rowids is not None:
            cand = cand[np.isin(self.rowids[cand], allowed_rowids)]
        if cand.size > limit:
            cand = cand[np.argpartition(-scores[cand], limit - 1)[:limit]]
        cand = cand[np.lexsort((self.rowids[cand], -scores[cand]))]
        return [(int(self.rowids[i]), float(scores[i])) for i in cand]


def build(catalog: Catalog) -> Snapshot:
    """A snapshot of the catalog's lexical rows as of one read transaction."""
    if getattr(catalog, "shared", False):  # PostgresCatalog: rows and generation from one snapshot
        generation, rows = catalog.lexical_rows()  # type: ignore[attr-defined]
    else:
        db = catalog.db
        db.execute("BEGIN")
        try:
            generation = catalog.lexical_generation()
            rows = db.execute("SELECT rowid, terms FROM lexical ORDER BY rowid").fetchall()
        finally:
            db.execute("COMMIT")
    vocab: dict[str, int] = {}
    lens = np.zeros(len(rows), dtype=np.int64)
    ids = array("q")  # term id of every token, 8 bytes each (a list of ints would be ~36)
    for i, (_, text) in enumerate(rows):
        toks = text.split()
        lens[i] = len(toks)
        ids.extend([vocab.setdefault(t, len(vocab)) for t in toks])
    n_rows = len(rows)
    rowids = np.asarray([r[0] for r in rows], dtype=np.int64)
    del rows
    # (term, row) pairs with their counts, sorted by term then row
    keys = np.frombuffer(ids, dtype=np.int64) * n_rows + np.repeat(np.arange(n_rows, dtype=np.int64), lens)
    del ids
    keys, tf_counts = np.unique(keys, return_counts=True)
    col = keys // n_rows
    postings = (keys % n_rows).astype(np.int32)
    tf = tf_counts.astype(np.float64)
    df = np.bincount(col, minlength=len(vocab))
    indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    lens = lens.astype(np.float64)
    avgdl = float(lens.sum()) / n_rows if n_rows else 1.0
    weights = (tf * (K1 + 1) / (tf + K1 * (1 - B + B * lens[postings] / avgdl))).astype(np.float32)
    idf = np.log((n_rows - df + 0.5) / (df + 0.5))
    idf[idf <= 0] = 1e-6
    return Snapshot(generation, vocab, indptr, postings, weights, idf, rowids)


def save(snap: Snapshot, root: Path) -> Path:
    """Write atomically to <root>/gen-<G> (a no-op if another process already wrote it)."""
    final = root / f"gen-{snap.generation}"
    if final.exists():
        return final
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f"gen-{snap.generation}.tmp-{os.getpid()}-{threading.get_ident()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for name in ("indptr", "postings", "weights", "idf", "rowids"):
        np.save(tmp / f"{name}.npy", getattr(snap, name))
    vocab = sorted(snap.vocab, key=snap.vocab.__getitem__)
    (tmp / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (tmp / "meta.json").write_text(json.dumps({"format": FORMAT, "generation": snap.generation, "rows": snap.n_rows}), encoding="utf-8")
    try:
        os.rename(tmp, final)
    except OSError:  # a concurrent writer renamed the same generation first
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def load(path: Path) -> Snapshot:
    meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}: snapshot format {meta.get('format')} (expected {FORMAT})")
    vocab_list = json.loads((path / "vocab.json").read_text(encoding="utf-8"))
    arrays = {n: np.load(path / f"{n}.npy", mmap_mode="r") for n in ("indptr", "postings", "weights", "idf", "rowids")}
    return Snapshot(int(meta["generation"]), {t: i for i, t in enumerate(vocab_list)}, **arrays)


class LexicalIndex:
    """BM25 search for one store: the snapshot of the current generation, else FTS5. With a shared
    catalog (PostgreSQL) a host builds the snapshot of a generation it has not got (no writer on
    this host left one), once, under a lock; other questions meanwhile score in the catalog."""

    def __init__(self, catalog: Catalog, root: Path) -> None:
        self.catalog = catalog
        self.root = root
        self._snap: Snapshot | None = None
        self._lock = threading.Lock()

    def current(self) -> Snapshot | None:
        """The snapshot matching the catalog's generation (loaded from disk if needed), or None."""
        gen = self.catalog.lexical_generation()
        snap = self._snap
        if snap is not None and snap.generation == gen:
            return snap
        path = self.root / f"gen-{gen}"
        if not path.is_dir():
            return self._build_shared(gen) if getattr(self.catalog, "shared", False) else None
        with self._lock:
            if self._snap is None or self._snap.generation != gen:
                try:
                    self._snap = load(path)
                except (OSError, ValueError) as e:  # pruned by a newer writer, or unreadable
                    log.warning("BM25 snapshot %s not usable (%s); using FTS5", path, e)
                    return None
            return self._snap

    def _build_shared(self, gen: int) -> Snapshot | None:
        # a question waits for the build only when this host has no snapshot at all; else, while
        # another thread builds, it is scored by the catalog's own BM25 (same formula, slower)
        if not self._lock.acquire(blocking=self._snap is None):
            return None
        try:
            if self._snap is not None and self._snap.generation >= gen:
                return self._snap
            snap = build(self.catalog)  # generation >= gen: a writer may have committed since
            try:
                save(snap, self.root)
                for p in self.root.glob("gen-*"):
                    if p.name != f"gen-{snap.generation}" and ".tmp-" not in p.name:
                        shutil.rmtree(p, ignore_errors=True)
            except OSError as e:  # a cache: scoring from memory is as good
                log.warning("cannot save BM25 snapshot under %s: %s", self.root, e)
            self._snap = snap
            return snap
        finally:
            self._lock.release()

    def saved(self) -> bool:
        """Whether the snapshot of the catalog's current generation is on disk."""
        return (self.root / f"gen-{self.catalog.lexical_generation()}").is_dir()

    def rebuild(self) -> Snapshot:
        """Build and save the snapshot of the catalog as it is now; drop older generations."""
        snap = build(self.catalog)
        save(snap, self.root)
        for p in self.root.glob("gen-*"):
            if p.name != f"gen-{snap.generation}" and ".tmp-" not in p.name:
                shutil.rmtree(p, ignore_errors=True)
        with self._lock:
            self._snap = snap
        return snap

    def search(self, query: str, limit: int, doc_ids: Sequence[str] | None = None) -> list[tuple[str, float]]:
        """[(chunk_id, BM25 score)], best first; doc_ids restricts to those documents."""
        qterms = sorted(set(terms(query)))
        if not qterms or (doc_ids is not None and not doc_ids):
            return []
        snap = self.current()
        if snap is None:
            return self.catalog.lexical_search(query, limit, doc_ids)
        allowed = None if doc_ids is None else np.asarray(self.catalog.chunk_rowids(doc_ids), dtype=np.int64)
        top = snap.top(qterms, limit, allowed)
        ids = self.catalog.chunk_ids_by_rowid([r for r, _ in top])
        return [(ids[r], s) for r, s in top if r in ids]

    def document_frequencies(self, qterms: Iterable[str]) -> tuple[dict[str, int], int]:
        """How many chunks hold each term, and the number of chunks (for IDF)."""
        snap = self.current()
        if snap is None:
            return self.catalog.document_frequencies(qterms)
        ts = set(qterms)
        return {t: snap.df(t) for t in ts if t in snap.vocab}, snap.n_rows
