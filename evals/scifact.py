"""BEIR SciFact retrieval benchmark through the project's own ingest and retrieval.

    python -m evals scifact --data ../shared/benchmarks/scifact [--limit N] [--json]

* Corpus: `corpus_train.csv` (5,183 abstracts; `abstract` is the repr of a numpy array of
  sentence strings). Each abstract becomes a `Document(doc_id="scifact-<id>")` whose text is
  the title, a blank line, then the sentences joined by spaces; it is ingested with
  `Assistant.ingest_documents` (sentence-aware chunking + MiniLM embeddings + FTS5), into a
  store that is reused across runs (ingest is idempotent: unchanged documents are skipped).
* Queries and relevance: `claims_validation.csv`, 300 claims, `cited_doc_ids` = qrels (339
  pairs, all relevance 1) - the BEIR SciFact test set.
* Search: the project's retriever (`assistant.retrieve.HybridRetriever`, the code behind
  `Assistant.retrieve`) in modes `dense`, `lexical` (reported as `bm25`) and `hybrid` (RRF of
  the two), with `Settings(candidates=400)` so each retriever contributes 400 chunks. An
  abstract is 2-3 chunks (200 word pieces, 1 sentence overlap), so 100 chunks hold only ~60
  distinct documents: we take the top 400 chunks (`Assistant.retrieve` caps `top_k` at 100,
  hence the retriever class) and aggregate chunk hits to documents by their best rank (max
  score), cutting the document ranking at 100. The question goes through the same checks
  as `Assistant.retrieve` (`Assistant._check`).
* Metrics: nDCG@10 (binary gains, BEIR/pytrec_eval definition) and Recall@100, averaged over
  queries.

`--limit N` (CI-sized): the first N queries, and a corpus restricted to their relevant
documents plus a fixed random sample (seed 13) of other documents; numbers from such a run
are NOT comparable with the published ones (the corpus is much smaller).
"""

from __future__ import annotations

import ast
import csv
import hashlib
import logging
import math
import random
import re
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.api import Assistant
    from assistant.types import Context, Document

log = logging.getLogger(__name__)

#: published nDCG@10 on BEIR SciFact (test), for the side-by-side table
PUBLISHED = {"BM25 (BEIR)": 0.665, "BM25 + cross-encoder (BEIR)": 0.688}
MODES = {"dense": "dense", "bm25": "lexical", "hybrid": "hybrid"}
CANDIDATES = 400
DEPTH = 100
CHUNK_DEPTH = 400
SEED = 13

_STRING = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


class SciFactError(ValueError):
    """The benchmark files are missing or malformed."""


@dataclass(frozen=True)
class Query:
    qid: str
    text: str
    relevant: frozenset[str]  # "scifact-<id>" document ids


@dataclass
class SciFactData:
    documents: list[Document]
    queries: list[Query]
    corpus_docs: int  # documents in the full corpus file


@dataclass
class SciFactResult:
    ndcg10: dict[str, float]
    recall100: dict[str, float]
    per_query: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, per_query: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ndcg@10": {k: round(v, 4) for k, v in self.ndcg10.items()},
            "recall@100": {k: round(v, 4) for k, v in self.recall100.items()},
            "published_ndcg@10": PUBLISHED,
            "meta": self.meta,
        }
        if per_query:
            out["per_query"] = self.per_query
        return out


# --- data -------------------------------------------------------------------------------
def parse_sentences(abstract: str) -> list[str]:
    """The `abstract` column: repr of a list/array of strings (no commas between items)."""
    return [s.strip() for s in (ast.literal_eval(m) for m in _STRING.findall(abstract)) if s.strip()]


def _doc_id(raw: str) -> str:
    return f"scifact-{raw.strip()}"


