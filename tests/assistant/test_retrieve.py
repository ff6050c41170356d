from __future__ import annotations

from assistant.retrieve.hybrid import rrf
from assistant.types import Filters
from tests.conftest import DOC_CTD, DOC_NIFTAC


def test_rrf_rewards_agreement_and_keeps_singletons() -> None:
    fused = rrf([["a", "b", "c"], ["b", "d"]], k=60)
    ids = [i for i, _ in fused]
    assert ids[0] == "b"  # in both lists
    assert set(ids) == {"a", "b", "c", "d"}
    assert abs(dict(fused)["b"] - (1 / 62 + 1 / 61)) < 1e-12


def test_rrf_ties_are_deterministic() -> None:
    assert rrf([["x", "y"], ["y", "x"]]) == rrf([["y", "x"], ["x", "y"]])
    assert rrf([]) == []


def test_hybrid_finds_the_passage(corpus_assistant) -> None:  # type: ignore[no-untyped-def]
    ctx = corpus_assistant.retrieve("How much did the KP cabinet authorize for police equipment?", top_k=3)
    assert "Rs567.7 million" in ctx[0].text
    assert ctx[0].dense_rank is not None and ctx[0].lexical_rank is not None
    for mode in ("dense", "lexical"):
        got = corpus_assistant.retrieve("Rs567.7 million police equipment", top_k=3, mode=mode)
        assert any("Rs567.7" in c.text for c in got), mode


def test_filters_by_doc_source_and_date(corpus_assistant) -> None:  # type: ignore[no-untyped-def]
    q = "counter-terrorism departments capacity"
    only = corpus_assistant.retrieve(q, top_k=10, filters=Filters(doc_ids=[DOC_NIFTAC]))
    assert only and {c.doc_id for c in only} == {DOC_NIFTAC}
    src = corpus_assistant.document(DOC_CTD).source
    by_source = corpus_assistant.retrieve(q, top_k=10, filters=Filters(sources=[src]))
    assert by_source and {c.doc_id for c in by_source} == {DOC_CTD}
    dated = corpus_assistant.retrieve(q, top_k=10, filters=Filters(date_from="2024-01-01", date_to="2024-12-31"))
    assert dated and {c.doc_id for c in dated} == {DOC_CTD}  # the other editorial has no date
    assert corpus_assistant.retrieve(q, top_k=10, filters=Filters(date_from="2030-01-01")) == []
