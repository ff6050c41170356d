"""Measurements in child processes: peak RSS at 100k chunks, cold start of `ct-assistant ask`,
and query latency against a `chroma run` server vs the local PersistentClient.

Peak RSS is the child's own high-water mark, `VmHWM` in /proc/self/status at its end. Not
`ru_maxrss`: Linux carries the forking parent's high-water mark across `execve` into the child's
`ru_maxrss` (measured: every child reported the 1.6 GB of the benchmark parent).
"""

from __future__ import annotations

import json
import logging
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, Section, median, pct, scifact_subset
from benchmarks.servers import chroma_server

log = logging.getLogger(__name__)

COLD_QUESTION = "Does vitamin D deficiency increase the risk of multiple sclerosis?"


def _env() -> dict[str, str]:
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    return env


def child(task: str, **kw: Any) -> dict[str, Any]:
    """Run `python -m benchmarks _child TASK` and return its JSON result (with maxrss_mb)."""
    cmd = [sys.executable, "-m", "benchmarks", "_child", task, "--args", json.dumps(kw, default=str)]
    p = subprocess.run(cmd, capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=7200)
    if p.returncode != 0:
        raise RuntimeError(f"child {task} failed: {p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def _maxrss_mb() -> float:
    """This process image's peak RSS in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# --- child tasks (run inside the child process) --------------------------------------------
def task_build(work: str, n: int, **_: Any) -> dict[str, Any]:
    from benchmarks import synth

    existed = (Path(work) / f"synth-{n}" / "catalog.sqlite3").exists()
    t = time.perf_counter()
    synth.build(Path(work), int(n))
    return {"seconds": time.perf_counter() - t, "reused": existed}


def task_ingest(store: str, n_docs: int = 50, **_: Any) -> dict[str, Any]:
    """Real ingest (torch MiniLM) of n SciFact abstracts into a big store, then removed again."""
    from assistant.api import Assistant
    from assistant.config import Settings
    from benchmarks.ingest import project_docs

    docs, _ = scifact_subset(None)
    pdocs = project_docs(docs[-n_docs:])
    a = Assistant(Settings(store=Path(store)))
    t = time.perf_counter()
    rep = a.ingest_documents(pdocs)
    dt = time.perf_counter() - t
    st = a.store()
    st.begin_write()
    st.remove_documents([d.doc_id for d in pdocs])
    st.end_write()
    a.close()
    return {"seconds": dt, "chunks_embedded": rep.embedded, "store_chunks": rep.chunks}


def task_query(store: str, n: int = 20, **_: Any) -> dict[str, Any]:
    from assistant.api import Assistant
    from assistant.config import Settings
    from benchmarks.query import questions

    a = Assistant(Settings(store=Path(store)))
    t = time.perf_counter()
    for q in questions(n):
        a.ask(q)
    return {"seconds": time.perf_counter() - t}


def task_baseline_query(store: str, n: int = 20, **_: Any) -> dict[str, Any]:
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    from assistant.api import Assistant
    from assistant.config import Settings
    from assistant.encode.embed import minilm_path
    from benchmarks.query import _li_retriever, questions

    a = Assistant(Settings(store=Path(store)))
    r = _li_retriever(a.store().vectors.collection, HuggingFaceEmbedding(model_name=str(minilm_path())))
    t = time.perf_counter()
    for q in questions(n):
        r.retrieve(q)
    return {"seconds": time.perf_counter() - t}


def task_baseline_ask(store: str, question: str, **_: Any) -> dict[str, Any]:
    """The LlamaIndex-defaults equivalent of `ask` (no LLM): open the index, retrieve, print the top passage."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from llama_index.core import VectorStoreIndex
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from assistant.encode.embed import minilm_path

    client = chromadb.PersistentClient(path=str(Path(store) / "chroma"), settings=ChromaSettings(anonymized_telemetry=False))
    index = VectorStoreIndex.from_vector_store(
        ChromaVectorStore(chroma_collection=client.get_collection("ct_chunks")), embed_model=HuggingFaceEmbedding(model_name=str(minilm_path()))
    )
    nodes = index.as_retriever(similarity_top_k=5).retrieve(question)
    print(nodes[0].node.get_content()[:200] if nodes else "(nothing)", flush=True)
    return {}


TASKS = {
    "build": task_build,
    "ingest": task_ingest,
    "query": task_query,
    "baseline_query": task_baseline_query,
    "baseline_ask": task_baseline_ask,
}


def run_child(task: str, args_json: str) -> int:
    logging.basicConfig(level=logging.WARNING)
    out = TASKS[task](**json.loads(args_json))
    out["maxrss_mb"] = _maxrss_mb()
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


# --- benchmarks (parent side) ---------------------------------------------------------------
def rss(work: Path, n: int, n_questions: int = 20) -> list[Section]:
    store = work / f"synth-{n}"
    built = child("build", work=str(work), n=n)
    ing = child("ingest", store=str(store), n_docs=50)
    q = child("query", store=str(store), n=n_questions)
    bq = child("baseline_query", store=str(store), n=n_questions)
    s = Section("memory")
    s.info = {"build": built, "ingest": ing, "query": q, "baseline_query": bq}
    label = f"{n // 1000}k chunks"
    s.add(f"peak RSS, writing a {label} store (catalog + Chroma)", built["maxrss_mb"], None, "MB", "<= 2 GB", built["maxrss_mb"] <= 2048, higher_is_better=False,
          note="store reused, not rebuilt: see docs" if built["reused"] else "")
    s.add(f"peak RSS, ingest (real MiniLM) into {label}", ing["maxrss_mb"], None, "MB", "<= 2 GB", ing["maxrss_mb"] <= 2048, higher_is_better=False)
    s.add(f"peak RSS, {n_questions} questions @ {label}", q["maxrss_mb"], bq["maxrss_mb"], "MB", "<= 2 GB", q["maxrss_mb"] <= 2048, higher_is_better=False,
          note="baseline: retrieval only")
    return [s]


def _first_line_seconds(cmd: list[str]) -> tuple[float, str]:
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=ROOT)
    assert p.stdout is not None
    line = p.stdout.readline()
    dt = time.perf_counter() - t
    rest, err = p.communicate(timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[:4]} failed: {err[-2000:]}")
    return dt, line.strip()


