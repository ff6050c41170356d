"""The extractive answerer on the shipped corpus: real MiniLM, real Chroma."""

from __future__ import annotations

import pytest

from assistant.answer.cite import citation_problems
from assistant.errors import EmptyQuestionError, InvalidFilterError, UnknownDocumentError
from assistant.types import CANNOT_ANSWER, Filters
from tests.conftest import DOC_CTD, DOC_NIFTAC


def _check_spans(assistant, answer) -> None:  # type: ignore[no-untyped-def]
    docs = {c.doc_id: assistant.document(c.doc_id) for c in answer.citations}
    assert citation_problems(answer, docs) == []
    for c in answer.citations:
        assert docs[c.doc_id].text[c.start : c.end] == c.quote
        assert f"[{c.n}]" in answer.answer


def test_why_question_cites_the_cooperation_passage(corpus_assistant) -> None:  # type: ignore[no-untyped-def]
    a = corpus_assistant.ask("Why did NACTA struggle with CTD integration?")
    assert not a.refused
    assert any("lacked a valid method for cooperation" in c.quote for c in a.citations)
    assert a.citations[0].doc_id == DOC_NIFTAC
    _check_spans(corpus_assistant, a)


def test_number_question_cites_the_amount(corpus_assistant) -> None:  # type: ignore[no-untyped-def]
    a = corpus_assistant.ask("How much did the KP cabinet authorize for police equipment?")
    assert not a.refused
    assert "Rs567.7 million" in a.answer
    assert any("Rs567.7 million" in c.quote for c in a.citations)
    _check_spans(corpus_assistant, a)


@pytest.mark.parametrize(
    "question",
    [
        "What is the capital of France?",  # off topic
        "What is the annual budget of the Punjab CTD?",  # on topic, not in the documents
    ],
)
def test_refuses_when_documents_do_not_say(corpus_assistant, question: str) -> None:  # type: ignore[no-untyped-def]
    a = corpus_assistant.ask(question)
    assert a.refused
    assert a.answer == CANNOT_ANSWER
    assert a.citations == [] and a.refusal_reason


def test_answer_json_contract(corpus_assistant) -> None:  # type: ignore[no-untyped-def]
    d = corpus_assistant.ask("Where was NIFTAC approved?").to_dict()
    assert {"question", "answer", "refused", "mode", "citations", "contexts", "timings_ms", "spelling"} <= d.keys()
    assert d["mode"] == "extractive"
    assert set(d["timings_ms"]) == {"retrieve", "generate", "total"}
    for c in d["citations"]:
        assert set(c) == {"n", "doc_id", "source", "title", "chunk_id", "quote", "start", "end", "page", "page_label", "page_end", "page_end_label", "ocr", "section", "answer_start", "answer_end"}
        if c["answer_start"] is not None:  # the reader's short answer lies inside the quote
            assert 0 <= c["answer_start"] < c["answer_end"] <= len(c["quote"])
        assert c["page"] is None and c["page_end"] is None and c["ocr"] is False  # plain text: no pages
    for c in d["contexts"]:
        assert set(c) == {"chunk_id", "doc_id", "score", "text"}


def test_filter_to_other_document_refuses(corpus_assistant) -> None:  # type: ignore[no-untyped-def]
    a = corpus_assistant.ask("How much did the KP cabinet authorize for police equipment?", filters=Filters(doc_ids=[DOC_CTD]))
    assert a.refused or all(c.doc_id == DOC_CTD for c in a.citations)
    assert "Rs567.7" not in a.answer


def test_bad_questions_and_filters(corpus_assistant) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(EmptyQuestionError):
        corpus_assistant.ask("   ")
    with pytest.raises(EmptyQuestionError):
        corpus_assistant.ask("?!")
    with pytest.raises(UnknownDocumentError):
        corpus_assistant.ask("NACTA?", filters=Filters(doc_ids=["nope"]))
    with pytest.raises(InvalidFilterError):
        corpus_assistant.ask("NACTA?", filters=Filters(date_from="May 2024"))
