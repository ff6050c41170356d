"""Staff feedback on answers (helpful / not helpful, optional comment), for evaluators.

Each row keeps what was asked, what was answered and the citations shown, so evaluators can
export it (`ct-assistant feedback export`) and turn complaints into eval cases.

One interface, `Feedback` (add, rows, exists, export), two places, chosen by `open_feedback(settings)`
(the chat's `Viewers` and the export command call it):
  - `FeedbackStore`: a SQLite file, `<store>/feedback.sqlite3` or `feedback_db` (one host). Safe
    for several threads: every call opens its own short-lived connection (WAL mode);
  - `PostgresFeedback`: with `catalog_url` (and no `feedback_db`), the `feedback` table of the
    shared catalog (`assistant.store.pg_feedback`), so feedback given on any host is exported from any host.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import IO, Any, Literal

from assistant.errors import ConfigError, InvalidFilterError
from assistant.store.pg_feedback import COLUMNS, FeedbackTable

log = logging.getLogger(__name__)

Rating = Literal["helpful", "not_helpful"]
RATINGS: tuple[str, ...] = ("helpful", "not_helpful")
FORMATS: tuple[str, ...] = ("jsonl", "csv")
MAX_COMMENT_CHARS = 4000
# COLUMNS (export order; the same in the SQLite file and the PostgreSQL table): assistant.store.pg_feedback

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    session_id TEXT NOT NULL DEFAULT '',
    rating TEXT NOT NULL CHECK (rating IN ('helpful', 'not_helpful')),
    comment TEXT NOT NULL DEFAULT '',
    question TEXT NOT NULL,
    standalone_question TEXT,
    answer TEXT NOT NULL,
    refused INTEGER NOT NULL DEFAULT 0,
    mode TEXT NOT NULL DEFAULT '',
    citations TEXT NOT NULL DEFAULT '[]',
    filters TEXT NOT NULL DEFAULT '{}'
)
"""


def default_path(settings: Any) -> Path:
    """`settings.feedback_db`, or `<store>/feedback.sqlite3`."""
    return Path(settings.feedback_db) if settings.feedback_db else Path(settings.store) / "feedback.sqlite3"


def open_feedback(settings: Any) -> Feedback:
    """Where this deployment keeps feedback: an explicit `feedback_db` file; else, with a shared
    catalog, its PostgreSQL table; else `<store>/feedback.sqlite3`. Opening connects to nothing."""
    if settings.feedback_db is None and settings.catalog_url is not None:
        return PostgresFeedback(settings.catalog_url.get_secret_value())
    return FeedbackStore(default_path(settings))


class Feedback:
    """The interface: validation and export here; a backend stores (`_insert`) and reads (`rows`)."""

    kind = "feedback"  # what a missing one is called: "no <kind> at <where>"
    where = ""

    def _insert(self, row: dict[str, Any]) -> int:
        raise NotImplementedError

    def rows(self) -> list[dict[str, Any]]:
        """All feedback, oldest first, with `citations`/`filters` decoded and `refused` a bool."""
        raise NotImplementedError

    def exists(self) -> bool:
        """Whether any feedback was ever stored here (the file, the table)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections (a no-op for the SQLite file)."""

    def add(
        self,
        *,
        rating: str,
        question: str,
        answer: str,
        citations: Sequence[Mapping[str, Any]] = (),
        comment: str = "",
        standalone_question: str | None = None,
        refused: bool = False,
        mode: str = "",
        filters: Mapping[str, Any] | None = None,
        session_id: str = "",
    ) -> int:
        """Store one rating; returns its row id."""
        if rating not in RATINGS:
            raise InvalidFilterError("rating", rating, f"want one of {', '.join(RATINGS)}")
        row = {
            "session_id": session_id,
            "rating": rating,
            "comment": (comment or "").strip()[:MAX_COMMENT_CHARS],
            "question": question,
            "standalone_question": standalone_question,
            "answer": answer,
            "refused": bool(refused),
            "mode": mode,
            "citations": list(citations),
            "filters": dict(filters or {}),
        }
        rowid = self._insert(row)
        log.info("feedback %d stored (%s)", rowid, rating)
        return rowid

    def count(self) -> int:
        return len(self.rows())

    def export(self, out: str | Path | IO[str], fmt: str = "jsonl", visible: set[str] | None = None) -> int:
        """Write all feedback to a path or text stream as JSON lines or CSV; returns the row count.

        In CSV, `citations` and `filters` are JSON strings. `visible`: the document ids the
        exporter may see (issue 21); a row citing or filtering on any other document is left out.
        """
        if fmt not in FORMATS:
            raise InvalidFilterError("format", fmt, f"want one of {', '.join(FORMATS)}")
        rows = self.rows()
        if visible is not None:
            rows = [r for r in rows if {c.get("doc_id") for c in r["citations"]} | set(r["filters"].get("doc_ids", [])) <= visible]
        if isinstance(out, (str, Path)):
            with open(out, "w", encoding="utf-8", newline="") as fh:
                _write(rows, fh, fmt)
        else:
            _write(rows, out, fmt)
        return len(rows)

    def export_text(self, fmt: str = "jsonl") -> str:
        buf = io.StringIO()
        self.export(buf, fmt)
        return buf.getvalue()


