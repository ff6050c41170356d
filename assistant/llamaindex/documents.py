"""A `llama_index.core.Document` (a reader's output) as our `Document`.

Read by duck typing (`.text`/`.get_content()`, `.metadata`, `.id_`): this module does not import
llama_index. Metadata mapped: `file_path` (else `file_name`, else the node id) -> `source`;
`page_label` -> `#page=<label>` on the source (a PDF reader gives one Document per page, each
its own document here) and ` (page <label>)` on the title; `title` -> title (else the file
name's stem); `date` (ISO date, or a date/datetime) -> date. `doc_id` is the slug of the stem,
plus the page, plus 8 hex of the source's SHA-1 (stable across runs, unique per source). Text is
taken as given; the caller (`Assistant.ingest_documents`) normalises it and sets the content hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import PurePath
from typing import Any

from assistant.errors import ReadError
from assistant.types import Document


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_.-]+", "-", text.lower()).strip("-.")[:48] or "doc"


def _date(value: Any, where: str) -> str | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    s = str(value).strip()
    try:
        dt.date.fromisoformat(s[:10])
    except ValueError:
        raise ReadError(where, f"metadata date {s!r} is not an ISO date (YYYY-MM-DD)") from None
    if len(s) > 10 and s[10] not in "T ":
        raise ReadError(where, f"metadata date {s!r} is not an ISO date (YYYY-MM-DD)")
    return s[:10]


def from_llamaindex(doc: Any) -> Document:
    meta: dict[str, Any] = dict(getattr(doc, "metadata", None) or {})
    node_id = str(getattr(doc, "id_", "") or getattr(doc, "doc_id", "") or "")
    path = str(meta.get("file_path") or meta.get("file_name") or "")
    source = path or f"llamaindex:{node_id}"
    text = doc.get_content() if hasattr(doc, "get_content") else getattr(doc, "text", "")
    if not isinstance(text, str) or not text.strip():
        raise ReadError(source, "LlamaIndex document has no text")
    page = meta.get("page_label")
    page = str(page).strip() if page not in (None, "") else None
    if page:
        source = f"{source}#page={page}"
    stem = PurePath(path).stem if path else (node_id or "doc")
    title = str(meta.get("title") or "").strip() or (PurePath(path).stem.replace("_", " ") if path else stem)
    if page:
        title = f"{title} (page {page})"
    suffix = hashlib.sha1(source.encode()).hexdigest()[:8]
    doc_id = f"{_slug(stem)}{'-p' + _slug(page) if page else ''}-{suffix}"
    return Document(doc_id=doc_id, source=source, title=title, date=_date(meta.get("date"), source), text=text)
