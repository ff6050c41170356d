"""`eval answers`: the public QA sets load with their splits, synthetic unanswerables are made as
documented, and the harness scores real answerers (real MiniLM) with the baselines."""

from __future__ import annotations

import math

import pytest

from evals import qa_data
from tests.conftest import missing


@pytest.fixture(scope="module", autouse=True)
def _benchmarks() -> None:
    if not (qa_data.ROOT / "squad2-train-sample").exists():
        missing(f"shared benchmarks not found at {qa_data.ROOT} (set CT_BENCHMARKS)")


def test_squad_split_is_by_article_and_disjoint() -> None:
    splits = {s: qa_data.squad2(s) for s in ("train", "dev", "test")}
    groups = {s: {it.group for it in items} for s, items in splits.items()}
    assert not (groups["train"] & groups["dev"]) and not (groups["train"] & groups["test"]) and not (groups["dev"] & groups["test"])
    assert sum(len(v) for v in splits.values()) == 4719
    assert sum(1 for it in splits["test"] if not it.answerable) == 188  # Spectre's real unanswerable questions
    for it in splits["dev"][:50]:
        p = it.passages[0]
        assert all(g[0] == p.pid and 0 <= g[1] < g[2] <= len(p.text) for g in it.gold)


def test_synthetic_unanswerables_have_no_gold_and_differ() -> None:
    items = qa_data.squad2("dev")[:200]
    syn = list(qa_data.synthetic_unanswerable(items, qa_data.squad2_paragraphs("dev")))
    kinds = {s.kind for s in syn}
    assert kinds == {"neighbour", "swap"}
    by_id = {it.qid: it for it in items}
    for s in syn:
        assert not s.answerable
        src = by_id[s.qid.rsplit("-", 1)[0]]
        if s.kind == "swap":
            assert s.question != src.question and s.passages == src.passages
        else:
            answer = src.passages[0].text[src.gold[0][1] : src.gold[0][2]].lower()
            assert s.passages != src.passages and answer not in s.passages[0].text.lower()


def test_wikiqa_is_evaluation_only() -> None:
    with pytest.raises(qa_data.QADataError):
        qa_data.load("wikiqa", "train")
    assert "wikiqa" not in qa_data.TRAIN_SPLITS


def test_harness_scores_answerers_and_baselines(embedder) -> None:  # type: ignore[no-untyped-def]
    from assistant.config import Settings
    from evals import answers

    result = answers.evaluate("trecqa", "test", ["oracle"], ["learned", "cross", "overlap", "refuse"], Settings(), embedder, limit=12)
    table = result["results"]
    assert set(table) == {"oracle/learned", "oracle/cross", "oracle/overlap", "oracle/refuse"}
    assert table["oracle/cross"]["citation_validity"] == 1.0 and table["oracle/cross"]["items"] == 12
    refuse, overlap, learned = table["oracle/refuse"], table["oracle/overlap"], table["oracle/learned"]
    assert refuse["false_refusals"] == 1.0 and refuse["hit"] == 0.0
    assert overlap["false_refusals"] == 0.0 and overlap["hit"] == overlap["hit_at_1"]
    assert learned["citation_validity"] == 1.0 and 0.0 <= learned["accuracy"] <= 1.0
    assert learned["items"] == 12
    assert "| oracle/learned |" in answers.format_table(result)


def test_answerability_auc_counts_pairs_and_ties() -> None:
    from evals.answers import auc

    assert auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert auc([0.1], [0.9]) == 0.0
    assert auc([0.5, 0.9], [0.5]) == 0.75  # one tie (half), one win
    assert math.isnan(auc([], [0.3]))
