"""A writer for the fault suite: ingest PATHS into STORE in small batches (many commits), so a
kill -9 at a random moment lands inside the write protocol, not only before or after it.

    python -m tests.faults.ingest_child STORE PATH... [--prune]

Prints "start" when ingest begins and "done <seconds>" when it returns."""

from __future__ import annotations

import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    from assistant.api import Assistant
    from assistant.config import Settings, apply_offline_env
    from ingest.pipeline import Ingestor

    apply_offline_env()
    prune = "--prune" in argv
    store, *paths = [a for a in argv if a != "--prune"]
    a = Assistant(Settings(store=Path(store)))
    a.embedder.embed(["warm"])  # model loaded before "start": kill points fall in the ingest itself
    print("start", flush=True)
    t0 = time.perf_counter()
    Ingestor(a.store(create=True), batch_chunks=3).ingest_paths([Path(p) for p in paths], prune=prune)
    print(f"done {time.perf_counter() - t0:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
