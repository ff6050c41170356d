"""Web-UI feedback in the shared catalog database (`catalog_url`; table `feedback`, schema version 3).

With a shared catalog every host's ratings land in one table, so `ct-assistant feedback export`
on any host reads what staff gave on all of them. This module only stores and reads rows;
`assistant.ui.feedback` validates them, picks this table or the host's SQLite file, and exports.

The pool (two connections) is opened at first use, so building the chat does not depend on it,
and a database that is down when feedback is given or exported is a `CatalogUnavailableError`
naming the server (one line), as for the catalog itself. Giving feedback on a database still at
an older schema applies the missing migrations first (`pg_schema.migrate`); reading never does.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from assistant.errors import CatalogUnavailableError
from assistant.store.pg_schema import SCHEMA_VERSION, Pg, migrate, reason, redact, schema_version

#: the table's columns, in export order (the same as the SQLite feedback file's)
COLUMNS = (
    "id", "created_at", "session_id", "rating", "comment", "question", "standalone_question",
    "answer", "refused", "mode", "citations", "filters",
)  # fmt: skip
_WRITTEN = COLUMNS[2:]  # id and created_at come from the server
_JSON = {"citations", "filters"}


class FeedbackTable:
    def __init__(self, url: str) -> None:
        self.url = url
        self.where = redact(url)
        self._pg: Pg | None = None
        self._lock = threading.Lock()
        self._migrated = False

    @contextmanager
    def _conn(self) -> Iterator[Any]:
        import psycopg

        with self._lock:
            if self._pg is None:
                self._pg = Pg(self.url, max_size=2)  # CatalogUnavailableError when the server is down
        try:
            with self._pg.conn() as c:
                yield c
        except psycopg.Error as exc:  # not a lost connection (Pg.conn maps those): a refused write, no privilege, ...
            raise CatalogUnavailableError(self.where, reason(exc)) from exc

    def exists(self) -> bool:
        """Whether the database has the feedback table (schema version 3 or later)."""
        with self._conn() as c:
            return c.execute("SELECT to_regclass('feedback')").fetchone()[0] is not None

    def add(self, row: Mapping[str, Any]) -> int:
        """Insert one row (the columns of `_WRITTEN`); returns its id."""
        from psycopg.types.json import Json

        values = [Json(row[k]) if k in _JSON else _text(row[k]) for k in _WRITTEN]
        with self._conn() as c:
            if not self._migrated:
                if (schema_version(c) or 0) < SCHEMA_VERSION:
                    migrate(c)
                self._migrated = True
            sql = f"INSERT INTO feedback ({', '.join(_WRITTEN)}) VALUES ({', '.join(['%s'] * len(_WRITTEN))}) RETURNING id"
            return int(c.execute(sql, values).fetchone()[0])

    def rows(self) -> list[dict[str, Any]]:
        """All rows, oldest first; `created_at` as ISO 8601 UTC text, as the SQLite file has it."""
        with self._conn() as c:
            if c.execute("SELECT to_regclass('feedback')").fetchone()[0] is None:
                return []
            found = c.execute(f"SELECT {', '.join(COLUMNS)} FROM feedback ORDER BY id").fetchall()
        out = []
        for values in found:
            d = dict(zip(COLUMNS, values, strict=True))
            d["created_at"] = d["created_at"].astimezone(dt.UTC).isoformat(timespec="seconds")
            out.append(d)
        return out

    def close(self) -> None:
        with self._lock:
            if self._pg is not None:
                self._pg.close()
                self._pg = None


def _text(value: Any) -> Any:
    """PostgreSQL text cannot hold NUL: a comment pasted with one loses it rather than the row."""
    return value.replace("\x00", "") if isinstance(value, str) else value
