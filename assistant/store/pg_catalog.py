"""The catalog in PostgreSQL (`catalog_url`): the same methods as the SQLite `Catalog`, shared by hosts.

Everything a host needs to answer lives here: documents (normalised text, page maps, section
titles), chunks with their lexical terms (the BM25 index's source of truth; each host scores
from a snapshot of the current generation that it builds itself, `assistant.store.bm25`),
sentence vectors, fingerprints, ingest runs (`assistant.store.pg_runs`) and the original files
of PDFs. Vectors live in a Chroma server. Writes keep SQLite's boundaries: `put_documents` and
`delete_document` are one transaction each, serialised by an advisory lock (as SQLite's write
lock does) and each bumping `meta.lexical_generation`, so readers on any host see a document
either before or after, and pick up a new generation at their next question.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from assistant.errors import ReadError, StoreNotFoundError
from assistant.store.access import ALL, from_column, to_column
from assistant.store.pg_schema import WRITE_LOCK, Pg, migrate, schema_version
from assistant.store.sentvec import from_blob, to_blob
from assistant.text.lexical import terms
from assistant.text.sentences import Span
from assistant.types import Chunk, Document, DocumentInfo, Filters, PageSpan, SectionSpan

log = logging.getLogger(__name__)

K1, B = 1.2, 0.75  # as assistant.store.bm25 (and FTS5's bm25())
_DOC_COLS = "doc_id, source, title, date, text, content_hash, pages, sections"
_CHUNK_COLS = 'c.chunk_id, c.doc_id, c.ordinal, c.start, c."end", c.n_tokens, substr(d.text, c.start + 1, c."end" - c.start)'
MAX_FILE_BYTES = 200 * 1024 * 1024


class PostgresCatalog:
    """`create=False` (readers) refuses a database the assistant never set up (StoreNotFoundError)."""

    shared = True  # several hosts: each builds its own BM25 snapshot; leases instead of a dirty flag

    def __init__(self, url: str, *, create: bool = False, read_only: bool = False) -> None:
        self.pg = Pg(url)
        self.where = self.path = self.pg.where
        self.read_only = read_only
        try:
            with self.pg.conn() as c:
                version = schema_version(c)
                if version is None and not create:
                    raise StoreNotFoundError(self.where)
                if not read_only:
                    migrate(c)
        except BaseException:
            self.pg.close()
            raise

    def close(self) -> None:
        self.pg.close()

    def _all(self, sql: str, args: Sequence[Any] | Mapping[str, Any] = ()) -> list[tuple[Any, ...]]:
        with self.pg.conn() as c:
            return c.execute(sql, args).fetchall()

    def _one(self, sql: str, args: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        with self.pg.conn() as c:
            return c.execute(sql, args).fetchone()

    # --- meta ------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key=%s", (key,))
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._all("INSERT INTO meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value RETURNING 1", (key, value))

    def lexical_generation(self) -> int:
        return int(self.get_meta("lexical_generation") or 0)

    # --- documents -------------------------------------------------------------
    # `groups`: a reader's access groups (None: all; assistant.store.access). A hidden document is absent, like an unknown id.
    def document(self, doc_id: str, groups: list[str] | None = None) -> Document | None:
        cond, args = _visible(groups)
        row = self._one(f"SELECT {_DOC_COLS} FROM documents WHERE doc_id=%s AND {cond}", (doc_id, *args))
        return _doc(row) if row else None

    def has_document(self, doc_id: str, groups: list[str] | None = None) -> bool:
        cond, args = _visible(groups)
        return self._one(f"SELECT 1 FROM documents WHERE doc_id=%s AND {cond}", (doc_id, *args)) is not None

    def documents_by_ids(self, doc_ids: Iterable[str], groups: list[str] | None = None) -> dict[str, Document]:
        ids = list(set(doc_ids))
        if not ids:
            return {}
        cond, args = _visible(groups)
        return {r[0]: _doc(r) for r in self._all(f"SELECT {_DOC_COLS} FROM documents WHERE doc_id = ANY(%s) AND {cond}", (ids, *args))}

    def access_of(self, doc_id: str) -> list[str] | None:
        """The document's access groups (None: no such document)."""
        row = self._one("SELECT access FROM documents WHERE doc_id=%s", (doc_id,))
        return from_column(row[0]) if row else None

    def set_access(self, doc_ids: Sequence[str], groups: Sequence[str]) -> None:  # one transaction
        with self.pg.conn() as c, c.transaction():
            c.execute("UPDATE documents SET access=%s WHERE doc_id = ANY(%s)", (to_column(groups), list(doc_ids)))

    def doc_by_source(self, source: str) -> tuple[str, str, str] | None:
        row = self._one("SELECT doc_id, content_hash, fingerprint FROM documents WHERE source=%s", (source,))
        return (row[0], row[1], row[2]) if row else None

    def fingerprints(self) -> dict[str, tuple[str, str]]:
        return {r[0]: (r[1], r[2]) for r in self._all("SELECT source, doc_id, fingerprint FROM documents")}

    def set_fingerprint(self, doc_id: str, fingerprint: str) -> None:
        self._all("UPDATE documents SET fingerprint=%s WHERE doc_id=%s RETURNING 1", (fingerprint, doc_id))

    def list_documents(self, groups: list[str] | None = None) -> list[DocumentInfo]:
        cond, args = _visible(groups, "d.access")
        rows = self._all(
            "SELECT d.doc_id, d.source, d.title, d.date, length(d.text), count(c.rowid) FROM documents d "
            f"LEFT JOIN chunks c ON c.doc_id = d.doc_id WHERE {cond} GROUP BY d.doc_id ORDER BY d.doc_id COLLATE \"C\"", args
        )
        return [DocumentInfo(doc_id=r[0], source=r[1], title=r[2], date=r[3], chars=r[4], chunks=r[5]) for r in rows]

    def sources(self) -> dict[str, str]:
        return {r[0]: r[1] for r in self._all("SELECT source, doc_id FROM documents")}

    def doc_id_taken(self, doc_id: str, source: str) -> bool:
        """Whether another source holds (or has claimed) this doc id. Claims it for `source` when
        free: two hosts naming different files' documents at the same time get different ids."""
        with self.pg.conn() as c:
            c.execute("INSERT INTO doc_ids VALUES (%s, %s) ON CONFLICT DO NOTHING", (doc_id, source))
            row = c.execute(
                "SELECT source FROM documents WHERE doc_id=%s UNION ALL SELECT source FROM doc_ids WHERE doc_id=%s LIMIT 1", (doc_id, doc_id)
            ).fetchone()
        return row is not None and row[0] != source

    def counts(self) -> tuple[int, int]:
        row = self._one("SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM chunks)")
        assert row is not None
        return int(row[0]), int(row[1])

    def original_file(self, doc_id: str) -> tuple[str, bytes] | None:
        """(file name, bytes) of the document's original file (PDFs), for hosts without that file."""
        row = self._one("SELECT name, data FROM files WHERE doc_id=%s", (doc_id,))
        return (row[0], bytes(row[1])) if row else None

    # --- chunks ----------------------------------------------------------------
    def chunk_ids(self, doc_id: str | None = None) -> set[str]:
        if doc_id is None:
            return {r[0] for r in self._all("SELECT chunk_id FROM chunks")}
        return {r[0] for r in self._all("SELECT chunk_id FROM chunks WHERE doc_id=%s", (doc_id,))}

    def chunks(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        ids = list(chunk_ids)
        if not ids:
            return {}
        rows = self._all(f"SELECT {_CHUNK_COLS} FROM chunks c JOIN documents d ON d.doc_id = c.doc_id WHERE c.chunk_id = ANY(%s)", (ids,))
        return {r[0]: Chunk(chunk_id=r[0], doc_id=r[1], ordinal=r[2], start=r[3], end=r[4], n_tokens=r[5], text=r[6]) for r in rows}

    def chunk_rowids(self, doc_ids: Sequence[str]) -> list[int]:
        return [r[0] for r in self._all("SELECT rowid FROM chunks WHERE doc_id = ANY(%s)", (list(doc_ids),))]

    def chunk_ids_by_rowid(self, rowids: Sequence[int]) -> dict[int, str]:
        return {r[0]: r[1] for r in self._all("SELECT rowid, chunk_id FROM chunks WHERE rowid = ANY(%s)", ([int(x) for x in rowids],))}

    def neighbours(self, doc_id: str, ordinal: int) -> list[Chunk]:
        rows = self._all("SELECT chunk_id FROM chunks WHERE doc_id=%s AND ordinal BETWEEN %s AND %s", (doc_id, ordinal - 1, ordinal + 1))
        return sorted(self.chunks([r[0] for r in rows]).values(), key=lambda c: c.ordinal)

    # --- writes ----------------------------------------------------------------
    def put_documents(
        self, items: Sequence[tuple[Document, Sequence[Chunk], str]], sentences: Mapping[str, Mapping[Span, np.ndarray]] | None = None,
        access: Sequence[str] | None = None,
    ) -> None:
        """Replace documents with their chunks, lexical terms, sentence vectors and original
        files, in one transaction (the generation bump included). `access`: their groups; None
        keeps a stored document's groups (a new one gets `all`)."""
        from psycopg.types.json import Jsonb

        for doc, _, _ in items:  # checked before anything is written: PostgreSQL text cannot hold NUL
            if "\x00" in doc.text or "\x00" in doc.title or "\x00" in doc.source:
                raise ReadError(doc.source.replace("\x00", "\\x00"), "contains NUL characters, which the PostgreSQL catalog cannot store")
        files = {doc.doc_id: _original(doc) for doc, _, _ in items}
        with self.pg.conn() as c, c.transaction():
            c.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            _bump(c)
            for doc, chunks, fingerprint in items:
                old = c.execute("SELECT access FROM documents WHERE doc_id=%s", (doc.doc_id,)).fetchone()
                _delete(c, doc.doc_id, doc.source)
                c.execute(
                    f"INSERT INTO documents ({_DOC_COLS}, fingerprint, access) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                    (
                        doc.doc_id, doc.source, doc.title, doc.date, doc.text, doc.content_hash,
                        Jsonb([p.model_dump() for p in doc.pages]) if doc.pages else None,
                        Jsonb([x.model_dump() for x in doc.sections]) if doc.sections else None, fingerprint,
                        to_column(access) if access else old[0] if old else ALL,
                    ),
                )  # fmt: skip
                c.execute(
                    "INSERT INTO doc_ids VALUES (%s, %s) ON CONFLICT (doc_id) DO UPDATE SET source = EXCLUDED.source", (doc.doc_id, doc.source)
                )
                title_terms = terms(doc.title)
                with c.cursor().copy('COPY chunks (chunk_id, doc_id, ordinal, start, "end", n_tokens, terms, n_terms) FROM STDIN') as cp:
                    for ch in chunks:
                        ts = terms(ch.text) + title_terms  # title terms count towards every chunk of the document
                        cp.write_row((ch.chunk_id, ch.doc_id, ch.ordinal, ch.start, ch.end, ch.n_tokens, " ".join(ts), len(ts)))
                with c.cursor().copy('COPY sentences (doc_id, start, "end", vec) FROM STDIN') as cp:
                    for (a, b), v in (sentences or {}).get(doc.doc_id, {}).items():
                        cp.write_row((doc.doc_id, a, b, to_blob(v)))
                if files.get(doc.doc_id):
                    name, data = files[doc.doc_id]  # type: ignore[misc]
                    c.execute("INSERT INTO files VALUES (%s, %s, %s)", (doc.doc_id, name, data))

    def delete_document(self, doc_id: str) -> None:
        with self.pg.conn() as c, c.transaction():
            c.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            _bump(c)
            _delete(c, doc_id, None)
            c.execute("DELETE FROM doc_ids WHERE doc_id=%s", (doc_id,))

    # --- sentence vectors --------------------------------------------------------
    def sentence_vectors(self, doc_id: str, spans: Iterable[Span] | None = None) -> dict[Span, np.ndarray]:
        if spans is None:
            rows = self._all('SELECT start, "end", vec FROM sentences WHERE doc_id=%s', (doc_id,))
            return {(a, b): from_blob(v) for a, b, v in rows}
        want = set(spans)
        if not want:
            return {}
        rows = self._all('SELECT start, "end", vec FROM sentences WHERE doc_id=%s AND start = ANY(%s)', (doc_id, sorted({a for a, _ in want})))
        return {(a, b): from_blob(v) for a, b, v in rows if (a, b) in want}

    def chunk_sentence_vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        ids = list(chunk_ids)
        if not ids:
            return {}
        rows = self._all(
            'SELECT c.chunk_id, s.vec FROM chunks c JOIN sentences s ON s.doc_id = c.doc_id AND s.start >= c.start AND s."end" <= c."end" '
            "WHERE c.chunk_id = ANY(%s)",
            (ids,),
        )
        out: dict[str, list[np.ndarray]] = {}
        for cid, blob in rows:
            out.setdefault(cid, []).append(from_blob(blob))
        return {cid: np.stack(v) for cid, v in out.items()}

    def sentence_vectors_by_text(self, doc_id: str) -> dict[str, np.ndarray]:
        row = self._one("SELECT text FROM documents WHERE doc_id=%s", (doc_id,))
        if row is None:
            return {}
        return {row[0][a:b]: v for (a, b), v in self.sentence_vectors(doc_id).items()}

    # --- filters & lexical search ---------------------------------------------
    def resolve_filters(self, filters: Filters, groups: list[str] | None = None) -> list[str] | None:
        """The doc ids a filter and a reader's groups allow (None: no restriction)."""
        cond, args = _visible(groups)
        if filters.is_empty() and (groups is None or self._one(f"SELECT 1 FROM documents WHERE NOT {cond} LIMIT 1", args) is None):
            return None
        where: list[str] = [cond]
        if filters.doc_ids:
            where.append("doc_id = ANY(%s)")
            args.append(list(filters.doc_ids))
        if filters.sources:
            where.append("source = ANY(%s)")
            args.append(list(filters.sources))
        if filters.date_from:
            where.append("date >= %s")
            args.append(filters.date_from)
        if filters.date_to:
            where.append("date <= %s")
            args.append(filters.date_to)
        return [r[0] for r in self._all(f"SELECT doc_id FROM documents WHERE {' AND '.join(where)}", args)]

    def lexical_rows(self) -> tuple[int, list[tuple[int, str]]]:
        """(generation, [(chunk rowid, terms)]) as of one snapshot: what a BM25 snapshot is built from."""
        with self.pg.conn() as c:
            c.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                gen = int(c.execute("SELECT value FROM meta WHERE key='lexical_generation'").fetchone()[0])
                rows = c.execute("SELECT rowid, terms FROM chunks ORDER BY rowid").fetchall()
            finally:
                c.execute("COMMIT")
        return gen, rows

    def lexical_search(self, query: str, limit: int, doc_ids: Sequence[str] | None = None) -> list[tuple[str, float]]:
        """BM25 (the snapshot's formula) computed here: candidates from the GIN index, then scored.
        Used only when no snapshot can be built (hosts normally score from their snapshot)."""
        qterms = sorted(set(terms(query)))
        if not qterms or (doc_ids is not None and not doc_ids):
            return []
        df, n = self.document_frequencies(qterms)
        avgdl = float(self._one("SELECT coalesce(avg(n_terms), 1) FROM chunks")[0])  # type: ignore[index]
        sql = "SELECT chunk_id, terms, n_terms FROM chunks WHERE tsv @@ %s::tsquery"
        args: list[Any] = [_tsquery(qterms)]
        if doc_ids is not None:
            sql += " AND doc_id = ANY(%s)"
            args.append(list(doc_ids))
        idf = {t: max(math.log((n - df.get(t, 0) + 0.5) / (df.get(t, 0) + 0.5)), 1e-6) for t in qterms}
        scored = []
        for cid, text, dl in self._all(sql, args):
            toks = text.split()
            s = 0.0
            for t in qterms:
                tf = toks.count(t)
                if tf:
                    s += idf[t] * tf * (K1 + 1) / (tf + K1 * (1 - B + B * dl / avgdl))
            scored.append((cid, s))
        scored.sort(key=lambda x: (-x[1], x[0]))
        return scored[:limit]

    def document_frequencies(self, qterms: Iterable[str]) -> tuple[dict[str, int], int]:
        ts = sorted(set(qterms))
        n = int(self._one("SELECT count(*) FROM chunks")[0])  # type: ignore[index]
        out = {}
        for t in ts:
            k = int(self._one("SELECT count(*) FROM chunks WHERE tsv @@ %s::tsquery", (_tsquery([t]),))[0])  # type: ignore[index]
            if k:
                out[t] = k
        return out, n


