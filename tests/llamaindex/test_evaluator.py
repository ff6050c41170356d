"""LlamaIndex's RetrieverEvaluator on `as_retriever()` agrees with our retrieval metrics on the CT set."""

from __future__ import annotations

import pytest

from evals.llamaindex_retrieval import compare


def test_retriever_evaluator_agrees_with_eval_run_metrics(corpus_assistant) -> None:  # type: ignore[no-untyped-def]
    out = compare(corpus_assistant)
    assert out["questions"] == 56 and out["unlocated_gold"] == []
    for row in out["items"]:
        li, ours = row["llamaindex"], row["ours"]
        assert row["expected_chunks"] >= 1
        assert li["hit_rate"] == ours["hit@10"], row["id"]
        assert li["mrr"] == pytest.approx(ours["mrr"]), row["id"]
        assert len(row["retrieved"]) == 10
        if ours["recall@10"] in (0.0, 1.0) and row["expected_chunks"] == row["gold_passages"] == 1:
            assert li["recall"] == ours["recall@10"]
    assert out["llamaindex"]["hit_rate"] == pytest.approx(out["ours"]["hit@10"])
    assert out["llamaindex"]["mrr"] == pytest.approx(out["ours"]["mrr"])
    assert 0.5 < out["llamaindex"]["mrr"] <= out["llamaindex"]["hit_rate"] <= 1.0
