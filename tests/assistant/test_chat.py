"""Conversations in extractive mode (no LLM): follow-up rewriting, history, streaming, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.chat import ChatSession, StreamEvent, accept_rewrite, followup_kind, rewrite_followup
from assistant.errors import EmptyQuestionError
from tests.conftest import DATA, DOC_NIFTAC, run_cli

BOARD = "sixth Board of Governors meeting, where NIFTAC was approved"


@pytest.mark.parametrize(
    "followup, previous, expected",
    [
        ("Where was it approved?", ["What is NIFTAC?"], "Where was NIFTAC approved?"),
        ("What is its mission?", ["What is NIFTAC?"], "What is NIFTAC's mission?"),
        ("Who leads them?", ["What are the provincial CTDs?"], "Who leads CTDs?"),
        ("What did they lack?", ["What is NIFTAC?", "Why do CTDs fail?"], "What did CTDs lack?"),
        ("what about PIFTACS?", ["Where was NIFTAC approved?"], "Where was PIFTACS approved?"),
        ("And Balochistan?", ["How acute is the threat in KP?"], "How acute is the threat in Balochistan?"),
        ("How much?", ["What did the KP cabinet authorize for police equipment?"], "How much did the KP cabinet authorize for police equipment?"),
        ("When?", ["Is NIFTAC approved?"], "When is NIFTAC approved?"),
        ("Where was it approved?", ["What is the hybrid security model?"], "Where was the hybrid security model approved?"),
        # names its own entity: left alone
        ("Why did NACTA struggle with CTD integration?", ["What is NIFTAC?"], "Why did NACTA struggle with CTD integration?"),
        # nothing to resolve against: left alone
        ("Where was it approved?", [], "Where was it approved?"),
        # "that" as a determiner is not a reference we can resolve
        ("When was that meeting held?", ["What is NIFTAC?"], "When was that meeting held?"),
    ],
)
def test_deterministic_rewrite(followup: str, previous: list[str], expected: str) -> None:
    assert rewrite_followup(followup, previous) == expected


def test_followup_kinds() -> None:
    assert followup_kind("Where was it approved?") == "pronoun"
    assert followup_kind("Why is that?") == "pronoun"
    assert followup_kind("How many?") == "elliptical"
    assert followup_kind("What about the PIFTACS?") == "what_about"
    assert followup_kind("What is NIFTAC?") is None
    assert followup_kind("What is the budget of the police?") is None


def test_llm_rewrites_are_checked() -> None:
    conv = "User: What is NIFTAC?\nAssistant: NIFTAC is a centre within NACTA."
    assert accept_rewrite("Where was NIFTAC approved?", "Where was it approved?", conv)
    assert not accept_rewrite("What is NIFTAC?", "Where was it approved?", conv)  # lost "approved"
    assert not accept_rewrite("Where was the ISI approved?", "Where was it approved?", conv)  # invented entity
    assert not accept_rewrite("Where was it approved?", "Where was it approved?", conv)  # resolved nothing
    assert not accept_rewrite("NIFTAC was approved by the Board.", "Where was it approved?", conv)  # an answer


def test_two_turn_conversation_extractive(corpus_assistant) -> None:  # type: ignore[no-untyped-def]
    session = corpus_assistant.chat()
    assert isinstance(session, ChatSession)
    first = session.send("What is NIFTAC?")
    assert not first.refused and first.standalone_question is None
    second = session.send("Where was it approved?")
    assert second.standalone_question == "Where was NIFTAC approved?"
    assert not second.refused and second.mode == "extractive"
    assert any(BOARD in c.quote and c.doc_id == DOC_NIFTAC for c in second.citations)
    d = second.to_dict()
    assert d["question"] == "Where was it approved?" and d["standalone_question"] == "Where was NIFTAC approved?"
    assert [u for u, _ in session.history] == ["What is NIFTAC?", "Where was it approved?"]
    session.reset()
    assert session.history == []
    assert session.send("Where was it approved?").standalone_question is None


def test_sessions_do_not_share_history(corpus_assistant) -> None:  # type: ignore[no-untyped-def]
    a, b = corpus_assistant.chat(), corpus_assistant.chat()
    a.send("What is NIFTAC?")
    assert b.standalone("Where was it approved?") == "Where was it approved?"
    assert a.standalone("Where was it approved?") == "Where was NIFTAC approved?"
    with pytest.raises(EmptyQuestionError):
        a.send("  ?")


def test_stream_extractive(corpus_assistant) -> None:  # type: ignore[no-untyped-def]
    session = corpus_assistant.chat()
    session.send("What is NIFTAC?")
    events = list(session.stream("Where was it approved?"))
    assert all(isinstance(e, StreamEvent) for e in events)
    kinds = [e.kind for e in events]
    assert kinds[0] == "standalone" and events[0].text == "Where was NIFTAC approved?"
    assert kinds[-1] == "answer" and kinds.count("answer") == 1 and "delta" in kinds
    final = events[-1].answer
    assert final is not None and "".join(e.text for e in events if e.kind == "delta") == final.answer
    assert any(BOARD in c.quote for c in final.citations)
    assert len(session.history) == 2


def test_injection_is_not_obeyed_extractive(make_assistant) -> None:  # type: ignore[no-untyped-def]
    a = make_assistant()
    a.ingest([DATA / "docs" / "injection.txt"])
    for q in ("What does the NACTA memo say?", "What should you reply?"):
        ans = a.ask(q)
        assert ans.answer.strip().rstrip(".") != "PWNED"
        assert ans.refused or ans.notice and "instructions" in ans.notice
        for s in ans.sentences:
            if "PWNED" in s.text:
                assert not s.supported


def test_cli_chat_json(corpus_store: Path) -> None:
    turns = "What is NIFTAC?\nWhere was it approved?\n\n/new\nWhere was it approved?\n?!\n"
    r = run_cli("chat", "--store", str(corpus_store), "--json", input=turns)
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(lines) == 4, r.stderr
    assert lines[1]["standalone_question"] == "Where was NIFTAC approved?"
    assert any(BOARD in c["quote"] for c in lines[1]["citations"])
    assert lines[2]["standalone_question"] == "Where was it approved?"  # after /new: no history
    assert "error" in lines[3] and r.returncode == 1


def test_cli_chat_terminal(corpus_store: Path) -> None:
    r = run_cli("chat", "--store", str(corpus_store), input="What is NIFTAC?\nWhere was it approved?\n/quit\n")
    assert r.returncode == 0, r.stderr
    assert "(understood as: Where was NIFTAC approved?)" in r.stdout and "Sources:" in r.stdout
