"""Metric units on hand-made inputs (no models)."""

from __future__ import annotations

import math

import pytest

from assistant.types import Citation, Context
from evals import metrics as M

DOC = "Alpha is first. The cabinet approved Rs567.7 million. NIFTAC was approved at the sixth meeting. Omega ends it."


def ctx(doc_id: str, start: int, end: int, text: str | None = None) -> Context:
    return Context(chunk_id=f"{doc_id}:{start}", doc_id=doc_id, score=1.0, text=DOC[start:end] if text is None else text, start=start, end=end)


def cit(n: int, quote: str, doc_id: str = "d1", text: str = DOC) -> Citation:
    i = text.find(quote)
    return Citation(n=n, doc_id=doc_id, source="s", title="t", chunk_id="c", quote=quote, start=i, end=i + len(quote))


def gold(text: str, doc_id: str = "d1") -> M.GoldSpan:
    span = M.locate(text, DOC)
    assert span is not None
    return M.GoldSpan(doc_id, text, *span)


G1 = "The cabinet approved Rs567.7 million."
G2 = "NIFTAC was approved at the sixth meeting."


def test_locate_exact_and_normalised() -> None:
    assert M.locate(G1, DOC) == (DOC.index(G1), DOC.index(G1) + len(G1))
    text = "He said ‘restructuring’  Nacta\nnow."
    s, e = M.locate("said 'restructuring' nacta now", text)  # type: ignore[misc]
    assert text[s:e] == "said ‘restructuring’  Nacta\nnow"
    assert M.locate("not there", DOC) is None


def test_found_substring_span_and_doc() -> None:
    g = gold(G1)
    assert M.found(g, ctx("d1", 0, 60))
    assert not M.found(g, ctx("d2", 0, 60))  # other document
    # a chunk cut inside the sentence still finds it when it covers half of it
    cut = ctx("d1", g.start, g.start + 30)  # type: ignore[operator]
    assert M.found(g, cut)
    assert not M.found(g, ctx("d1", g.start + 30, g.end + 5))  # type: ignore[operator]


def test_retrieval_scores() -> None:
    g1, g2 = gold(G1), gold(G2)
    contexts = [ctx("d1", 0, 15), ctx("d2", 0, 10), ctx("d1", 16, 53), ctx("d1", 54, 95)]
    s = M.retrieval_scores([g1, g2], contexts, ks=(1, 3, 10))
    assert s["recall@1"] == 0 and s["recall@3"] == 0.5 and s["recall@10"] == 1.0
    assert s["mrr"] == pytest.approx(1 / 3)
    dcg = 1 / math.log2(4) + 1 / math.log2(5)
    assert s["ndcg@10"] == pytest.approx(dcg / (1 + 1 / math.log2(3)))
    perfect = M.retrieval_scores([g1], [ctx("d1", 16, 53)])
    assert perfect["mrr"] == perfect["ndcg@10"] == perfect["recall@1"] == 1.0
    # one context holding both passages gains 2 at rank 1: clipped to 1
    assert M.retrieval_scores([g1, g2], [ctx("d1", 0, len(DOC))])["ndcg@10"] == 1.0
    assert M.retrieval_scores([g1], [ctx("d2", 0, 10)]) == {"recall@1": 0, "recall@5": 0, "recall@10": 0, "mrr": 0.0, "ndcg@10": 0.0}
    assert M.retrieval_scores([], [ctx("d1", 0, 10)]) == {}


def test_citation_problems() -> None:
    good = cit(1, G1)
    assert M.citation_problems(f"{G1} [1]", [good], {"d1": DOC}) == []
    wrong = good.model_copy(update={"quote": "The cabinet approved Rs500 million."})
    assert M.citation_problems(f"{G1} [1]", [wrong], {"d1": DOC}) == ["[1] quote differs from d1[16:53]"]
    assert M.citation_problems(f"{G1} [1] [2]", [good], {"d1": DOC}) == ["marker [2] has no citation"]
    assert M.citation_problems("x [1]", [good], {}) == ["[1] cites unknown document 'd1'"]
    out_of_range = good.model_copy(update={"start": 500, "end": 510})
    assert "outside" in M.citation_problems("x [1]", [out_of_range], {"d1": DOC})[0]
    assert M.citation_problems("The documents don't say.", [], {}) == []


def lexical_support(claim: str, passages: list[str] | tuple[str, ...]) -> bool:
    """Toy judge: every word of the claim occurs in the passages."""
    have = set(" ".join(passages).lower().replace(".", "").split())
    return all(w in have for w in claim.lower().replace(".", "").split())


