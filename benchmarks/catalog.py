"""`bench catalog`: the shared catalog (PostgreSQL, `catalog_url`) against the SQLite catalog, in
one run, on the same documents. Both sides use the same `chroma run` server (a collection each),
so what differs is the catalog alone. PostgreSQL is a throwaway Debian cluster on loopback
(`benchmarks.pgserver`, fsync off: the figures are the catalog's CPU and round trips, not disk).

  * ingest: the same SciFact abstracts in interleaved slices (SQLite slice 1, PostgreSQL slice 1,
    ...), so load changes on a shared machine hit both alike: documents/s; SciFact nDCG@10 of
    hybrid retrieval from each (the lexical half is the BM25 snapshot on both sides);
  * ask: at each size a synthetic store per catalog (`benchmarks.synth`: real SciFact chunks and
    MiniLM vectors), the same new questions interleaved: retrieval and extractive answer p50/p95.

Table columns: project = PostgreSQL, baseline = SQLite (ratio > 1: PostgreSQL is better).
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

import numpy as np

from benchmarks.common import Section, median, ndcg_at_10, pct, scifact_subset

log = logging.getLogger(__name__)


def run(work: Path, n_docs: int | None, sizes: list[int], n_questions: int, slices: int = 4) -> list[Section]:
    from benchmarks.pgserver import PgCluster
    from benchmarks.servers import chroma_server

    root = work / "catalog"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    pg = PgCluster(root / "pg").start()
    try:
        with chroma_server(root / "chroma", timeout=120) as (host, port):
            sections = [] if n_docs == 0 else [_ingest(root, work, n_docs, slices, pg, host, port)]  # --docs 0: ask only
            if sizes:
                sections.append(_ask(root, work, sizes, n_questions, pg, host, port))
    finally:
        pg.destroy()
    return sections


def _settings(store: Path, host: str, port: int, collection: str, url: str | None):  # type: ignore[no-untyped-def]
    from assistant.config import Settings

    return Settings(store=store, chroma_host=host, chroma_port=port, collection=collection, catalog_url=url)  # type: ignore[arg-type]


def _ingest(root: Path, work: Path, n_docs: int | None, slices: int, pg, host: str, port: int) -> Section:  # type: ignore[no-untyped-def]
    from assistant.api import Assistant
    from assistant.retrieve.hybrid import HybridRetriever
    from benchmarks.ingest import CACHE_NAME, cache_real_chunks, project_docs

    docs, queries = scifact_subset(n_docs)
    pdocs = project_docs(docs)
    lite = Assistant(_settings(root / "sqlite", host, port, "ingest_sqlite", None))
    shared = Assistant(_settings(root / "pg-host", host, port, "ingest_pg", pg.url), lite.embedder)
    lite.embedder.embed(["warm up"] * 16)
    bounds = np.linspace(0, len(pdocs), slices + 1).astype(int)
    t_lite, t_pg = [], []
    for i in range(slices):
        part = pdocs[bounds[i] : bounds[i + 1]]
        for a, times in ((lite, t_lite), (shared, t_pg)):
            t = time.perf_counter()
            a.ingest_documents(part)
            times.append(time.perf_counter() - t)
        log.warning("slice %d/%d: sqlite %.1fs postgresql %.1fs", i + 1, slices, t_lite[-1], t_pg[-1])
    nd: dict[str, list[float]] = {"sqlite": [], "pg": []}
    for name, a in (("sqlite", lite), ("pg", shared)):
        retr = HybridRetriever(a.store(), candidates=a.settings.candidates, rrf_k=a.settings.rrf_k)
        for claim, rel in queries.values():
            nd[name].append(ndcg_at_10([c.doc_id for c in retr.retrieve(claim, 40)], {f"scifact-{r}" for r in rel}))
    if not (work / CACHE_NAME).exists():  # the seed of the synthetic stores of `_ask`
        cache_real_chunks(lite, work / CACHE_NAME)
    counts = {"sqlite": lite.store().catalog.counts(), "pg": shared.store().catalog.counts()}
    lite.close()
    shared.close()
    s = Section("catalog ingest (PostgreSQL vs SQLite)")
    s.info = {"docs": len(docs), "queries": len(queries), "counts": counts, "slices_s": {"sqlite": t_lite, "pg": t_pg}}
    dps_pg, dps_lite = len(docs) / sum(t_pg), len(docs) / sum(t_lite)
    s.add("documents/s", dps_pg, dps_lite, "docs/s", ">= 0.7x SQLite", dps_pg >= 0.7 * dps_lite)
    h_pg, h_lite = float(np.mean(nd["pg"])), float(np.mean(nd["sqlite"]))
    s.add("SciFact nDCG@10 hybrid", h_pg, h_lite, "", "within 0.005", abs(h_pg - h_lite) <= 0.005)
    return s


def _ask(root: Path, work: Path, sizes: list[int], n_questions: int, pg, host: str, port: int) -> Section:  # type: ignore[no-untyped-def]
    import psycopg

    from assistant.api import Assistant
    from benchmarks import synth
    from benchmarks.query import questions

    s = Section("catalog ask (PostgreSQL vs SQLite)")
    for n in sizes:
        db = f"synth_{n}"
        with psycopg.connect(pg.url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {db}")
        url = pg.url.rsplit("/", 1)[0] + f"/{db}"
        t = time.perf_counter()
        synth.build(work, n, store=root / f"synth-sqlite-{n}", settings=_settings(root / f"synth-sqlite-{n}", host, port, f"synth_sqlite_{n}", None))
        build_lite = time.perf_counter() - t
        t = time.perf_counter()
        synth.build(work, n, store=root / f"synth-pg-{n}", settings=_settings(root / f"synth-pg-{n}", host, port, f"synth_pg_{n}", url))
        build_pg = time.perf_counter() - t
        lite = Assistant(_settings(root / f"synth-sqlite-{n}", host, port, f"synth_sqlite_{n}", None))
        shared = Assistant(_settings(root / f"synth-pg-{n}", host, port, f"synth_pg_{n}", url), lite.embedder)
        lat: dict[str, list[float]] = {k: [] for k in ("retrieve_sqlite", "retrieve_pg", "answer_sqlite", "answer_pg")}
        warmup = 3
        for i, q in enumerate(questions(n_questions + warmup)):
            for name, a in (("sqlite", lite), ("pg", shared)) if i % 2 == 0 else (("pg", shared), ("sqlite", lite)):
                a.embedder._query_cache.clear()  # every question new to both
                t = time.perf_counter()
                a.retrieve(q)
                t_r = time.perf_counter() - t
                a.embedder._query_cache.clear()
                t = time.perf_counter()
                a.ask(q)
                t_a = time.perf_counter() - t
                if i >= warmup:
                    lat[f"retrieve_{name}"].append(t_r * 1000)
                    lat[f"answer_{name}"].append(t_a * 1000)
        lite.close()
        shared.close()
        s.info[str(n)] = {**lat, "build_s": {"sqlite": build_lite, "pg": build_pg}}
        label = f"{n // 1000}k chunks"
        p50_pg, p50_lite = median(lat["retrieve_pg"]), median(lat["retrieve_sqlite"])
        s.add(f"retrieval p50 @ {label}", p50_pg, p50_lite, "ms", "<= 1.5x SQLite @100k" if n >= 100000 else "", (p50_pg <= 1.5 * p50_lite) if n >= 100000 else None, higher_is_better=False)
        s.add(f"retrieval p95 @ {label}", pct(lat["retrieve_pg"], 95), pct(lat["retrieve_sqlite"], 95), "ms", higher_is_better=False)
        s.add(f"ask (extractive) p50 @ {label}", median(lat["answer_pg"]), median(lat["answer_sqlite"]), "ms", higher_is_better=False)
        s.add(f"ask (extractive) p95 @ {label}", pct(lat["answer_pg"], 95), pct(lat["answer_sqlite"], 95), "ms", higher_is_better=False)
    return s
