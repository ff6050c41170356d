"""Beyond one process: two assistant processes share a `chroma run` server (vectors) and one store
directory (the SQLite catalog: texts, chunks, BM25). A document ingested through process A is
answerable from process B. See docs/deployment.md.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from benchmarks.servers import running
from tests.conftest import ROOT, free_port, run_cli

pytestmark = pytest.mark.slow

FACT = (
    "The Provincial Counter-Terrorism Fusion Cell was established in Quetta in March 2021.\n\n"
    "The annual budget of the Provincial Counter-Terrorism Fusion Cell is Rs412.5 million, which funds forty-two analysts. "
    "The cell reports weekly to the provincial home department."
)
QUESTION = "What is the annual budget of the Provincial Counter-Terrorism Fusion Cell?"


def _flags(store: Path, host: str, port: int) -> list[str]:
    return ["--store", str(store), "--chroma-host", host, "--chroma-port", str(port)]


def test_ingest_in_process_a_answer_in_process_b(chroma_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    host, port = chroma_server
    store = tmp_path / "shared-store"
    docs = tmp_path / "incoming"
    docs.mkdir()
    (docs / "fusion_cell.txt").write_text(FACT)

    # process A ingests
    a = run_cli("ingest", str(docs), *_flags(store, host, port), "--json", timeout=300)
    assert a.returncode == 0, a.stderr
    report = json.loads(a.stdout)
    assert report["added"] == 1 and report["chunks"] >= 1

    # the vectors are on the server, the catalog in the shared store dir (WAL mode)
    assert not (store / "chroma").exists()
    assert (store / "catalog.sqlite3").exists()
    import chromadb

    client = chromadb.HttpClient(host=host, port=port)
    assert client.get_collection("ct_chunks").count() == report["chunks"]

    # process B (a different interpreter) answers, citing the exact passage
    b = run_cli("ask", QUESTION, *_flags(store, host, port), "--json", timeout=300)
    assert b.returncode == 0, b.stderr
    ans = json.loads(b.stdout)
    assert not ans["refused"], ans
    assert "Rs412.5 million" in ans["answer"]
    cit = ans["citations"][0]
    assert FACT[cit["start"] : cit["end"]] == cit["quote"]

    # process B lists the document process A added; a second ingest from B embeds nothing
    listed = run_cli("docs", "list", *_flags(store, host, port), "--json", timeout=120)
    assert [d["doc_id"] for d in json.loads(listed.stdout)] == ["fusion_cell"]
    again = run_cli("ingest", str(docs), *_flags(store, host, port), "--json", timeout=300)
    assert json.loads(again.stdout)["embedded"] == 0


def _serve_available() -> bool:
    return run_cli("serve", "--help", timeout=120).returncode == 0


def test_serve_answers_what_another_process_ingested(chroma_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`ct-assistant serve` (process B, long-running) sees documents ingested later by process A."""
    assert _serve_available()
    import gradio_client
    host, port = chroma_server
    store = tmp_path / "shared-store"
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "seed.txt").write_text("The archive holds counter-terrorism policy documents.")
    assert run_cli("ingest", str(seed), *_flags(store, host, port), timeout=300).returncode == 0

    ui_port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GRADIO_ANALYTICS_ENABLED": "False"}
    cmd = [sys.executable, "-m", "assistant", "serve", *_flags(store, host, port), "--port", str(ui_port)]
    with running(cmd, log_path=tmp_path / "serve.log", port=ui_port, env=env, cwd=ROOT, timeout=120):
        docs = tmp_path / "incoming"
        docs.mkdir()
        (docs / "fusion_cell.txt").write_text(FACT)
        assert run_cli("ingest", str(docs), *_flags(store, host, port), timeout=300).returncode == 0
        client = gradio_client.Client(f"http://127.0.0.1:{ui_port}/", verbose=False)
        ans = client.predict(QUESTION, None, None, api_name="/ask")
        ans = json.loads(ans) if isinstance(ans, str) else ans
        assert not ans["refused"] and "Rs412.5 million" in ans["answer"]
