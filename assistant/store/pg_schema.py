"""The PostgreSQL side of a shared catalog: the connection pool, errors, and the versioned schema.

`Pg(url)` opens a psycopg 3 pool (autocommit connections; one idle for more than `IDLE_CHECK_S`
is checked on checkout, so a restarted server is reconnected to at the next call, while the
bursts of ingest and of one question cost no extra round trips). A connection failure, a pool timeout or a server
going away mid-query becomes `CatalogUnavailableError` naming the server (never the password).

The schema is created and migrated by the assistant: `MIGRATIONS` is a list of (version, DDL
statements); `migrate()` applies the missing ones in order inside one transaction that holds an
advisory lock, and records each in `schema_migrations`, so any number of hosts may open the
catalog at once and a migration runs exactly once. Add a migration, never edit an applied one.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from assistant.errors import CatalogUnavailableError

log = logging.getLogger(__name__)

SCHEMA_LOCK = 0x43545343  # advisory lock key of migrations ("CTSC")
WRITE_LOCK = 0x43545752  # advisory lock key of catalog writes ("CTWR"): today's SQLite write lock
RUN_LOCKS = 0x4354  # first key of per-run leases (second key: run_id)
IDLE_CHECK_S = 1.0
#: seconds after a server failure during which every checkout is tested
TROUBLE_CHECK_S = 600.0

MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            "CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL)",
            "INSERT INTO meta VALUES ('lexical_generation', '0') ON CONFLICT DO NOTHING",
            """CREATE TABLE documents (
                doc_id text PRIMARY KEY,
                source text NOT NULL UNIQUE,
                title text NOT NULL,
                date text,
                text text NOT NULL,
                content_hash text NOT NULL,
                fingerprint text NOT NULL DEFAULT '',
                pages jsonb,
                sections jsonb,
                ingested_at timestamptz NOT NULL DEFAULT now())""",
            # the lexical index's source of truth is chunks.terms (stemmed terms, title terms
            # included); tsv (exact terms, GIN) finds candidate rows for the fallback search
            """CREATE TABLE chunks (
                rowid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                chunk_id text NOT NULL UNIQUE,
                doc_id text NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
                ordinal integer NOT NULL,
                start integer NOT NULL,
                "end" integer NOT NULL,
                n_tokens integer NOT NULL,
                terms text NOT NULL,
                n_terms integer NOT NULL,
                tsv tsvector GENERATED ALWAYS AS (array_to_tsvector(string_to_array(terms, ' '))) STORED)""",
            "CREATE INDEX chunks_doc ON chunks(doc_id)",
            "CREATE INDEX chunks_tsv ON chunks USING gin(tsv)",
            """CREATE TABLE sentences (
                doc_id text NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
                start integer NOT NULL,
                "end" integer NOT NULL,
                vec bytea NOT NULL,
                PRIMARY KEY (doc_id, start, "end"))""",
            # the original file (PDFs): page images and "open at this page" on any host
            """CREATE TABLE files (
                doc_id text PRIMARY KEY REFERENCES documents(doc_id) ON DELETE CASCADE,
                name text NOT NULL,
                data bytea NOT NULL)""",
            # doc ids claimed by a source before its document is written: two hosts reading
            # different files with the same name get different ids (first claim wins)
            "CREATE TABLE doc_ids (doc_id text PRIMARY KEY, source text NOT NULL)",
            # ingest runs: the lease is the advisory lock (RUN_LOCKS, run_id) held by the run's
            # own connection; a run whose lock is free and finished_at NULL was killed
            """CREATE TABLE ingest_runs (
                run_id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                host text NOT NULL,
                pid integer NOT NULL,
                started_at timestamptz NOT NULL DEFAULT now(),
                heartbeat_at timestamptz NOT NULL DEFAULT now(),
                finished_at timestamptz,
                outcome text)""",
            # vectors a live run may have upserted before its catalog commit (not orphans yet)
            """CREATE TABLE run_chunks (
                run_id integer NOT NULL REFERENCES ingest_runs(run_id) ON DELETE CASCADE,
                chunk_id text NOT NULL,
                PRIMARY KEY (run_id, chunk_id))""",
        ],
    ),
    # issue 21: a document's access groups (assistant.store.access; comma-joined, sorted), as in SQLite
    (2, ["ALTER TABLE documents ADD COLUMN IF NOT EXISTS access text NOT NULL DEFAULT 'all'"]),
    # issue 19: the web UI's feedback, shared by every host (assistant.store.pg_feedback; the
    # columns of assistant.ui.feedback's SQLite table, created_at stamped by the server)
    (
        3,
        [
            """CREATE TABLE feedback (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                created_at timestamptz NOT NULL DEFAULT now(),
                session_id text NOT NULL DEFAULT '',
                rating text NOT NULL CHECK (rating IN ('helpful', 'not_helpful')),
                comment text NOT NULL DEFAULT '',
                question text NOT NULL,
                standalone_question text,
                answer text NOT NULL,
                refused boolean NOT NULL DEFAULT false,
                mode text NOT NULL DEFAULT '',
                citations json NOT NULL DEFAULT '[]',
                filters json NOT NULL DEFAULT '{}')""",
        ],
    ),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def redact(url: str) -> str:
    """The URL without its password: how the catalog is named in messages and logs."""
    try:
        p = urllib.parse.urlsplit(url)
        host = p.hostname or "localhost"
        user = f"{p.username}@" if p.username else ""
        port = f":{p.port}" if p.port else ""
        return f"{p.scheme}://{user}{host}{port}{p.path}"
    except ValueError:
        return "<unparsable catalog URL>"


def reason(exc: BaseException) -> str:
    """One line out of a psycopg/pool error (the server's words where it gave any)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]


class Pg:
    """A psycopg 3 connection pool on one catalog database."""

    def __init__(self, url: str, *, max_size: int = 8, timeout: float = 10.0) -> None:
        import psycopg
        from psycopg_pool import ConnectionPool

        self.url = url
        self.where = redact(url)
        self.timeout = timeout
        try:  # one direct connection first: its error names the cause (the pool's would only time out)
            psycopg.connect(url, connect_timeout=int(timeout), autocommit=True).close()
        except (psycopg.Error, ValueError) as exc:
            raise CatalogUnavailableError(self.where, reason(exc)) from exc
        self.pool = ConnectionPool(
            url, min_size=1, max_size=max_size, open=False, name="ct-catalog",
            kwargs={"autocommit": True, "connect_timeout": int(timeout)}, check=self._check, reconnect_timeout=3600,
        )  # fmt: skip
        self._returned: dict[int, float] = {}  # id(connection) -> when it last went back to the pool
        self._mutex = threading.Lock()
        self._trouble = float("-inf")  # when the server last failed us: checkouts test their connection for a while after
        self.pool.open(wait=False)

    @contextmanager
    def conn(self) -> Iterator[Any]:
        """A pooled autocommit connection; server trouble -> CatalogUnavailableError."""
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            with self.pool.connection(timeout=self.timeout) as c:
                try:
                    yield c
                finally:
                    with self._mutex:
                        self._returned[id(c)] = time.monotonic()
        except PoolTimeout as exc:
            self._trouble = time.monotonic()
            raise CatalogUnavailableError(self.where, f"no connection within {self.timeout:.0f} s (server down?)") from exc
        except psycopg.OperationalError as exc:
            self._trouble = time.monotonic()
            raise CatalogUnavailableError(self.where, reason(exc)) from exc

    def _check(self, conn: Any) -> None:
        """The pool's check on checkout: a round trip only for a connection idle a while."""
        from psycopg_pool import ConnectionPool

        with self._mutex:
            returned = self._returned.get(id(conn))
        now = time.monotonic()
        # after a server failure (a restart kills every pooled connection) each checkout is tested, so
        # the pool swaps dead connections for new ones instead of handing them to a question
        if returned is None or now - returned > IDLE_CHECK_S or now - self._trouble < TROUBLE_CHECK_S:
            ConnectionPool.check_connection(conn)

    def connect(self) -> Any:
        """A connection of its own, outside the pool (a run's lease lives as long as it)."""
        import psycopg

        try:
            return psycopg.connect(self.url, connect_timeout=int(self.timeout), autocommit=True)
        except psycopg.Error as exc:
            raise CatalogUnavailableError(self.where, reason(exc)) from exc

    def close(self) -> None:
        self.pool.close()


def schema_version(conn: Any) -> int | None:
    """The highest applied migration, or None for a database the assistant never set up."""
    if conn.execute("SELECT to_regclass('schema_migrations')").fetchone()[0] is None:
        return None
    row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return int(row[0]) if row and row[0] is not None else None


def migrate(conn: Any) -> list[int]:
    """Apply the missing migrations (idempotent; concurrent callers wait on an advisory lock)."""
    applied: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
        done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
        for version, statements in MIGRATIONS:
            if version in done:
                continue
            for sql in statements:
                conn.execute(sql)
            conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
            applied.append(version)
    if applied:
        log.info("catalog schema migrated to version %d (applied %s)", SCHEMA_VERSION, applied)
    return applied
