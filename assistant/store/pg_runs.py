"""Per-run leases for concurrent writers on a shared catalog (replaces the single `dirty` flag).

A write run inserts a row in `ingest_runs` and takes the advisory lock (RUN_LOCKS, run_id) on a
connection of its own, held until `finish()`. A process killed with -9 loses its connection, so
PostgreSQL frees the lock at once: a row with `finished_at` NULL whose lock can be taken is a
killed run. The next writer on any host repairs it with `Store.reconcile()` and marks it
`outcome = 'repaired'`. Before upserting vectors into Chroma a run records their chunk ids in
`run_chunks` (`pending`); reconcile never deletes the pending vectors of a live run (upserted,
not yet committed to the catalog), so two hosts may ingest at the same time and either may
repair a third that died. `heartbeat_at` is refreshed at every batch, for operators to read.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Sequence
from typing import Any

from assistant.store.pg_schema import RUN_LOCKS, Pg

log = logging.getLogger(__name__)


class RunLeases:
    def __init__(self, pg: Pg) -> None:
        self.pg = pg
        self.run_id: int | None = None
        self._conn: Any = None
        self._dead: list[int] = []
        self._lock = threading.Lock()

    def _killed(self) -> list[int]:
        """Unfinished runs whose lease is free (their process is gone)."""
        dead = []
        with self.pg.conn() as c:
            for (run_id,) in c.execute("SELECT run_id FROM ingest_runs WHERE finished_at IS NULL ORDER BY run_id").fetchall():
                if run_id == self.run_id:
                    continue
                if c.execute("SELECT pg_try_advisory_lock(%s, %s)", (RUN_LOCKS, run_id)).fetchone()[0]:
                    c.execute("SELECT pg_advisory_unlock(%s, %s)", (RUN_LOCKS, run_id))
                    dead.append(run_id)
        return dead

    def unfinished(self) -> bool:
        self._dead = self._killed()
        if self._dead:
            log.warning("ingest runs %s did not finish (process killed); repairing", self._dead)
        return bool(self._dead)

    def repaired(self) -> None:
        if not self._dead:
            return
        with self.pg.conn() as c, c.transaction():
            c.execute("UPDATE ingest_runs SET finished_at = now(), outcome = 'repaired' WHERE run_id = ANY(%s)", (self._dead,))
            c.execute("DELETE FROM run_chunks WHERE run_id = ANY(%s)", (self._dead,))
        self._dead = []

    def start(self) -> None:
        with self._lock:
            if self.run_id is not None:
                return
            conn = self.pg.connect()
            run_id = conn.execute(
                "INSERT INTO ingest_runs (host, pid) VALUES (%s, %s) RETURNING run_id", (socket.gethostname(), os.getpid())
            ).fetchone()[0]
            conn.execute("SELECT pg_advisory_lock(%s, %s)", (RUN_LOCKS, run_id))
            self._conn, self.run_id = conn, int(run_id)
            log.info("ingest run %d started", self.run_id)

    def finish(self) -> None:
        with self._lock:
            if self.run_id is None:
                return
            run_id, conn = self.run_id, self._conn
            with self.pg.conn() as c, c.transaction():
                c.execute("UPDATE ingest_runs SET finished_at = now(), heartbeat_at = now(), outcome = 'done' WHERE run_id=%s", (run_id,))
                c.execute("DELETE FROM run_chunks WHERE run_id=%s", (run_id,))
            self.run_id, self._conn = None, None
            try:
                conn.close()  # frees the lease
            except Exception as exc:  # noqa: BLE001 - the lease dies with the connection either way
                log.debug("closing run %d's connection: %s", run_id, exc)

    def pending(self, chunk_ids: Sequence[str]) -> None:
        if self.run_id is None or not chunk_ids:
            return
        with self.pg.conn() as c, c.transaction():
            c.execute("UPDATE ingest_runs SET heartbeat_at = now() WHERE run_id=%s", (self.run_id,))
            c.cursor().executemany(
                "INSERT INTO run_chunks (run_id, chunk_id) VALUES (%s, %s) ON CONFLICT DO NOTHING", [(self.run_id, cid) for cid in set(chunk_ids)]
            )

    def protected(self) -> set[str]:
        """Chunk ids pending in other runs that are still live. Not this process's own: reconcile
        runs at the start of a write, when none of its batches is in flight (pending ids of its
        own left by a batch that failed are orphans like any other)."""
        dead = set(self._killed())
        rows = self.pg_rows("SELECT r.run_id, r.chunk_id FROM run_chunks r JOIN ingest_runs i USING (run_id) WHERE i.finished_at IS NULL")
        return {cid for run_id, cid in rows if run_id not in dead and run_id != self.run_id}

    def pg_rows(self, sql: str) -> list[tuple[Any, ...]]:
        with self.pg.conn() as c:
            return c.execute(sql).fetchall()

    def close(self) -> None:
        """Leave a started run unfinished (the process is going away: the next writer repairs it)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
