"""LlamaIndex's `RetrieverEvaluator` on `Assistant.as_retriever()`, beside our own retrieval metrics.

    python -m evals.llamaindex_retrieval --store data/store [--set evals/datasets/ct_editorials.jsonl]

For every answerable question of a set, the *expected ids* LlamaIndex needs are the store's
chunks that find a gold evidence passage by our definition (`evals.metrics.found`: same document,
and the evidence text inside the chunk or the chunk covering at least half of its span). The
retriever returns the same top 10 `eval run` scores (`Assistant.retrieve(question, top_k=10)`),
so LlamaIndex's `hit_rate` must equal our share of questions with a gold passage in the top 10
(`hit@10`), and its `mrr` our `mrr`. Its `recall` is per chunk id (share of the expected chunks
retrieved), ours per gold passage (`recall@10`): a passage that two overlapping chunks both
contain counts once for us, twice for LlamaIndex; docs/llamaindex.md explains the numbers.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals import metrics as M
from evals.dataset import load_dataset
from evals.runner import RETRIEVAL_K, _Docs, gold_spans

if TYPE_CHECKING:
    from assistant import Assistant

DEFAULT_SET = Path(__file__).resolve().parent / "datasets" / "ct_editorials.jsonl"
LLAMAINDEX_METRICS = ["hit_rate", "mrr", "recall"]


def expected_chunk_ids(a: Assistant, gold: list[M.GoldSpan]) -> list[str]:
    """The store's chunks (in document order) that find at least one of the gold passages."""
    catalog = a.store().catalog
    out: list[str] = []
    for doc_id in dict.fromkeys(g.doc_id for g in gold):
        chunks = sorted(catalog.chunks(sorted(catalog.chunk_ids(doc_id))).values(), key=lambda c: c.ordinal)
        out += [c.chunk_id for c in chunks if any(M.found(g, c) for g in gold)]
    return out


def compare(a: Assistant, dataset: str | Path = DEFAULT_SET, k: int = RETRIEVAL_K) -> dict[str, Any]:
    """Per-question and mean scores from LlamaIndex's evaluator and from our metrics."""
    from llama_index.core.evaluation import RetrieverEvaluator

    evaluator = RetrieverEvaluator.from_metric_names(LLAMAINDEX_METRICS, retriever=a.as_retriever(top_k=k))
    docs = _Docs(a)
    unlocated: list[str] = []
    rows = []
    for item in load_dataset(dataset).items:
        if item.kind != "answerable":
            continue
        gold = gold_spans(item, docs, unlocated)
        expected = expected_chunk_ids(a, gold)
        li = evaluator.evaluate(query=item.question, expected_ids=expected)
        ours = M.retrieval_scores(gold, a.retrieve(item.question, top_k=k), ks=(k,))
        rows.append(
            {
                "id": item.id,
                "gold_passages": len(gold),
                "expected_chunks": len(expected),
                "retrieved": li.retrieved_ids,
                "llamaindex": {name: li.metric_dict[name].score for name in LLAMAINDEX_METRICS},
                "ours": {f"hit@{k}": 1.0 if ours["mrr"] > 0 else 0.0, f"recall@{k}": ours[f"recall@{k}"], "mrr": ours["mrr"]},
            }
        )
    n = len(rows)

    def mean(side: str, key: str) -> float:
        return sum(r[side][key] for r in rows) / n if n else 0.0

    return {
        "dataset": str(dataset),
        "k": k,
        "questions": n,
        "unlocated_gold": unlocated,
        "llamaindex": {m: mean("llamaindex", m) for m in LLAMAINDEX_METRICS},
        "ours": {m: mean("ours", m) for m in (f"hit@{k}", f"recall@{k}", "mrr")},
        "items": rows,
    }


def main(argv: list[str] | None = None) -> int:
    from assistant import Assistant

    p = argparse.ArgumentParser(prog="python -m evals.llamaindex_retrieval", description=__doc__.splitlines()[0])
    p.add_argument("--store", required=True)
    p.add_argument("--set", default=str(DEFAULT_SET))
    p.add_argument("--k", type=int, default=RETRIEVAL_K)
    p.add_argument("--items", action="store_true", help="also print the per-question rows")
    args = p.parse_args(argv)
    a = Assistant.open(store=args.store)
    try:
        out = compare(a, args.set, args.k)
    finally:
        a.close()
    if not args.items:
        out.pop("items")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
