"""The learned answerers (cross-encoder and logistic) on real files (tests/data/answers, the shipped corpus) with the real MiniLM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.answer.extract import ExtractiveAnswerer

from tests.conftest import DATA

ANSWERS = DATA / "answers"


@pytest.fixture(scope="module", params=["cross", "learned"])
def answers_assistant(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, embedder):  # type: ignore[no-untyped-def]
    """A store with the small answer-behaviour files, answered by each learned scorer (cross is the default)."""
    from assistant.api import Assistant
    from assistant.config import Settings

    a = Assistant(Settings(store=tmp_path_factory.mktemp("answers") / "store", answer_scorer=request.param), embedder)
    report = a.ingest([str(ANSWERS)])
    assert not report.failed and report.documents == len(list(ANSWERS.iterdir()))
    yield a
    a.close()


def _doc(a, name: str) -> str:  # type: ignore[no-untyped-def]
    return next(d.doc_id for d in a.documents() if Path(d.source).name == name)


def _check_quotes(a, ans) -> None:  # type: ignore[no-untyped-def]
    for c in ans.citations:
        assert c.quote == a.document(c.doc_id).text[c.start : c.end]


def test_shipped_parameters_match_the_features() -> None:
    from assistant.answer.features import FEATURES
    from assistant.answer.scorer import PARAMS, load_scorer

    params = json.loads(PARAMS.read_text())
    assert tuple(params["features"]) == FEATURES
    assert PARAMS.stat().st_size < 20_000  # small, readable parameters
    s = load_scorer()
    assert 0.0 < s.min_prob < 1.0
    assert "wikiqa" not in json.dumps(params["meta"]["train"])  # never trained on the research-only set


def test_date_with_its_year_and_dotted_acronyms() -> None:
    from assistant.answer.question import DATE, analyze, satisfies_type

    assert satisfies_type("The parish church of St Mary dates back to 1696.", DATE)
    assert analyze("When did the U.S. enter the war?").entities == ("U.S.",)


def test_heading_is_never_quoted_the_figure_is(answers_assistant) -> None:  # type: ignore[no-untyped-def]
    a = answers_assistant
    ans = a.ask("What was Tesla's revenue in the second quarter of 2020?", filters=_filters(a, "tesla.md"))
    assert not ans.refused, ans.refusal_reason
    assert all(not c.quote.lstrip().startswith("#") for c in ans.citations)
    assert any("$6.04 billion" in c.quote for c in ans.citations)
    _check_quotes(a, ans)


def test_when_question_answered_by_dates_back_to(answers_assistant, request: pytest.FixtureRequest) -> None:  # type: ignore[no-untyped-def]
    a = answers_assistant
    if a.settings.answer_scorer == "cross":  # a known miss, kept visible: fails the run once it is fixed
        request.applymarker(pytest.mark.xfail(strict=True, reason="the cross-encoder gives 'dates back to 1696' 0.08 for 'when was it built' (docs/evaluation.md)"))
    ans = a.ask("When was the church of St Mary in Marden built?", filters=_filters(a, "parish.txt"))
    assert not ans.refused, ans.refusal_reason
    assert "1696" in ans.citations[0].quote


def test_sentence_leaning_on_its_neighbour_cites_it_too(answers_assistant) -> None:  # type: ignore[no-untyped-def]
    a = answers_assistant
    ans = a.ask("When did the police and the intelligence agencies first share a single operations room?", filters=_filters(a, "directorate.txt"))
    assert not ans.refused, ans.refusal_reason
    quotes = [c.quote for c in ans.citations]
    lean = next(i for i, q in enumerate(quotes) if q.startswith("This was the first time"))
    assert lean > 0 and "In 2016" in quotes[lean - 1]  # the sentence "This" points at, cited on its own
    _check_quotes(a, ans)


def test_conflicting_sources_are_flagged_and_both_cited(answers_assistant) -> None:  # type: ignore[no-untyped-def]
    a = answers_assistant
    from assistant.types import Filters

    docs = [_doc(a, "instagram_facebook.txt"), _doc(a, "instagram_apple.txt")]
    ans = a.ask("Which company acquired Instagram in April 2012?", filters=Filters(doc_ids=docs))
    assert not ans.refused, ans.refusal_reason
    assert ans.conflicts and ans.answer.startswith("Sources disagree:")
    assert {c.doc_id for c in ans.citations} == set(docs)
    assert "Facebook" in " ".join(c.quote for c in ans.citations) and "Apple" in " ".join(c.quote for c in ans.citations)
    assert ans.to_dict()["conflicts"] == ans.conflicts
    _check_quotes(a, ans)


def test_refusal_reason_in_words_with_the_score_in_json(answers_assistant) -> None:  # type: ignore[no-untyped-def]
    a = answers_assistant
    ans = a.ask("When did the directorate close its second office in the north?", filters=_filters(a, "parish.txt"))
    assert ans.refused
    assert ans.refusal_reason and ans.refusal_reason.startswith(("no passage says when", "the documents do not mention"))
    assert "<" not in ans.refusal_reason  # words, not a score comparison
    d = ans.to_dict()
    assert isinstance(d["refusal_score"], float) and d["refusal_score"] < ExtractiveAnswerer(a.settings, a.embedder).min_prob()


def test_questions_over_both_editorials_cover_each(corpus_assistant) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import DOC_CTD, DOC_NIFTAC

    ans = corpus_assistant.ask("What do both editorials say about NACTA?")
    assert not ans.refused, ans.refusal_reason
    assert {DOC_CTD, DOC_NIFTAC} <= {c.doc_id for c in ans.citations}


def test_who_heads_question_needs_a_named_head(corpus_assistant) -> None:  # type: ignore[no-untyped-def]
    from assistant.answer.question import satisfies_role

    # the editorial says NIFTAC's leader is from the armed forces but never names them: refuse,
    # rather than quote a sentence that names some other person
    ans = corpus_assistant.ask("Who heads NIFTAC?")
    assert ans.refused and ans.refusal_reason == "no passage says who heads NIFTAC"
    assert satisfies_role("Who heads the cabinet?", "The cabinet, which is led by Chief Minister Ali Amin Khan Gandapur, met.")
    assert not satisfies_role("Who heads NIFTAC?", "Imran Khan and Gen. Bajwa were expected to be on the same page.")


def test_min_prob_setting_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.config import Settings

    monkeypatch.setenv("CT_ASSISTANT_ANSWER_MIN_PROB", "0.8")
    monkeypatch.setenv("CT_ASSISTANT_ANSWER_SCORER", "learned")
    s = Settings()
    assert s.answer_min_prob == 0.8 and s.answer_scorer == "learned"


def _filters(a, name: str):  # type: ignore[no-untyped-def]
    from assistant.types import Filters

    return Filters(doc_ids=[_doc(a, name)])
