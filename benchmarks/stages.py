"""Per-stage latency of one question at a store size: embedding, HNSW, BM25 (snapshot and FTS5),
retrieval as a whole, and the extractive answer after retrieval. Prints p50/p95 per stage."""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks.common import Section, median, pct

STAGES = ("question embedding", "dense: Chroma HNSW (k=40) + best-sentence re-order", "BM25 snapshot (k=40)", "FTS5 BM25 (k=40, for comparison)", "retrieval total", "extractive answer after retrieval")


def run(work: Path, size: int, n_questions: int, warmup: int = 3) -> list[Section]:
    from assistant.api import Assistant
    from assistant.config import Settings
    from benchmarks import synth
    from benchmarks.query import questions

    a = Assistant(Settings(store=synth.build(work, size)))
    st = a.store()
    samples: dict[str, list[float]] = {k: [] for k in STAGES}
    for i, q in enumerate(questions(n_questions + warmup, offset=150)):
        a.embedder._query_cache.clear()
        t0 = time.perf_counter()
        v = a.embedder.embed_query(q)
        t1 = time.perf_counter()
        st.dense_search(v, 40, None)
        t2 = time.perf_counter()
        st.lexical.search(q, 40)
        t3 = time.perf_counter()
        st.catalog.lexical_search(q, 40)
        t4 = time.perf_counter()
        a.embedder._query_cache.clear()
        t5 = time.perf_counter()
        ctx = a._retriever().retrieve(q, a.settings.top_k)
        t6 = time.perf_counter()
        a._answer(q, ctx)
        t7 = time.perf_counter()
        if i >= warmup:
            for k, d in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t6 - t5, t7 - t6), strict=True):
                samples[k].append(d * 1000)
    a.close()
    s = Section(f"stages @ {size // 1000}k chunks")
    for k in STAGES:
        s.add(f"{k} p50", median(samples[k]), None, "ms", higher_is_better=False)
        s.add(f"{k} p95", pct(samples[k], 95), None, "ms", higher_is_better=False)
    s.info = samples
    return [s]