def _visible(reader: list[str] | None, column: str = "access") -> tuple[str, list[Any]]:
    """The condition (and argument) true for documents a reader may see (`access.visible_sql` in SQLite)."""
    if reader is None:
        return "true", []
    return f"string_to_array({column}, ',') && %s::text[]", [sorted(set(reader) | {ALL})]


def _tsquery(qterms: Sequence[str]) -> str:
    """An OR tsquery of exact terms (quoted: no parsing, no stemming by PostgreSQL)."""
    return " | ".join("'" + t.replace("\\", "\\\\").replace("'", "''") + "'" for t in qterms)


def _bump(c: Any) -> None:
    c.execute("UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'lexical_generation'")


def _delete(c: Any, doc_id: str, source: str | None) -> None:
    """A document and everything of it (cascades: chunks, sentences, files); also a row holding
    the same source under another id."""
    c.execute("DELETE FROM documents WHERE doc_id=%s", (doc_id,))
    if source is not None:
        c.execute("DELETE FROM documents WHERE source=%s", (source,))


def _original(doc: Document) -> tuple[str, bytes] | None:
    """The bytes of a PDF's file, kept for page images on hosts that never saw the file."""
    if not doc.pages or not os.path.isfile(doc.source):
        return None
    try:
        if os.path.getsize(doc.source) > MAX_FILE_BYTES:
            log.warning("%s is over %d MB: page images of it only where the file is", doc.source, MAX_FILE_BYTES >> 20)
            return None
        with open(doc.source, "rb") as f:
            return os.path.basename(doc.source), f.read()
    except OSError as exc:
        log.warning("cannot keep the original of %s: %s", doc.source, exc)
        return None


def _doc(row: Sequence[Any]) -> Document:
    pages = sections = None
    try:
        pages = [PageSpan(**p) for p in row[6]] if row[6] else None
    except (TypeError, ValueError):
        pages = None  # a damaged page map: citations without pages, never a failed read
    try:
        sections = [SectionSpan(**x) for x in row[7]] if row[7] else None
    except (TypeError, ValueError):
        sections = None
    return Document(
        doc_id=row[0], source=row[1], title=row[2], date=row[3], text=row[4], content_hash=row[5], pages=pages, sections=sections
    )
