"""The catalog: documents (normalised text), chunks and the BM25 lexical index in one SQLite file.

SQLite is the source of truth. A document and its chunks and lexical rows change in one
transaction, so the catalog is never half-updated. The vector index (Chroma) is kept in step
by `assistant.store.store`, which only trusts vectors whose chunk ids the catalog holds.
Safe for several threads (one connection each) and several processes (WAL).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from assistant.store.access import ALL, from_column, to_column, visible_sql
from assistant.text.lexical import terms
from assistant.text.sentences import Span
from assistant.store.sentvec import from_blob, to_blob
from assistant.types import Chunk, Document, DocumentInfo, Filters, PageSpan, SectionSpan

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    source TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    date TEXT,
    text TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    fingerprint TEXT NOT NULL DEFAULT '',
    ingested_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY,
    chunk_id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    n_tokens INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE TABLE IF NOT EXISTS sentences (
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    vec BLOB NOT NULL,
    PRIMARY KEY (doc_id, start, end)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pages (
    doc_id TEXT PRIMARY KEY REFERENCES documents(doc_id) ON DELETE CASCADE,
    pages TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sections (
    doc_id TEXT PRIMARY KEY REFERENCES documents(doc_id) ON DELETE CASCADE,
    sections TEXT NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS lexical USING fts5(terms, tokenize="unicode61 tokenchars '_'");
CREATE VIRTUAL TABLE IF NOT EXISTS lexical_vocab USING fts5vocab(lexical, 'row');
"""


