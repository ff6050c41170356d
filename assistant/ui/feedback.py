"""Staff feedback on answers (helpful / not helpful, optional comment) in a local SQLite file.

Each row keeps what was asked, what was answered and the citations shown, so evaluators can
export the file (`ct-assistant feedback export`) and turn complaints into eval cases.
Safe for several threads: every call opens its own short-lived connection (WAL mode).
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

log = logging.getLogger(__name__)

Rating = Literal["helpful", "not_helpful"]
RATINGS: tuple[str, ...] = ("helpful", "not_helpful")
FORMATS: tuple[str, ...] = ("jsonl", "csv")
MAX_COMMENT_CHARS = 4000

COLUMNS = (
    "id",
    "created_at",
    "session_id",
    "rating",
    "comment",
    "question",
    "standalone_question",
    "answer",
    "refused",
    "mode",
    "citations",
    "filters",
)

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


class FeedbackStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._init_lock = threading.Lock()
        self._ready = False

    @classmethod
    def for_settings(cls, settings: Any) -> FeedbackStore:
        return cls(default_path(settings))

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
        comment = (comment or "").strip()[:MAX_COMMENT_CHARS]
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        row = (
            now,
            session_id,
            rating,
            comment,
            question,
            standalone_question,
            answer,
            int(bool(refused)),
            mode,
            json.dumps(list(citations), ensure_ascii=False),
            json.dumps(dict(filters or {}), ensure_ascii=False),
        )
        with self._connect() as conn:
            cur = conn.execute(
                "INSERT INTO feedback (created_at, session_id, rating, comment, question, standalone_question, answer, "
                "refused, mode, citations, filters) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            rowid = int(cur.lastrowid or 0)
        log.info("feedback %d stored (%s)", rowid, rating)
        return rowid

    def rows(self) -> list[dict[str, Any]]:
        """All feedback, oldest first, with `citations`/`filters` decoded and `refused` a bool."""
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


def _write(rows: list[dict[str, Any]], fh: IO[str], fmt: str) -> None:
    if fmt == "jsonl":
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        return
    writer = csv.DictWriter(fh, fieldnames=list(COLUMNS))
    writer.writeheader()
    for r in rows:
        writer.writerow({**r, "citations": json.dumps(r["citations"], ensure_ascii=False), "filters": json.dumps(r["filters"], ensure_ascii=False)})
