"""The store: catalog (SQLite: texts, chunks, BM25) + vector index (Chroma), kept consistent.

Write protocol, per batch of documents (crash-safe at every step):
  1. mark the store dirty;
  2. upsert the vectors of new chunks into Chroma (ids are content hashes: idempotent);
  3. replace the documents, chunks, lexical rows and sentence vectors in one SQLite transaction;
  4. delete the vectors of chunks no longer in the catalog;
  5. mark the store clean at the end of the run, and write the BM25 snapshot of the new
     catalog generation (`assistant.store.bm25`; derived data, rebuilt if missing).
A run killed anywhere leaves the catalog either old or new for each document; vectors the
catalog does not know are ignored by retrieval and deleted by `reconcile()` at the start of
the next write, which also restores any catalog chunk's missing vector (composed from the
sentence vectors the catalog holds; see `assistant.store.sentvec`).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from assistant.store.access import ALL, chroma_meta, chroma_where, parse_groups
from assistant.store.bm25 import LexicalIndex
from assistant.store.catalog import Catalog
from assistant.config import Settings
from assistant.encode.embed import Embedder
from assistant.errors import ConfigError, StoreNotFoundError, StoreOpenError
from assistant.store.runs import DirtyFlag, Runs
from assistant.store.sentvec import embed_documents
from assistant.types import Chunk, Document
from assistant.store.vectors import VectorIndex

if TYPE_CHECKING:
    from assistant.store.pg_catalog import PostgresCatalog
    from assistant.store.pg_runs import RunLeases

log = logging.getLogger(__name__)

CATALOG_FILE = "catalog.sqlite3"
BM25_DIR = "bm25"
GROUPS_META = "vector_groups"  # "1": every vector's metadata holds its document's access groups


class Store:
    def __init__(self, settings: Settings, embedder: Embedder, *, create: bool = False) -> None:
        self.settings = settings
        self.embedder = embedder
        self.root = settings.store
        self._lock = threading.Lock()  # one lazy initialisation of the vector index across threads
        self._vectors: VectorIndex | None = None
        self._access = threading.local()  # the groups this thread's ingest run gives documents (`ingesting_as`)
        path = self.root / CATALOG_FILE
        self.runs: Runs
        if settings.catalog_url is not None:  # shared: PostgreSQL + a Chroma server; the store dir holds caches only
            self.catalog, self.runs = _shared_catalog(settings, create)
        else:
            self.catalog = self._local_catalog(path, create)
            self.runs = DirtyFlag(self.catalog)
        if create and self.catalog.read_only:
            raise StoreOpenError(str(self.root), "read-only (not writable by this user, or read_only is set): cannot ingest")
        self.lexical = LexicalIndex(self.catalog, self.root / BM25_DIR)
        self._check_model()
        if not self.read_only and self.catalog.get_meta(GROUPS_META) is None and self.catalog.counts()[1] == 0:
            self.catalog.set_meta(GROUPS_META, "1")  # a new store: every vector will carry its groups

    def _local_catalog(self, path: Path, create: bool) -> Catalog:
        try:
            if self.root.exists() and not self.root.is_dir():
                raise StoreOpenError(str(self.root), "not a directory")
            if not path.exists():
                if not create:
                    raise StoreNotFoundError(str(self.root))
                self.root.mkdir(parents=True, exist_ok=True)
            elif not path.is_file():
                raise StoreOpenError(str(path), "not a regular file")
            return Catalog(path, read_only=True if self.settings.read_only else None)
        except OSError as exc:
            raise StoreOpenError(str(self.root), f"cannot create or open: {exc.strerror or exc}") from exc
        except sqlite3.Error as exc:
            raise StoreOpenError(str(path), f"not a usable catalog ({exc})") from exc

    def _check_model(self) -> None:
        name = self.embedder.name
        stored = self.catalog.get_meta("embed_model")
        if stored is None:
            if not self.catalog.read_only:
                self.catalog.set_meta("embed_model", name)
        elif stored != name:
            raise ConfigError("embed_model_path", str(self.embedder.model_path), f"store {self.root} was built with {stored}")
        # the precision of the stored vectors (fp32/int8); stores from before it was recorded are fp32
        precision = self.catalog.get_meta("embed_precision")
        if precision is None:
            legacy = self.catalog.counts()[0] > 0
            precision = "fp32" if legacy else self.embedder.precision
            if not legacy:
                self.catalog.set_meta("embed_precision", precision)
        self.embedder.adopt_precision(precision)  # ConfigError if another precision was asked for explicitly

    @property
    def read_only(self) -> bool:
        return self.catalog.read_only

    @property
    def vectors(self) -> VectorIndex:
        if self._vectors is not None:
            return self._vectors
        with self._lock:  # Chroma's client set-up is not thread-safe ("Could not connect to tenant")
            if self._vectors is None:
                vectors = self._open_vectors()
                have, want = vectors.count(), self.catalog.counts()[1]
                if have < want:  # not silent: answers would come from BM25 alone for the missing chunks
                    log.warning("vector index %s holds %d vectors for %d chunks; `ct-assistant ingest` repairs it", vectors.where, have, want)
                self._vectors = vectors
        return self._vectors

    def _open_vectors(self) -> VectorIndex:
        s = self.settings
        path = self.root / "chroma"
        if self.read_only and not s.chroma_host:
            path = _private_copy(path)
        return VectorIndex.open(
            path=path if not s.chroma_host else None,
            host=s.chroma_host,
            port=s.chroma_port,
            ssl=s.chroma_ssl,
            name=s.collection,
            embedder=self.embedder,
        )

    # --- write protocol ----------------------------------------------------------
    def begin_write(self) -> dict[str, int]:
        """Mark dirty; if a previous run did not finish, reconcile first."""
        self._check_writable()
        stats = {"orphans_deleted": 0, "vectors_restored": 0}
        if self.runs.unfinished():
            log.warning("previous ingest did not finish; reconciling %s", self.root)
            stats = self.reconcile()
            self.runs.repaired()
        self.runs.start()
        return stats

    def recover(self) -> dict[str, int]:
        """Finish what a killed run left (called at the start of every ingest run). Also repairs
        a vector index that lost vectors while the store was clean (deleted `chroma/`, a
        different Chroma server): the vector count must match the catalog's chunk count."""
        self._check_writable()
        if not self.groups_synced():  # a store from before access groups, or a change of groups cut short
            self.sync_vector_groups()
        if not self.runs.unfinished():
            if self.vectors.count() != self.catalog.counts()[1]:
                log.warning("vector index %s holds %d vectors for %d catalog chunks; reconciling",
                            self.vectors.where, self.vectors.count(), self.catalog.counts()[1])
                stats = self.reconcile()
                if not self.lexical.saved():
                    self.lexical.rebuild()
                return stats
            if not self.lexical.saved():  # killed during the snapshot, or a store from before it
                self.lexical.rebuild()
            return {"orphans_deleted": 0, "vectors_restored": 0}
        stats = self.begin_write()
        self.end_write()
        return stats

    def end_write(self) -> None:
        """Mark clean, then snapshot the BM25 index for this generation (derived data: a crash
        here only leaves readers on the FTS5 fallback until the next run rebuilds it)."""
        self.runs.finish()
        self.lexical.rebuild()

    def _check_writable(self) -> None:
        if self.catalog.read_only:
            raise StoreOpenError(str(self.root), "read-only (not writable by this user, or read_only is set): cannot ingest")

    def reconcile(self) -> dict[str, int]:
        """Delete vectors the catalog does not know; re-embed catalog chunks that lack vectors."""
        in_chroma = self.vectors.all_ids()
        live = self.runs.protected()  # read after Chroma, before the catalog: a live run's vectors are one or the other
        in_catalog = self.catalog.chunk_ids()
        orphans = sorted(in_chroma - in_catalog - live)
        if orphans:
            self.vectors.delete(orphans)
        missing = sorted(in_catalog - in_chroma)
        if missing:
            chunks = list(self.catalog.chunks(missing).values())
            docs = self.catalog.documents_by_ids({c.doc_id for c in chunks})
            by_doc: dict[str, list[Chunk]] = {}
            for c in chunks:
                by_doc.setdefault(c.doc_id, []).append(c)
            items = [(docs[d], cs) for d, cs in by_doc.items()]
            # the sentence vectors are in the catalog (same transaction as the chunks): compose from them
            _, vecs = embed_documents(items, self.embedder.embed, self.embedder.count_tokens, self.catalog.sentence_vectors_by_text)
            metas = [_meta(c, self.catalog.access_of(c.doc_id) or [ALL]) for c in chunks]
            self.vectors.upsert([c.chunk_id for c in chunks], np.stack([vecs[c.chunk_id] for c in chunks]), [c.text for c in chunks], metas)
        return {"orphans_deleted": len(orphans), "vectors_restored": len(missing)}

    def write_documents(self, items: Sequence[tuple[Document, list[Chunk], str]]) -> int:
        """Store documents with their chunks; embeds only sentences not already stored (see
        `assistant.store.sentvec`) and upserts the composed vectors of new chunks. Returns #chunks embedded."""
        old_ids: set[str] = set()
        for doc, _, _ in items:
            old_ids |= self.catalog.chunk_ids(doc.doc_id)
        sentences, vecs = embed_documents(
            [(doc, chunks) for doc, chunks, _ in items], self.embedder.embed, self.embedder.count_tokens, self.catalog.sentence_vectors_by_text
        )
        new_chunks = [c for _, chunks, _ in items for c in chunks]
        new_ids = {c.chunk_id for c in new_chunks}
        to_embed = [c for c in new_chunks if c.chunk_id not in old_ids]
        given: list[str] | None = getattr(self._access, "groups", None)
        before = {doc.doc_id: self.catalog.access_of(doc.doc_id) for doc, _, _ in items}
        groups = {d: given or old or [ALL] for d, old in before.items()}
        if to_embed:
            self.runs.pending([c.chunk_id for c in to_embed])
            metas = [_meta(c, groups[c.doc_id]) for c in to_embed]
            self.vectors.upsert([c.chunk_id for c in to_embed], np.stack([vecs[c.chunk_id] for c in to_embed]), [c.text for c in to_embed], metas)
        self.catalog.put_documents(items, sentences, access=given)
        kept = [c.chunk_id for c in new_chunks if c.chunk_id in old_ids and given and before[c.doc_id] != given]
        if kept:  # an updated document whose groups changed: its unchanged chunks' vectors too
            self.vectors.set_groups(kept, given or [ALL])
        stale = sorted(old_ids - new_ids)
        if stale:
            self.vectors.delete(stale)
        return len(to_embed)

    # --- access groups (assistant.store.access) -------------------------------------
    @contextmanager
    def ingesting_as(self, groups: str | Sequence[str] | None) -> Iterator[None]:
        """Documents this thread writes inside the block get these groups (None: a stored
        document keeps its groups, a new one gets `all`)."""
        self._access.groups = parse_groups(groups) if groups is not None else None
        try:
            yield
        finally:
            self._access.groups = None

    def groups_synced(self) -> bool:
        """Whether every vector's metadata carries its document's groups (dense search may filter on them)."""
        return self.catalog.get_meta(GROUPS_META) == "1"

    def set_access(self, doc_ids: Sequence[str], groups: str | Sequence[str]) -> None:
        """Give documents new groups: catalog first (what readers check), then the vectors' metadata."""
        self._check_writable()
        names = parse_groups(groups)
        synced = self.groups_synced()
        self.catalog.set_meta(GROUPS_META, "0")  # a crash before the end: the next ingest re-syncs
        self.catalog.set_access(doc_ids, names)
        for d in doc_ids:
            self.vectors.set_groups(sorted(self.catalog.chunk_ids(d)), names)
        if synced:
            self.catalog.set_meta(GROUPS_META, "1")

    def sync_vector_groups(self) -> None:
        """Write every document's groups into its vectors' metadata (stores from before access groups)."""
        for info in self.catalog.list_documents():
            self.vectors.set_groups(sorted(self.catalog.chunk_ids(info.doc_id)), self.catalog.access_of(info.doc_id) or [ALL])
        self.catalog.set_meta(GROUPS_META, "1")

    def remove_documents(self, doc_ids: Sequence[str]) -> None:
        ids: set[str] = set()
        for doc_id in doc_ids:
            ids |= self.catalog.chunk_ids(doc_id)
            self.catalog.delete_document(doc_id)
        if ids:
            self.vectors.delete(sorted(ids))

    # --- read ------------------------------------------------------------------
    def dense_search(
        self, vector: np.ndarray, k: int, doc_ids: Sequence[str] | None, groups: list[str] | None = None
    ) -> list[tuple[str, float]]:
        """The k nearest chunks by their (composed) vectors, re-ordered by their best sentence:
        score = max cosine of the question with the chunk's stored sentence vectors (a chunk
        without stored sentences keeps its vector's cosine). On SciFact (5,183 abstracts) this
        took dense nDCG@10 from 0.650 to 0.692 at the same recall (docs/performance.md).
        `groups` (a reader's): Chroma filters on the vectors' group keys before ranking; a store
        whose vectors do not carry them yet needs `doc_ids` to hold the reader's documents."""
        where = chroma_where(groups) if groups is not None and self.groups_synced() else None
        hits = self.vectors.query(vector, k, doc_ids, where)
        sents = self.catalog.chunk_sentence_vectors([c for c, _ in hits])
        rescored = [(c, float(np.max(sents[c] @ vector)) if c in sents else s) for c, s in hits]
        return sorted(rescored, key=lambda cs: -cs[1])

    def close(self) -> None:
        self.catalog.close()
        with self._lock:
            vectors, self._vectors = self._vectors, None
        if vectors is not None:
            vectors.close()