class Catalog:
    """`read_only=None` decides from the file system: a catalog this process cannot write (file
    or its directory) is opened with SQLite `mode=ro` and no schema or pragma writes, so readers
    (`ask`, `docs`) work on stores they do not own and on read-only replicas."""

    def __init__(self, path: Path, read_only: bool | None = None) -> None:
        self.path = path
        self.read_only = (not writable(path)) if read_only is None else read_only
        self._immutable = False
        self._local = threading.local()
        self._doc_from = _doc_from(True, True)
        self._access = "d.access"  # the documents' access groups (issue 21); "'all'" in older read-only stores
        if self.read_only:
            self.db.execute("SELECT count(*) FROM meta").fetchone()  # fails now (one line) if unreadable or not a catalog
            # a read-only store made by an older version may lack later tables: read without them
            self._doc_from = _doc_from(self._has_table("pages"), self._has_table("sections"))
            self._access = "d.access" if self._has_column("documents", "access") else f"'{ALL}'"
            return
        self.db.executescript(_SCHEMA)  # idempotent DDL; executescript manages its own transaction
        if not self._has_column("documents", "access"):  # stores made before access groups: every document is `all`
            try:
                self.db.execute(f"ALTER TABLE documents ADD COLUMN access TEXT NOT NULL DEFAULT '{ALL}'")
            except sqlite3.OperationalError as exc:  # another process added it first
                if "duplicate column" not in str(exc):
                    raise
        self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        self.db.execute("INSERT OR IGNORE INTO meta VALUES ('lexical_generation', '0')")

    def _has_table(self, name: str) -> bool:
        return self.db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone() is not None

    def _has_column(self, table: str, column: str) -> bool:
        return any(r[1] == column for r in self.db.execute(f"PRAGMA table_info({table})"))

    @property
    def db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect_ro() if self.read_only else self._connect_rw()
            self._local.conn = conn
        return conn

    def _connect_rw(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    def _connect_ro(self) -> sqlite3.Connection:
        """`mode=ro`; if SQLite cannot open the WAL index read-only (no -shm file and a directory it
        cannot write: a read-only replica), `immutable=1`: nobody can be writing such a store."""
        uri = "file:" + urllib.parse.quote(str(Path(self.path).absolute())) + "?mode=ro"
        if not self._immutable:
            conn = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None, check_same_thread=False)
            try:
                conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
                return conn
            except sqlite3.OperationalError as exc:
                conn.close()
                if "unable to open" not in str(exc) and "readonly" not in str(exc):
                    raise
                self._immutable = True
        return sqlite3.connect(uri + "&immutable=1", uri=True, timeout=30.0, isolation_level=None, check_same_thread=False)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def transaction(self) -> _Tx:
        return _Tx(self.db)

    # --- meta ------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def lexical_generation(self) -> int:
        """Bumped by every transaction that changes chunks (see assistant.store.bm25)."""
        return int(self.get_meta("lexical_generation") or 0)

    @staticmethod
    def _bump(db: sqlite3.Connection) -> None:
        db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'lexical_generation'")

    # --- documents -------------------------------------------------------------
    # `groups`: a reader's groups (None: all; assistant.store.access). A hidden document is absent, like an unknown id.
    def document(self, doc_id: str, groups: list[str] | None = None) -> Document | None:
        cond, args = visible_sql(groups, self._access)
        row = self.db.execute(f"SELECT {self._doc_from} WHERE d.doc_id=? AND {cond}", (doc_id, *args)).fetchone()
        return _doc(row) if row else None

    def has_document(self, doc_id: str, groups: list[str] | None = None) -> bool:
        cond, args = visible_sql(groups, self._access)
        return self.db.execute(f"SELECT 1 FROM documents d WHERE doc_id=? AND {cond}", (doc_id, *args)).fetchone() is not None

    def documents_by_ids(self, doc_ids: Iterable[str], groups: list[str] | None = None) -> dict[str, Document]:
        ids = list(set(doc_ids))
        cond, args = visible_sql(groups, self._access)
        out: dict[str, Document] = {}
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            q = f"SELECT {self._doc_from} WHERE d.doc_id IN ({','.join('?' * len(part))}) AND {cond}"
            out.update((r[0], _doc(r)) for r in self.db.execute(q, [*part, *args]))
        return out

    def access_of(self, doc_id: str) -> list[str] | None:
        """The document's access groups (None: no such document)."""
        row = self.db.execute(f"SELECT {self._access} FROM documents d WHERE doc_id=?", (doc_id,)).fetchone()
        return from_column(row[0]) if row else None

    def set_access(self, doc_ids: Sequence[str], groups: Sequence[str]) -> None:  # one transaction
        with self.transaction() as db:
            db.executemany("UPDATE documents SET access=? WHERE doc_id=?", [(to_column(groups), d) for d in doc_ids])

    def doc_by_source(self, source: str) -> tuple[str, str, str] | None:
        """(doc_id, content_hash, fingerprint) of the document read from `source`."""
        return self.db.execute(
            "SELECT doc_id, content_hash, fingerprint FROM documents WHERE source=?", (source,)
        ).fetchone()

    def fingerprints(self) -> dict[str, tuple[str, str]]:
        """source -> (doc_id, fingerprint) for every document: the no-change fast path."""
        return {r[0]: (r[1], r[2]) for r in self.db.execute("SELECT source, doc_id, fingerprint FROM documents")}

    def set_fingerprint(self, doc_id: str, fingerprint: str) -> None:
        self.db.execute("UPDATE documents SET fingerprint=? WHERE doc_id=?", (fingerprint, doc_id))

    def list_documents(self, groups: list[str] | None = None) -> list[DocumentInfo]:
        cond, args = visible_sql(groups, self._access)
        rows = self.db.execute(
            "SELECT d.doc_id, d.source, d.title, d.date, length(d.text), count(c.rowid) FROM documents d "
            f"LEFT JOIN chunks c ON c.doc_id = d.doc_id WHERE {cond} GROUP BY d.doc_id ORDER BY d.doc_id", args
        )
        return [DocumentInfo(doc_id=r[0], source=r[1], title=r[2], date=r[3], chars=r[4], chunks=r[5]) for r in rows]

    def sources(self) -> dict[str, str]:
        return {r[0]: r[1] for r in self.db.execute("SELECT source, doc_id FROM documents")}

    def doc_id_taken(self, doc_id: str, source: str) -> bool:
        row = self.db.execute("SELECT source FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
        return row is not None and row[0] != source

    def counts(self) -> tuple[int, int]:
        d = self.db.execute("SELECT count(*) FROM documents").fetchone()[0]
        c = self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        return int(d), int(c)

    # --- chunks ----------------------------------------------------------------
    def chunk_ids(self, doc_id: str | None = None) -> set[str]:
        if doc_id is None:
            return {r[0] for r in self.db.execute("SELECT chunk_id FROM chunks")}
        return {r[0] for r in self.db.execute("SELECT chunk_id FROM chunks WHERE doc_id=?", (doc_id,))}

    def chunks(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        """Chunks by id, text sliced from their document (ids the catalog does not hold are absent)."""
        out: dict[str, Chunk] = {}
        ids = list(chunk_ids)
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            q = (
                "SELECT c.chunk_id, c.doc_id, c.ordinal, c.start, c.end, c.n_tokens, substr(d.text, c.start + 1, c.end - c.start) "
                f"FROM chunks c JOIN documents d ON d.doc_id = c.doc_id WHERE c.chunk_id IN ({','.join('?' * len(part))})"
            )
            for r in self.db.execute(q, part):
                out[r[0]] = Chunk(chunk_id=r[0], doc_id=r[1], ordinal=r[2], start=r[3], end=r[4], n_tokens=r[5], text=r[6])
        return out

    def chunk_rowids(self, doc_ids: Sequence[str]) -> list[int]:
        """The rowids of the chunks of these documents (row keys of the BM25 snapshot)."""
        out: list[int] = []
        ids = list(doc_ids)
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            out += [r[0] for r in self.db.execute(f"SELECT rowid FROM chunks WHERE doc_id IN ({','.join('?' * len(part))})", part)]
        return out

    def chunk_ids_by_rowid(self, rowids: Sequence[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        ids = list(rowids)
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            out.update((r[0], r[1]) for r in self.db.execute(f"SELECT rowid, chunk_id FROM chunks WHERE rowid IN ({','.join('?' * len(part))})", part))
        return out

    def neighbours(self, doc_id: str, ordinal: int) -> list[Chunk]:
        """The chunks just before and after one chunk (for context windows)."""
        rows = self.db.execute(
            "SELECT chunk_id FROM chunks WHERE doc_id=? AND ordinal BETWEEN ? AND ? ORDER BY ordinal",
            (doc_id, ordinal - 1, ordinal + 1),
        )
        found = self.chunks([r[0] for r in rows])
        return sorted(found.values(), key=lambda c: c.ordinal)

    def put_documents(
        self, items: Sequence[tuple[Document, Sequence[Chunk], str]], sentences: Mapping[str, Mapping[Span, np.ndarray]] | None = None,
        access: Sequence[str] | None = None,
    ) -> None:
        """Replace documents with their chunks, lexical rows and sentence vectors, in one transaction.
        `access`: their groups; None keeps a stored document's groups (a new one gets `all`)."""
        with self.transaction() as db:
            self._bump(db)
            for doc, chunks, fingerprint in items:
                old = db.execute("SELECT access FROM documents WHERE doc_id=?", (doc.doc_id,)).fetchone()
                self._delete(db, doc.doc_id)
                db.execute(
                    "INSERT INTO documents (doc_id, source, title, date, text, content_hash, fingerprint, access) VALUES (?,?,?,?,?,?,?,?)",
                    (doc.doc_id, doc.source, doc.title, doc.date, doc.text, doc.content_hash, fingerprint,
                     to_column(access) if access else old[0] if old else ALL),
                )
                if doc.pages:
                    db.execute("INSERT INTO pages (doc_id, pages) VALUES (?, ?)", (doc.doc_id, json.dumps([p.model_dump() for p in doc.pages])))
                if doc.sections:
                    db.execute(
                        "INSERT INTO sections (doc_id, sections) VALUES (?, ?)", (doc.doc_id, json.dumps([x.model_dump() for x in doc.sections]))
                    )
                title_terms = terms(doc.title)
                for c in chunks:
                    cur = db.execute(
                        "INSERT INTO chunks (chunk_id, doc_id, ordinal, start, end, n_tokens) VALUES (?,?,?,?,?,?)",
                        (c.chunk_id, c.doc_id, c.ordinal, c.start, c.end, c.n_tokens),
                    )
                    # title terms count towards every chunk of the document
                    db.execute("INSERT INTO lexical (rowid, terms) VALUES (?, ?)", (cur.lastrowid, " ".join(terms(c.text) + title_terms)))
                db.executemany(
                    "INSERT INTO sentences (doc_id, start, end, vec) VALUES (?,?,?,?)",
                    [(doc.doc_id, a, b, to_blob(v)) for (a, b), v in (sentences or {}).get(doc.doc_id, {}).items()],
                )

    # --- sentence vectors (assistant.store.sentvec) ------------------------------------
    def sentence_vectors(self, doc_id: str, spans: Iterable[Span] | None = None) -> dict[Span, np.ndarray]:
        """Stored sentence vectors of a document: all, or those of the given spans that exist."""
        if spans is None:
            rows = self.db.execute("SELECT start, end, vec FROM sentences WHERE doc_id=?", (doc_id,)).fetchall()
            return {(a, b): from_blob(v) for a, b, v in rows}
        want = set(spans)
        starts = sorted({a for a, _ in want})
        out: dict[Span, np.ndarray] = {}
        for i in range(0, len(starts), 500):  # by primary key: a long document is not read whole
            part = starts[i : i + 500]
            q = f"SELECT start, end, vec FROM sentences WHERE doc_id=? AND start IN ({','.join('?' * len(part))})"
            out.update(((a, b), from_blob(v)) for a, b, v in self.db.execute(q, [doc_id, *part]) if (a, b) in want)
        return out

    def chunk_sentence_vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """chunk id -> (n, dim) stored vectors of the sentences inside the chunk (chunks without any are absent)."""
        ids = list(chunk_ids)
        if not ids:
            return {}
        rows = self.db.execute(
            "SELECT c.chunk_id, s.vec FROM chunks c JOIN sentences s ON s.doc_id = c.doc_id AND s.start >= c.start AND s.end <= c.end "
            f"WHERE c.chunk_id IN ({','.join('?' * len(ids))})",
            ids,
        )
        out: dict[str, list[np.ndarray]] = {}
        for cid, blob in rows:
            out.setdefault(cid, []).append(from_blob(blob))
        return {cid: np.stack(v) for cid, v in out.items()}

    def sentence_vectors_by_text(self, doc_id: str) -> dict[str, np.ndarray]:
        """{sentence text: vector} of the stored version of a document (reused when it changes)."""
        row = self.db.execute("SELECT text FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
        if row is None:
            return {}
        return {row[0][a:b]: v for (a, b), v in self.sentence_vectors(doc_id).items()}

    def delete_document(self, doc_id: str) -> None:
        with self.transaction() as db:
            self._bump(db)
            self._delete(db, doc_id)

    @staticmethod
    def _delete(db: sqlite3.Connection, doc_id: str) -> None:
        db.execute("DELETE FROM sentences WHERE doc_id=?", (doc_id,))
        db.execute("DELETE FROM pages WHERE doc_id=?", (doc_id,))
        db.execute("DELETE FROM sections WHERE doc_id=?", (doc_id,))
        db.execute("DELETE FROM lexical WHERE rowid IN (SELECT rowid FROM chunks WHERE doc_id=?)", (doc_id,))
        db.execute("DELETE FROM chunks WHERE doc_id=?", (doc_id,))
        db.execute("DELETE FROM documents WHERE doc_id=?", (doc_id,))

    # --- filters & lexical search ---------------------------------------------
    def resolve_filters(self, filters: Filters, groups: list[str] | None = None) -> list[str] | None:
        """The doc ids a filter and a reader's groups allow (None: no restriction)."""
        cond, args = visible_sql(groups, self._access)
        if filters.is_empty() and (groups is None or self.db.execute(f"SELECT 1 FROM documents d WHERE NOT {cond} LIMIT 1", args).fetchone() is None):
            return None
        where = [cond]
        if filters.doc_ids:
            where.append(f"doc_id IN ({','.join('?' * len(filters.doc_ids))})")
            args += filters.doc_ids
        if filters.sources:
            where.append(f"source IN ({','.join('?' * len(filters.sources))})")
            args += filters.sources
        if filters.date_from:
            where.append("date >= ?")
            args.append(filters.date_from)
        if filters.date_to:
            where.append("date <= ?")
            args.append(filters.date_to)
        return [r[0] for r in self.db.execute(f"SELECT doc_id FROM documents d WHERE {' AND '.join(where)}", args)]

    def lexical_search(self, query: str, limit: int, doc_ids: Sequence[str] | None = None) -> list[tuple[str, float]]:
        """BM25 over chunk terms: [(chunk_id, score)], best first (score higher = better)."""
        qterms = sorted(set(terms(query)))
        if not qterms or (doc_ids is not None and not doc_ids):
            return []
        match = " OR ".join(f'"{t}"' for t in qterms)
        sql = "SELECT c.chunk_id, -bm25(lexical) AS s FROM lexical JOIN chunks c ON c.rowid = lexical.rowid WHERE lexical MATCH ?"
        args: list[object] = [match]
        if doc_ids is not None:
            sql += f" AND c.doc_id IN ({','.join('?' * len(doc_ids))})"
            args += list(doc_ids)
        sql += " ORDER BY bm25(lexical) LIMIT ?"
        args.append(limit)
        return [(r[0], float(r[1])) for r in self.db.execute(sql, args)]

    def document_frequencies(self, qterms: Iterable[str]) -> tuple[dict[str, int], int]:
        """How many chunks contain each term, and the number of chunks (for IDF)."""
        ts = list(set(qterms))
        n = self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        if not ts:
            return {}, int(n)
        rows = self.db.execute(f"SELECT term, doc FROM lexical_vocab WHERE term IN ({','.join('?' * len(ts))})", ts)
        return {r[0]: int(r[1]) for r in rows}, int(n)


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT, ROLLBACK on error."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")


def _doc_from(pages: bool, sections: bool) -> str:
    """Documents joined with their page map and section titles (`pages`/`sections` tables; absent
    in read-only stores of older versions: read as NULL)."""
    cols = "d.doc_id, d.source, d.title, d.date, d.text, d.content_hash"
    cols += ", p.pages" if pages else ", NULL"
    cols += ", s.sections" if sections else ", NULL"
    joins = (" LEFT JOIN pages p USING (doc_id)" if pages else "") + (" LEFT JOIN sections s USING (doc_id)" if sections else "")
    return f"{cols} FROM documents d{joins}"


def _doc(row: Sequence[object]) -> Document:
    pages = None
    if len(row) > 6 and row[6]:
        try:
            pages = [PageSpan(**p) for p in json.loads(str(row[6]))]
        except (ValueError, TypeError):
            pages = None  # a damaged page map: citations without pages, never a failed read
    sections = None
    if len(row) > 7 and row[7]:
        try:
            sections = [SectionSpan(**x) for x in json.loads(str(row[7]))]
        except (ValueError, TypeError):
            sections = None  # damaged: citations without a section, never a failed read
    return Document(
        doc_id=str(row[0]), source=str(row[1]), title=str(row[2]), date=row[3], text=str(row[4]), content_hash=str(row[5]),
        pages=pages, sections=sections,  # type: ignore[arg-type]
    )


def writable(path: Path) -> bool:
    """Can this process write the catalog (the file, or create it) and its WAL files beside it?"""
    folder = Path(path).parent
    if Path(path).exists() and not os.access(path, os.W_OK):
        return False
    return os.access(folder, os.W_OK)
