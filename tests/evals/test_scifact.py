"""SciFact benchmark plumbing on a tiny slice (`--limit`): parsing, metrics, the CLI JSON shape."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from evals import scifact
from tests.conftest import missing

SCIFACT = Path(__file__).resolve().parents[3] / "shared" / "benchmarks" / "scifact"


def test_parse_sentences_numpy_repr() -> None:
    raw = "['First sentence.'\n 'It\\'s second.' \"Quote's third.\"]"
    assert scifact.parse_sentences(raw) == ["First sentence.", "It's second.", "Quote's third."]


def test_doc_metrics() -> None:
    ranking = ["a", "b", "c"]
    assert scifact.ndcg_at(ranking, {"a"}) == 1.0
    assert scifact.ndcg_at(ranking, {"b", "z"}) == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    assert scifact.recall_at(ranking, {"c", "z"}, 100) == 0.5 and scifact.recall_at(ranking, {"c"}, 2) == 0.0


@pytest.mark.slow
def test_limit_run(tmp_path: Path, embedder: Any, capsys: pytest.CaptureFixture[str]) -> None:
    if not (SCIFACT / "corpus_train.csv").is_file():
        missing("../shared/benchmarks/scifact not present")
    data = scifact.load(SCIFACT, limit=4, distractors=16)
    assert len(data.queries) == 4 and data.corpus_docs == 5183
    assert all(q.relevant <= {d.doc_id for d in data.documents} for q in data.queries)
    result = scifact.run(SCIFACT, store=tmp_path / "sf", limit=4, distractors=16, embedder=embedder)
    d = result.to_dict()
    assert set(d["ndcg@10"]) == set(d["recall@100"]) == {"dense", "bm25", "hybrid"}
    assert all(0.0 <= v <= 1.0 for k in ("ndcg@10", "recall@100") for v in d[k].values())
    # a corpus of ~20 documents: every relevant document is ranked
    assert d["recall@100"]["dense"] == 1.0 and d["recall@100"]["hybrid"] == 1.0
    assert d["meta"]["queries"] == 4 and d["meta"]["limit"] == 4
    # the CLI reuses the store (idempotent ingest: nothing embedded) and prints the JSON contract
    from assistant.cli.main import main

    argv = ["eval", "scifact", "--data", str(SCIFACT), "--limit", "4", "--distractors", "16", "--store", str(tmp_path / "sf"), "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["meta"]["embedded_this_run"] == 0
    assert out["ndcg@10"] == d["ndcg@10"] and out["published_ndcg@10"]["BM25 (BEIR)"] == 0.665
