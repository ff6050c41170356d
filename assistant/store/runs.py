"""Write-run bookkeeping: what tells the next writer that a run was killed and must be repaired.

`Store` drives one object of this interface through its write protocol:
  `unfinished()`  a killed run left work behind (-> `Store.reconcile()`, then `repaired()`);
  `start()` / `finish()`  around a write run (idempotent);
  `pending(ids)`  chunk vectors this run is about to upsert before its catalog commit;
  `protected()`  vectors of live runs that reconcile must not take for orphans.

`DirtyFlag` is the single-host form (the SQLite catalog's `meta.dirty`: one writer at a time);
`assistant.store.pg_runs.RunLeases` is the shared one (a row and an advisory lock per run).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Runs(Protocol):
    def unfinished(self) -> bool: ...
    def repaired(self) -> None: ...
    def start(self) -> None: ...
    def finish(self) -> None: ...
    def pending(self, chunk_ids: Sequence[str]) -> None: ...
    def protected(self) -> set[str]: ...


class _Meta(Protocol):
    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...


class DirtyFlag:
    """`meta.dirty = 1` from the start of a run to its end: one writer at a time."""

    def __init__(self, catalog: _Meta) -> None:
        self.catalog = catalog

    def unfinished(self) -> bool:
        return self.catalog.get_meta("dirty") == "1"

    def repaired(self) -> None:
        """Nothing to record: `start()` sets the flag again and `finish()` clears it."""

    def start(self) -> None:
        self.catalog.set_meta("dirty", "1")

    def finish(self) -> None:
        self.catalog.set_meta("dirty", "0")

    def pending(self, chunk_ids: Sequence[str]) -> None:
        """Nothing to record: no other run is live while this one holds the flag."""

    def protected(self) -> set[str]:
        return set()
