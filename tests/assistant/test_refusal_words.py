"""Refusal reasons read as a clause, or quote the question when no clause can be cut from it (issue 20)."""

from __future__ import annotations

import pytest

from assistant.answer.question import analyze
from assistant.answer.refusal import readable_reason
from assistant.types import Context, Document

DOC = Document(doc_id="d", source="d.txt", title="t", text="Pakistan NIFTAC board agency officers")
CTX = [Context(chunk_id="c", doc_id="d", score=1.0, text=DOC.text, start=0, end=len(DOC.text))]


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("How many intelligence organisations does Pakistan have?", "no passage answers “How many intelligence organisations does Pakistan have?”"),
        ("When was the board dissolved?", "no passage says when the board was dissolved"),
        ("Where is the agency based?", "no passage says where the agency is based"),
        ("Who heads NIFTAC?", "no passage says who heads NIFTAC"),
        ("How many officers work at NIFTAC?", "no passage says how many officers work at NIFTAC"),
    ],
)
def test_reason_is_a_clause_or_the_quoted_question(question: str, reason: str) -> None:
    assert readable_reason(question, analyze(question), CTX, {"d": DOC}) == reason
