"""Query latency at 1k/10k/100k chunks: project retrieval and full extractive answer vs the
LlamaIndex default retriever (`VectorStoreIndex.from_vector_store(ChromaVectorStore(...))
.as_retriever(similarity_top_k=5)`) over the very same Chroma collection, interleaved per question.

Every timed question is new to the process (no query-vector cache hit); the extractive
answer's sentence cache is whatever earlier questions left in it, as in a long-running server.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from benchmarks.common import Section, load_queries, median, pct

log = logging.getLogger(__name__)


def questions(n: int, offset: int = 0) -> list[str]:
    qs = [c for c, _ in load_queries().values()]
    return qs[offset : offset + n]


def _li_retriever(collection: Any, embed_model: Any) -> Any:
    from llama_index.core import VectorStoreIndex
    from llama_index.vector_stores.chroma import ChromaVectorStore

    return VectorStoreIndex.from_vector_store(ChromaVectorStore(chroma_collection=collection), embed_model=embed_model).as_retriever(similarity_top_k=5)


def latency(store: Path, n_questions: int, *, baseline: bool = True, chroma_host: str | None = None, chroma_port: int = 8000, warmup: int = 3) -> dict[str, list[float]]:
    from assistant.api import Assistant
    from assistant.config import Settings

    a = Assistant(Settings(store=store, chroma_host=chroma_host, chroma_port=chroma_port))
    # the answer as shipped (the span reader) beside the heuristic scorer, same store and question
    h = Assistant(Settings(store=store, chroma_host=chroma_host, chroma_port=chroma_port, answer_scorer="heuristic"), a.embedder)
    li = None
    if baseline:
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding

        from assistant.encode.embed import minilm_path

        li = _li_retriever(a.store().vectors.collection, HuggingFaceEmbedding(model_name=str(minilm_path())))
    out: dict[str, list[float]] = {"retrieve": [], "answer": [], "answer_heuristic": [], "baseline_retrieve": []}
    qs = questions(n_questions + warmup)
    for i, q in enumerate(qs):
        t = time.perf_counter()
        a.retrieve(q)
        t_r = time.perf_counter() - t
        a.embedder._query_cache.clear()  # the answer embeds the question again, as `ask` alone would
        t = time.perf_counter()
        a.ask(q)
        t_a = time.perf_counter() - t
        a.embedder._query_cache.clear()
        t = time.perf_counter()
        h.ask(q)
        t_h = time.perf_counter() - t
        t_b = None
        if li is not None:
            t = time.perf_counter()
            li.retrieve(q)
            t_b = time.perf_counter() - t
        if i >= warmup:
            out["retrieve"].append(t_r * 1000)
            out["answer"].append(t_a * 1000)
            out["answer_heuristic"].append(t_h * 1000)
            if t_b is not None:
                out["baseline_retrieve"].append(t_b * 1000)
    h.close()
    a.close()
    return out


def run(work: Path, sizes: list[int], n_questions: int) -> list[Section]:
    from benchmarks import synth

    s = Section("query")
    for n in sizes:
        store = synth.build(work, n)
        lat = latency(store, n_questions)
        s.info[str(n)] = lat
        last = n == max(sizes)
        label = f"{n // 1000}k chunks"
        s.add(f"retrieval p50 @ {label}", median(lat["retrieve"]), median(lat["baseline_retrieve"]), "ms", "<= 50 ms @100k" if last else "", (median(lat["retrieve"]) <= 50) if last else None, higher_is_better=False)
        s.add(f"retrieval p95 @ {label}", pct(lat["retrieve"], 95), pct(lat["baseline_retrieve"], 95), "ms", higher_is_better=False)
        # baseline column: the heuristic scorer on the same questions (the reader is the default)
        s.add(f"extractive answer p50 @ {label} (reader; baseline: heuristic scorer)", median(lat["answer"]), median(lat["answer_heuristic"]), "ms", "<= 150 ms @100k" if last else "", (median(lat["answer"]) <= 150) if last else None, higher_is_better=False)
        s.add(f"extractive answer p95 @ {label} (reader; baseline: heuristic scorer)", pct(lat["answer"], 95), pct(lat["answer_heuristic"], 95), "ms", higher_is_better=False)
    return [s]