def load(data_dir: Path, limit: int | None = None, distractors: int | None = None) -> SciFactData:
    """Read the corpus and the queries; with `limit`, the first N queries and a reduced corpus."""
    from assistant.types import Document
    from ingest.pipeline import content_hash

    corpus_path, claims_path = data_dir / "corpus_train.csv", data_dir / "claims_validation.csv"
    for p in (corpus_path, claims_path):
        if not p.is_file():
            raise SciFactError(f"{p}: not found (want the SciFact folder with corpus_train.csv and claims_validation.csv)")
    csv.field_size_limit(1 << 30)
    queries: dict[str, tuple[str, set[str]]] = {}
    with claims_path.open(encoding="utf-8", newline="") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            try:
                qid, claim, cited = row["id"].strip(), row["claim"].strip(), row["cited_doc_ids"]
            except KeyError as exc:
                raise SciFactError(f"{claims_path}:{line}: missing column {exc}") from exc
            entry = queries.setdefault(qid, (claim, set()))
            entry[1].update(_doc_id(d) for d in re.findall(r"\d+", cited or ""))
    qs = [Query(qid, text, frozenset(rel)) for qid, (text, rel) in queries.items() if rel]
    docs: list[Document] = []
    with corpus_path.open(encoding="utf-8", newline="") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            try:
                sentences = parse_sentences(row["abstract"])
                title = " ".join(row["title"].split())
                doc_id = _doc_id(row["doc_id"])
            except (KeyError, ValueError, SyntaxError) as exc:
                raise SciFactError(f"{corpus_path}:{line}: cannot parse row: {exc}") from exc
            text = f"{title}\n\n{' '.join(sentences)}" if title else " ".join(sentences)
            if not text.strip():
                continue
            docs.append(
                Document(doc_id=doc_id, source=f"scifact:{doc_id}", title=title or doc_id, text=text, content_hash=content_hash(text, title, None))
            )
    n_corpus = len(docs)
    if limit is not None:
        qs = qs[:limit]
        wanted = set().union(*(q.relevant for q in qs)) if qs else set()
        others = [d for d in docs if d.doc_id not in wanted]
        k = min(len(others), distractors if distractors is not None else max(100, 20 * limit))
        keep = wanted | {d.doc_id for d in random.Random(SEED).sample(others, k)}
        docs = [d for d in docs if d.doc_id in keep]
    return SciFactData(documents=docs, queries=qs, corpus_docs=n_corpus)


def default_store(data: SciFactData, limit: int | None) -> Path:
    """A store under the temp dir, keyed by the corpus (full and --limit runs never share one)."""
    key = hashlib.sha256("\n".join(sorted(d.doc_id for d in data.documents)).encode()).hexdigest()[:10]
    name = "full" if limit is None else f"limit{limit}-{key}"
    return Path(tempfile.gettempdir()) / "ct-assistant-scifact" / name


# --- metrics (pure) --------------------------------------------------------------------
def doc_ranking(contexts: Iterable[Context], depth: int = DEPTH) -> list[str]:
    """Chunk hits -> documents, each at the rank of its best chunk (max aggregation)."""
    seen: dict[str, None] = {}
    for c in contexts:
        seen.setdefault(c.doc_id, None)
        if len(seen) == depth:
            break
    return list(seen)


def ndcg_at(ranking: Sequence[str], relevant: Iterable[str], k: int = 10) -> float:
    rel = set(relevant)
    if not rel:
        return 0.0
    dcg = sum(1.0 / math.log2(i + 2) for i, d in enumerate(ranking[:k]) if d in rel)
    idcg = sum(1.0 / math.log2(i + 2) for i in range(min(len(rel), k)))
    return dcg / idcg


def recall_at(ranking: Sequence[str], relevant: Iterable[str], k: int = 100) -> float:
    rel = set(relevant)
    return len(rel & set(ranking[:k])) / len(rel) if rel else 0.0


# --- run -----------------------------------------------------------------------------------
def open_assistant(store: Path, embedder: Any = None) -> Assistant:
    from assistant.api import Assistant
    from assistant.config import Settings

    settings = Settings(store=store, candidates=CANDIDATES)
    return Assistant(settings, embedder) if embedder is not None else Assistant.open(settings=settings)