class FeedbackStore(Feedback):
    """Feedback in a SQLite file (one host)."""

    kind = "feedback file"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.where = str(self.path)
        self._init_lock = threading.Lock()
        self._ready = False

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with self._init_lock:
            if not self._ready:
                try:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise ConfigError("feedback_db", str(self.path), f"cannot create its folder: {exc}") from exc
        try:
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        except sqlite3.Error as exc:
            raise ConfigError("feedback_db", str(self.path), str(exc)) from exc
        with closing(conn):
            with self._init_lock:
                if not self._ready:
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.execute(_SCHEMA)
                    self._ready = True
            yield conn

    def _insert(self, row: dict[str, Any]) -> int:
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        encoded = {
            **row,
            "refused": int(row["refused"]),
            "citations": json.dumps(row["citations"], ensure_ascii=False),
            "filters": json.dumps(row["filters"], ensure_ascii=False),
        }
        values = [now, *(encoded[k] for k in COLUMNS[2:])]
        with self._connect() as conn:
            cur = conn.execute(f"INSERT INTO feedback ({', '.join(COLUMNS[1:])}) VALUES ({', '.join(['?'] * (len(COLUMNS) - 1))})", values)
            return int(cur.lastrowid or 0)

    def rows(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self._connect() as conn:
            cur = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM feedback ORDER BY id")
            out = []
            for values in cur.fetchall():
                d = dict(zip(COLUMNS, values, strict=True))
                d["refused"] = bool(d["refused"])
                d["citations"] = json.loads(d["citations"] or "[]")
                d["filters"] = json.loads(d["filters"] or "{}")
                out.append(d)
            return out

    def exists(self) -> bool:
        return self.path.exists()


class PostgresFeedback(Feedback):
    """Feedback in the shared catalog's `feedback` table: every host writes and exports the same rows."""

    kind = "feedback table"

    def __init__(self, url: str) -> None:
        self.table = FeedbackTable(url)
        self.where = self.table.where  # the URL without its password

    def _insert(self, row: dict[str, Any]) -> int:
        return self.table.add(row)

    def rows(self) -> list[dict[str, Any]]:
        return self.table.rows()

    def exists(self) -> bool:
        return self.table.exists()

    def close(self) -> None:
        self.table.close()


def _write(rows: list[dict[str, Any]], fh: IO[str], fmt: str) -> None:
    if fmt == "jsonl":
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        return
    writer = csv.DictWriter(fh, fieldnames=list(COLUMNS))
    writer.writeheader()
    for r in rows:
        writer.writerow({**r, "citations": json.dumps(r["citations"], ensure_ascii=False), "filters": json.dumps(r["filters"], ensure_ascii=False)})
