"""Who may read a document: access groups, stored per document, checked in the store before ranking.

A document carries one or more groups (`all` = everyone; `analysts`, `user:alice`, ...). A reader
carries groups too: `None` = every document (the archive's owner running scripts), else a list
to which `all` always belongs. A reader sees a document when they share a group with it.

Where the groups live:
  - catalog (`documents.access`, a comma-joined sorted list; the source of truth). The catalog
    resolves which documents a reader may see (`visible_sql`), so lexical search, document
    lists, `document(id)` and citations only ever meet visible documents;
  - Chroma: each chunk's metadata holds `g:<group>: True` per group of its document, so dense
    search filters with a `where` clause before ranking (`chroma_where`). The catalog still
    re-checks every hit, so stale vector metadata (a crash mid-change) can hide a document for a
    while, never show one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from assistant.errors import InvalidGroupError

ALL = "all"
KEY = "g:"  # Chroma metadata key prefix: {"g:analysts": True}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@:+-]{0,99}$")


def parse_groups(value: str | Iterable[str] | None) -> list[str]:
    """"analysts, legal" or ["analysts"] -> sorted unique names; InvalidGroupError naming a bad one."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    out: set[str] = set()
    for raw in items:
        g = str(raw).strip()
        if not g:
            if isinstance(value, str) and value.strip():
                continue  # "a,,b" or a trailing comma
            raise InvalidGroupError(str(raw), "empty group name")
        if not _NAME.match(g):
            raise InvalidGroupError(g, "want letters, digits and . _ @ : + - (at most 100, starting with a letter or digit)")
        out.add(g)
    if not out:
        raise InvalidGroupError(str(value), "no group named")
    return sorted(out)


def reader_groups(groups: str | Iterable[str] | None) -> list[str] | None:
    """A reader's groups: None stays None (sees everything); otherwise the names plus `all`."""
    if groups is None:
        return None
    items = [str(g).strip() for g in (groups.split(",") if isinstance(groups, str) else groups)]
    items = [g for g in items if g]
    return sorted(set(parse_groups(items)) | {ALL}) if items else [ALL]


def to_column(groups: Iterable[str]) -> str:
    return ",".join(sorted(set(groups))) or ALL


def from_column(value: str | None) -> list[str]:
    return [g for g in (value or ALL).split(",") if g] or [ALL]


def can_read(doc_groups: Iterable[str], reader: Iterable[str] | None) -> bool:
    return reader is None or bool(set(doc_groups) & (set(reader) | {ALL}))


def visible_sql(reader: list[str] | None, column: str = "access") -> tuple[str, list[str]]:
    """An SQL condition (and its arguments) true for the rows of documents the reader may see."""
    if reader is None:
        return "1", []
    groups = sorted(set(reader) | {ALL})
    cond = " OR ".join(f"instr(',' || {column} || ',', ?) > 0" for _ in groups)
    return f"({cond})", [f",{g}," for g in groups]


def chroma_meta(groups: Iterable[str]) -> dict[str, bool]:
    return {KEY + g: True for g in groups}


def replace_groups(meta: Mapping[str, Any] | None, groups: Iterable[str]) -> dict[str, Any]:
    """A chunk's metadata with its group keys replaced (None deletes a key in a Chroma update)."""
    out: dict[str, Any] = {k: (None if k.startswith(KEY) else v) for k, v in (meta or {}).items()}
    out.update(chroma_meta(groups))
    return out


def chroma_where(reader: list[str]) -> dict[str, Any]:
    """The Chroma `where` clause a reader's dense search runs with."""
    terms = [{KEY + g: True} for g in sorted(set(reader) | {ALL})]
    return terms[0] if len(terms) == 1 else {"$or": terms}
