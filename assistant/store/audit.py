"""The audit log: one JSON line per question, upload and ingest, appended to a file (`settings.audit_log`).

A line: {"time": ISO-8601 UTC, "kind": "question" | "ingest" | "upload", "user": name or null, ...}.
A question line holds the question (and its standalone rewrite), the cited document ids and
whether it was refused; the answer text only when `settings.audit_answers` asks for it
(questions and answers are the users' data). Lines are appended under an exclusive `flock`, one
`write` each, so several threads and processes never interleave half lines. `ct-assistant
audit` exports the log (`read_events`); a damaged line is skipped and counted, never fatal.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError

log = logging.getLogger(__name__)


def write_event(path: Path, kind: str, user: str | None, fields: Mapping[str, Any]) -> None:
    """Append one event. A log that cannot be written is a ConfigError naming the file: a
    question must not be answered without its audit line."""
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    line = json.dumps({"time": now, "kind": kind, "user": user, **fields}, ensure_ascii=False, default=str) + "\n"
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)  # closing releases the lock
    except OSError as exc:
        raise ConfigError("audit_log", str(path), f"cannot append: {exc.strerror or exc}") from exc


def read_events(path: Path, *, kind: str | None = None, user: str | None = None, since: str | None = None) -> Iterator[dict[str, Any]]:
    """The events in the log, oldest first, optionally only of one kind, one user, from an ISO time on."""
    try:
        fh = open(path, encoding="utf-8")
    except OSError as exc:
        raise ConfigError("audit_log", str(path), f"cannot read: {exc.strerror or exc}") from exc
    bad = 0
    with fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except ValueError:
                bad += 1
                continue
            if not isinstance(event, dict):
                bad += 1
                continue
            if (kind and event.get("kind") != kind) or (user and event.get("user") != user):
                continue
            if since and str(event.get("time", "")) < since:
                continue
            yield event
    if bad:
        log.warning("audit log %s: skipped %d damaged lines", path, bad)