def test_citation_scores_judge_alce() -> None:
    a, b, c = cit(1, G1), cit(2, G2), cit(3, "Omega ends it.")
    sentences = [
        ("The cabinet approved Rs567.7 million.", [a, c]),  # supported by a alone: c is irrelevant
        ("NIFTAC was approved at the sixth meeting.", [b]),  # supported
        ("Rs567.7 million NIFTAC", [a, b]),  # needs both jointly: both relevant
        ("Omega was approved in 2018.", [c]),  # unsupported: c not relevant
        ("No citation here.", []),
    ]
    s = M.citation_scores_judge(sentences, lexical_support)
    assert s["citation_recall"] == pytest.approx(3 / 5)
    assert s["citation_precision"] == pytest.approx(4 / 6)
    assert M.citation_scores_judge([], lexical_support)["citation_recall"] is None


def test_citation_scores_gold() -> None:
    g1, g2 = gold(G1), gold(G2)
    s = M.citation_scores_gold([cit(1, G1), cit(2, "Omega ends it.")], [g1, g2])
    assert s == {"gold_citation_precision": 0.5, "gold_citation_recall": 0.5}
    other_doc = cit(1, G1, doc_id="d2")
    assert M.citation_scores_gold([other_doc], [g1])["gold_citation_precision"] == 0.0
    assert M.citation_scores_gold([], [g1]) == {"gold_citation_precision": None, "gold_citation_recall": 0.0}


def test_faithfulness() -> None:
    sents = [("The cabinet approved Rs567.7 million.", [DOC]), ("Made up claim.", [DOC]), ("Uncited.", [])]
    assert M.faithfulness(sents, lexical_support) == pytest.approx(1 / 3)
    assert M.faithfulness([], lexical_support) is None


def test_key_facts_and_refusal() -> None:
    answer = "The cabinet approved RS567.7  MILLION [1] for ‘police’ kit."
    assert M.fact_covered(answer, ["Rs567.7 million"])
    assert M.fact_covered(answer, ["nothing", "'police' kit"])
    assert not M.fact_covered("see [1]", ["1"])  # markers are not answer text
    assert M.key_fact_coverage(answer, [["567.7 million"], ["Gandapur"]]) == 0.5
    assert M.key_fact_coverage(answer, [["567.7 million"]], refused=True) == 0.0
    assert M.key_fact_coverage(answer, []) is None
    assert M.refusal_correct("unanswerable", True) and M.refusal_correct("off_topic", True)
    assert not M.refusal_correct("off_topic", False)
    assert M.refusal_correct("answerable", False) and not M.refusal_correct("answerable", True)


def test_percentile_and_token_f1() -> None:
    assert M.percentile([], 50) is None
    assert M.percentile([10.0], 95) == 10.0
    assert M.percentile([1, 2, 3, 4], 50) == 2.5
    assert M.percentile(list(range(1, 101)), 95) == pytest.approx(95.05)
    assert M.token_f1("Where was NIFTAC approved?", "Where was NIFTAC approved?") == 1.0
    assert M.token_f1("Where was it approved?", "Where was NIFTAC approved?") == pytest.approx(0.75)
    assert M.token_f1("", "x") == 0.0


def row(kind: str, refused: bool, **kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "kind": kind, "refused": refused, "citation_valid": True, "refusal_correct": M.refusal_correct(kind, refused),
        "key_fact_coverage": None, "correct": None, "retrieval": {}, "latency_ms": 100.0,
    }
    return {**base, **kw}


def test_aggregate() -> None:
    rows = [
        row("answerable", False, key_fact_coverage=1.0, correct=True, retrieval={"recall@5": 1.0, "mrr": 1.0}, faithfulness=1.0,
            gold_citation_precision=1.0, latency_ms=100.0),
        row("answerable", False, key_fact_coverage=0.5, correct=False, retrieval={"recall@5": 0.0, "mrr": 0.0}, faithfulness=0.5,
            citation_valid=False, gold_citation_precision=0.0, latency_ms=300.0),
        row("answerable", True, key_fact_coverage=0.0, correct=False, retrieval={"recall@5": 1.0, "mrr": 0.5}, latency_ms=200.0),
        row("unanswerable", True, latency_ms=50.0),
        row("off_topic", False, faithfulness=0.0, latency_ms=10.0),
    ]
    a = M.aggregate(rows)
    assert a["items"] == 5 and a["answerable"] == 3 and a["refused"] == 2
    assert a["citation_validity"] == pytest.approx(0.8)
    assert a["answer_correctness"] == pytest.approx(0.5)
    assert a["answer_accuracy"] == pytest.approx(1 / 3)
    assert a["refusal_accuracy"] == pytest.approx(3 / 5)
    assert a["refusal_recall"] == pytest.approx(0.5) and a["answer_rate"] == pytest.approx(2 / 3)
    assert a["recall@5"] == pytest.approx(2 / 3) and a["mrr"] == pytest.approx(0.5)
    assert a["faithfulness"] == pytest.approx(0.5)  # answered items: 1.0, 0.5, 0.0
    assert a["gold_citation_precision"] == pytest.approx(0.5)
    assert a["citation_recall"] is None and a["rewrite_token_f1"] is None
    assert a["latency_p50_ms"] == 100.0 and a["latency_p95_ms"] == pytest.approx(280.0)
    assert set(M.METRICS) <= set(a)