def _shared_catalog(settings: Settings, create: bool) -> tuple[PostgresCatalog, RunLeases]:
    from assistant.store.pg_catalog import PostgresCatalog
    from assistant.store.pg_runs import RunLeases

    assert settings.catalog_url is not None
    catalog = PostgresCatalog(settings.catalog_url.get_secret_value(), create=create, read_only=settings.read_only)
    return catalog, RunLeases(catalog.pg)


def _meta(c: Chunk, groups: Sequence[str]) -> dict[str, str | int | bool]:
    return {"doc_id": c.doc_id, "ordinal": c.ordinal, **chroma_meta(groups)}


def store_exists(root: Path) -> bool:
    return (root / CATALOG_FILE).exists()


def _private_copy(chroma_dir: Path) -> Path:
    """Local Chroma cannot open a directory it may not write (its SQLite opens read-write), so a
    read-only store reads a private temporary copy of `chroma/` (removed at exit)."""
    import atexit
    import shutil
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="ct-assistant-ro-"))
    atexit.register(shutil.rmtree, tmp, True)
    dest = tmp / "chroma"
    if chroma_dir.is_dir():
        log.info("read-only store: reading a private copy of %s", chroma_dir)
        shutil.copytree(chroma_dir, dest, symlinks=True)
    return dest
