"""An ingest host for the shared-catalog tests: ingest PATHS through the catalog and Chroma server
named by the CT_ASSISTANT_* environment, in small batches (many commits), so a kill -9 lands
inside the write protocol.

    python -m tests.store.pg_child STORE PATH...

Prints "start" when the ingest begins and "done <json report>" when it returns. With
CT_TEST_GO=FILE set it waits (model loaded) until FILE exists, so two hosts start together."""

from __future__ import annotations

import sys
import os
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    from assistant.api import Assistant
    from assistant.config import Settings, apply_offline_env
    from ingest.pipeline import Ingestor

    apply_offline_env()
    store, *paths = argv
    a = Assistant(Settings(store=Path(store)))
    a.embedder.embed(["warm"])  # model loaded before "start": a kill lands in the ingest itself
    print("start", flush=True)
    go = os.environ.get("CT_TEST_GO")
    while go and not os.path.exists(go):
        time.sleep(0.05)
    report = Ingestor(a.store(create=True), batch_chunks=3).ingest_paths([Path(p) for p in paths])
    print("done", report.model_dump_json(), flush=True)
    a.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
