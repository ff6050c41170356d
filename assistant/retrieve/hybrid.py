"""Hybrid retrieval: dense (Chroma, MiniLM) + lexical (BM25: numpy snapshot, FTS5 fallback), fused by RRF.

Filters (doc ids, sources, dates) and the reader's access groups are resolved once in the
catalog to a set of doc ids that both retrievers honour; dense search also filters on the
groups in Chroma (`where`), before ranking, and every hit is re-checked against the catalog. Vectors whose chunk the catalog does not hold (left by a crashed
ingest) are dropped here, so answers only ever cite catalogued text.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

from assistant.store.store import Store
from assistant.types import Context, Filters

log = logging.getLogger(__name__)

Mode = Literal["hybrid", "dense", "lexical"]


def rrf(rankings: Sequence[Sequence[str]], k: int = 60) -> list[tuple[str, float]]:
    """Reciprocal rank fusion: score(d) = sum over rankings of 1 / (k + rank(d)), rank from 1."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


class HybridRetriever:
    def __init__(self, store: Store, *, candidates: int = 40, rrf_k: int = 60, groups: list[str] | None = None) -> None:
        self.store = store
        self.groups = groups  # the reader's access groups (None: every document)
        self.candidates = candidates
        self.rrf_k = rrf_k

    def retrieve(self, question: str, top_k: int, filters: Filters | None = None, mode: Mode = "hybrid") -> list[Context]:
        f = filters or Filters()
        doc_ids = self.store.catalog.resolve_filters(f, self.groups)
        # no filter but the groups, and vectors that carry them: Chroma's `where` alone (no id list)
        dense_ids = None if f.is_empty() and self.groups is not None and self.store.groups_synced() else doc_ids
        k = max(self.candidates, top_k)
        dense: list[tuple[str, float]] = []
        lexical: list[tuple[str, float]] = []
        if mode in ("hybrid", "dense"):
            dense = self.store.dense_search(self.store.embedder.embed_query(question), k, dense_ids, self.groups)
        if mode in ("hybrid", "lexical"):
            lexical = self.store.lexical.search(question, k, doc_ids)
        if mode == "dense":
            ranked = dense
        elif mode == "lexical":
            ranked = lexical
        else:
            ranked = rrf([[c for c, _ in dense], [c for c, _ in lexical]], self.rrf_k)
        # resolve more than top_k ids: some may be orphans the catalog does not hold
        head = [cid for cid, _ in ranked[: top_k * 2 + 5]]
        chunks = self.store.catalog.chunks(head)
        docs = self.store.catalog.documents_by_ids({c.doc_id for c in chunks.values()}, self.groups)
        dense_rank = {cid: (i, s) for i, (cid, s) in enumerate(dense, start=1)}
        lex_rank = {cid: (i, s) for i, (cid, s) in enumerate(lexical, start=1)}
        out: list[Context] = []
        for cid, score in ranked[: top_k * 2 + 5]:
            chunk = chunks.get(cid)
            if chunk is None or chunk.doc_id not in docs:  # an orphan vector, or a document the reader may not see
                log.debug("dropping vector %s: not in catalog", cid)
                continue
            doc = docs[chunk.doc_id]
            first_page = next(iter(doc.pages_of(chunk.start, chunk.end)), None)
            out.append(
                Context(
                    chunk_id=cid,
                    doc_id=chunk.doc_id,
                    score=score,
                    text=chunk.text,
                    start=chunk.start,
                    end=chunk.end,
                    source=doc.source,
                    title=doc.title,
                    date=doc.date,
                    dense_rank=dense_rank.get(cid, (None, None))[0],
                    dense_score=dense_rank.get(cid, (None, None))[1],
                    lexical_rank=lex_rank.get(cid, (None, None))[0],
                    page=first_page.n if first_page else None,
                    page_label=first_page.label if first_page else None,
                )
            )
            if len(out) == top_k:
                break
        return out
