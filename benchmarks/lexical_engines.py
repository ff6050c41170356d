"""`bench lexical`: should a kept BM25 engine (`bm25s`, the one under LlamaIndex's BM25 retriever)
replace `assistant/store/bm25.py`? Same rows, same terms (`assistant.text.lexical.terms`: what the
catalog stores), same questions, interleaved:

  * SciFact nDCG@10, BM25 alone, over all 5,183 abstracts (one row per abstract, title included);
  * build time and question p50/p95 at the SciFact size and at 100k rows (rows mixed from the
    abstracts' terms, seeded), `top 40` as retrieval asks for.

Table columns: project = bm25.py, baseline = bm25s (method "robertson": the same idf and
k1/b as bm25.py; "lucene", bm25s's default, in `info`).
"""

from __future__ import annotations

import random
import time
from typing import Any

import numpy as np

from benchmarks.common import Section, load_corpus, load_queries, median, ndcg_at_10, pct


class _Rows:
    """The two methods `bm25.build` reads from a shared catalog, over rows held in memory."""

    shared = True

    def __init__(self, rows: list[tuple[int, str]]) -> None:
        self.rows = rows

    def lexical_rows(self) -> tuple[int, list[tuple[int, str]]]:
        return 0, self.rows


def _ours(rows: list[list[str]]) -> tuple[float, Any]:
    from assistant.store import bm25

    t = time.perf_counter()
    snap = bm25.build(_Rows([(i, " ".join(r)) for i, r in enumerate(rows)]))  # type: ignore[arg-type]
    return time.perf_counter() - t, lambda q, k: [i for i, _ in snap.top(q, k)]


def _bm25s(rows: list[list[str]], method: str) -> tuple[float, Any]:
    import bm25s

    t = time.perf_counter()
    r = bm25s.BM25(k1=1.2, b=0.75, method=method)
    r.index(rows, show_progress=False)
    vocab = r.vocab_dict

    def top(q: list[str], k: int) -> list[int]:
        q = [t for t in q if t in vocab]  # bm25s refuses unknown terms
        if not q:
            return []
        docs, scores = r.retrieve([q], k=min(k, len(rows)), show_progress=False, n_threads=1)
        return [int(d) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    return time.perf_counter() - t, top


def run(n_big: int = 100000, n_questions: int = 200) -> list[Section]:
    from assistant.text.lexical import terms

    corpus = load_corpus()
    rows = [terms(d.text) for d in corpus]
    ids = [f"scifact-{d.sid}" for d in corpus]
    queries = list(load_queries().values())
    engines = {"ours": lambda r: _ours(r), "robertson": lambda r: _bm25s(r, "robertson"), "lucene": lambda r: _bm25s(r, "lucene")}
    built = {name: make(rows) for name, make in engines.items()}
    nd: dict[str, list[float]] = {n: [] for n in engines}
    lat: dict[str, list[float]] = {n: [] for n in engines}
    for claim, rel in queries:
        q = sorted(set(terms(claim)))
        for name, (_, top) in built.items():
            t = time.perf_counter()
            got = top(q, 40)
            lat[name].append((time.perf_counter() - t) * 1000)
            nd[name].append(ndcg_at_10([ids[i] for i in got], {f"scifact-{r}" for r in rel}))
    # 100k rows: each mixes the terms of 2-3 abstracts' halves (seeded), for build time and latency
    rng = random.Random(7)
    big = [sum((rows[j][: len(rows[j]) // 2] for j in rng.sample(range(len(rows)), rng.choice((2, 3)))), []) for _ in range(n_big)]
    built_big = {name: make(big) for name, make in engines.items()}
    lat_big: dict[str, list[float]] = {n: [] for n in engines}
    for claim, _ in queries[:n_questions]:
        q = sorted(set(terms(claim)))
        for name, (_, top) in built_big.items():
            t = time.perf_counter()
            top(q, 40)
            lat_big[name].append((time.perf_counter() - t) * 1000)
    s = Section("lexical engine (bm25.py vs bm25s)")
    s.info = {
        "rows": len(rows), "queries": len(queries), "ndcg10": {n: float(np.mean(v)) for n, v in nd.items()},
        "p50_ms": {n: median(v) for n, v in lat.items()}, "p50_ms_100k": {n: median(v) for n, v in lat_big.items()},
        "build_s": {n: b[0] for n, b in built.items()}, "build_s_100k": {n: b[0] for n, b in built_big.items()},
    }  # fmt: skip
    s.add("SciFact nDCG@10, BM25 alone", float(np.mean(nd["ours"])), float(np.mean(nd["robertson"])), "")
    s.add(f"query p50 @ {len(rows)} rows", median(lat["ours"]), median(lat["robertson"]), "ms", higher_is_better=False)
    s.add(f"query p50 @ {n_big // 1000}k rows", median(lat_big["ours"]), median(lat_big["robertson"]), "ms", higher_is_better=False)
    s.add(f"query p95 @ {n_big // 1000}k rows", pct(lat_big["ours"], 95), pct(lat_big["robertson"], 95), "ms", higher_is_better=False)
    s.add(f"build @ {n_big // 1000}k rows", built_big["ours"][0], built_big["robertson"][0], "s", higher_is_better=False)
    return [s]