def cold_start(work: Path, n: int, runs: int) -> list[Section]:
    from benchmarks import synth

    store = synth.build(work, n)
    ours = [sys.executable, "-m", "assistant", "ask", COLD_QUESTION, "--store", str(store)]
    theirs = [sys.executable, "-m", "benchmarks", "_child", "baseline_ask", "--args", json.dumps({"store": str(store), "question": COLD_QUESTION})]
    _first_line_seconds(ours)  # warm the disk cache
    _first_line_seconds(theirs)
    tp, tb = [], []
    first = ""
    for _ in range(runs):
        dt, first = _first_line_seconds(ours)
        tp.append(dt)
        tb.append(_first_line_seconds(theirs)[0])
    s = Section("cold start")
    s.info = {"project_s": tp, "baseline_s": tb, "store_chunks": n, "first_line": first[:200]}
    s.add(f"`ask` start to first printed answer ({n // 1000}k chunks)", median(tp), median(tb), "s", "<= 4 s", median(tp) <= 4, higher_is_better=False,
          note=f"median of {runs}; p95 {pct(tp, 95):.2f}s")
    return [s]


# --- Chroma server --------------------------------------------------------------------------
def server(work: Path, n: int, n_questions: int, warmup: int = 3) -> list[Section]:
    from assistant.api import Assistant
    from assistant.config import Settings
    from benchmarks import synth
    from benchmarks.query import questions

    local_store = synth.build(work, n)
    s = Section("chroma server")
    with chroma_server(work / f"chroma-server-{n}") as (host, port):
        remote_store = synth.build(work, n, chroma_host=host, chroma_port=port, store=work / f"synth-{n}-server")
        local = Assistant(Settings(store=local_store))
        remote = Assistant(Settings(store=remote_store, chroma_host=host, chroma_port=port), local.embedder)
        lat: dict[str, list[float]] = {"local_retrieve": [], "server_retrieve": [], "local_answer": [], "server_answer": []}
        for i, q in enumerate(questions(n_questions + warmup, offset=100)):
            row = {}
            # alternate who goes first; both start with empty query and sentence caches (shared embedder)
            for name, a in (("local", local), ("server", remote)) if i % 2 else (("server", remote), ("local", local)):
                local.embedder._query_cache.clear()
                local.embedder._sentence_cache.clear()
                t = time.perf_counter()
                a.retrieve(q)
                row[f"{name}_retrieve"] = (time.perf_counter() - t) * 1000
                local.embedder._query_cache.clear()
                t = time.perf_counter()
                a.ask(q)
                row[f"{name}_answer"] = (time.perf_counter() - t) * 1000
            if i >= warmup:
                for k, v in row.items():
                    lat[k].append(v)
        local.close()
        remote.close()
    s.info = lat
    label = f"{n // 1000}k chunks"
    # "baseline" column here = the local PersistentClient; ratio < 1 means the server is slower
    s.add(f"retrieval p50 @ {label}, server vs local", median(lat["server_retrieve"]), median(lat["local_retrieve"]), "ms", higher_is_better=False, note="baseline column = local PersistentClient")
    s.add(f"retrieval p95 @ {label}, server vs local", pct(lat["server_retrieve"], 95), pct(lat["local_retrieve"], 95), "ms", higher_is_better=False, note="baseline column = local PersistentClient")
    s.add(f"answer p50 @ {label}, server vs local (no cache)", median(lat["server_answer"]), median(lat["local_answer"]), "ms", higher_is_better=False, note="baseline column = local PersistentClient")
    return [s]