def retrieve_chunks(a: Assistant, question: str, mode: str) -> list[Context]:
    """Top CHUNK_DEPTH chunks for `question` from the project's hybrid retriever in `mode`."""
    from assistant.retrieve.hybrid import HybridRetriever

    q, filters = a._check(question, None)
    retriever = HybridRetriever(a.store(), candidates=a.settings.candidates, rrf_k=a.settings.rrf_k)
    return retriever.retrieve(q, CHUNK_DEPTH, filters, mode)  # type: ignore[arg-type]


def run(
    data_dir: Path,
    *,
    store: Path | None = None,
    limit: int | None = None,
    distractors: int | None = None,
    embedder: Any = None,
    show_progress: bool = False,
    modes: Sequence[str] = tuple(MODES),
) -> SciFactResult:
    from tqdm import tqdm

    data = load(Path(data_dir), limit=limit, distractors=distractors)
    store = Path(store) if store else default_store(data, limit)
    a = open_assistant(store, embedder)
    try:
        t0 = time.perf_counter()
        report = a.ingest_documents(data.documents, show_progress=show_progress)
        ingest_s = time.perf_counter() - t0
        if report.documents != len(data.documents):
            log.warning(
                "store %s holds %d documents, the benchmark corpus has %d: numbers are not comparable (use a fresh --store)",
                store, report.documents, len(data.documents),
            )
        ndcg: dict[str, float] = {}
        recall: dict[str, float] = {}
        per_query: dict[str, list[dict[str, Any]]] = {}
        depth_docs: dict[str, float] = {}
        timing: dict[str, float] = {}
        for name in modes:
            mode = MODES[name]
            rows: list[dict[str, Any]] = []
            t1 = time.perf_counter()
            for q in tqdm(data.queries, desc=f"scifact {name}", unit="q", disable=not show_progress):
                ranking = doc_ranking(retrieve_chunks(a, q.text, mode))
                rows.append(
                    {"qid": q.qid, "ndcg@10": ndcg_at(ranking, q.relevant), "recall@100": recall_at(ranking, q.relevant), "docs": len(ranking)}
                )
            timing[name] = round((time.perf_counter() - t1) * 1000 / max(1, len(rows)), 1)
            n = max(1, len(rows))
            ndcg[name] = sum(r["ndcg@10"] for r in rows) / n
            recall[name] = sum(r["recall@100"] for r in rows) / n
            depth_docs[name] = round(sum(r["docs"] for r in rows) / n, 1)
            per_query[name] = rows
        meta = {
            "queries": len(data.queries),
            "qrels": sum(len(q.relevant) for q in data.queries),
            "corpus_docs": len(data.documents),
            "full_corpus_docs": data.corpus_docs,
            "limit": limit,
            "store": str(store),
            "store_chunks": report.chunks,
            "embedded_this_run": report.embedded,
            "ingest_seconds": round(ingest_s, 1),
            "ms_per_query": timing,
            "mean_docs_ranked": depth_docs,
            "embedding_model": a.embedder.name,
            "settings_fingerprint": a.settings.fingerprint(),
            "candidates": a.settings.candidates,
        }
        return SciFactResult(ndcg10=ndcg, recall100=recall, per_query=per_query, meta=meta)
    finally:
        a.close()


def format_table(result: SciFactResult) -> str:
    lines = [
        "| system | nDCG@10 | Recall@100 |",
        "|---|---|---|",
    ]
    for name in result.ndcg10:
        label = {"dense": "dense (all-MiniLM-L6-v2, this project)", "bm25": "BM25 (stemmed terms, FTS5 formula, this project)", "hybrid": "hybrid RRF (this project)"}[name]
        lines.append(f"| {label} | {result.ndcg10[name]:.3f} | {result.recall100[name]:.3f} |")
    for label, v in PUBLISHED.items():
        lines.append(f"| {label}, published | {v:.3f} | - |")
    m = result.meta
    lines.append("")
    lines.append(f"{m['queries']} queries, {m['qrels']} relevant pairs, {m['corpus_docs']} documents ({m['store_chunks']} chunks)"
                 + (f"; --limit {m['limit']}: reduced corpus, not comparable with published numbers" if m.get("limit") else ""))
    return "\n".join(lines)
