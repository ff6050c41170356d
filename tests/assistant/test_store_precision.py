"""A store records the precision of its vectors; an `auto` embedder adopts it, an explicit other
precision is refused in one line (exit 2) and the store is left as it was; older stores are fp32."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from assistant.api import Assistant
from assistant.config import Settings
from assistant.encode.embed import Embedder
from tests.conftest import CORPUS, run_cli

QUESTION = "How much did the KP cabinet authorize for police equipment?"


def _meta(store: Path, key: str) -> str | None:
    with sqlite3.connect(store / "catalog.sqlite3") as db:
        row = db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
    return row[0] if row else None


def test_store_records_precision_and_refuses_another(tmp_path: Path) -> None:
    store = tmp_path / "store"
    a = Assistant(Settings(store=store, embed_precision="int8"), Embedder(precision="int8"))
    assert a.ingest([CORPUS]).documents == 2
    a.close()
    assert _meta(store, "embed_precision") == "int8"

    # auto adopts the store's precision, whatever the CPU would pick, and answers from it
    b = Assistant(Settings(store=store), Embedder())
    answer = b.ask(QUESTION)
    assert b.embedder.precision == "int8" and not answer.refused and "Rs567.7 million" in answer.answer
    b.close()

    # an explicit other precision: one line naming the setting and the store's precision, exit 2
    before = (store / "catalog.sqlite3").read_bytes()
    out = run_cli("ask", QUESTION, "--store", str(store), env={"CT_ASSISTANT_EMBED_PRECISION": "fp32"})
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "embed_precision='fp32'" in lines[0] and "made with int8" in lines[0], out.stderr
    assert (store / "catalog.sqlite3").read_bytes() == before


def test_a_store_without_recorded_precision_is_fp32(tmp_path: Path) -> None:
    store = tmp_path / "store"
    a = Assistant(Settings(store=store, embed_precision="fp32"), Embedder(precision="fp32"))
    a.ingest([CORPUS])
    a.close()
    with sqlite3.connect(store / "catalog.sqlite3") as db:  # as written before precisions were recorded
        db.execute("DELETE FROM meta WHERE key='embed_precision'")
    b = Assistant(Settings(store=store), Embedder(precision="auto"))
    b.store()
    assert b.embedder.precision == "fp32"
    b.close()
    out = run_cli("ask", QUESTION, "--store", str(store), env={"CT_ASSISTANT_EMBED_PRECISION": "int8"})
    assert out.returncode == 2 and "made with fp32" in out.stderr, out.stderr
