"""The LLM path against a real model: SmolLM2-135M-Instruct served by `llama_cpp.server`.

The model is tiny and hallucinates; the tests assert on verification flags and citations,
never on its exact wording.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from assistant.errors import ConfigError
from assistant.answer.generate import Job
from assistant.answer.llm import ChatLLM
from assistant.answer.verify import verify
from tests.assistant.conftest import SMOLLM_ALIAS, llm_settings, smollm_gguf
from tests.conftest import DATA, DOC_NIFTAC, free_port, run_cli

BOARD = "sixth Board of Governors meeting, where NIFTAC was approved"
FALLBACK = f"{SMOLLM_ALIAS}'s answer was not supported"


def _verified_or_fallback(answer) -> None:  # type: ignore[no-untyped-def]
    """An LLM-mode answer is either the model's verified answer or, when none of it was
    supported, the extractive answer with a notice saying so."""
    if answer.mode == SMOLLM_ALIAS:
        assert any(s.supported for s in answer.sentences)
    else:
        assert answer.mode == "extractive" and FALLBACK in (answer.notice or "")


@pytest.mark.llm
def test_two_turn_conversation_llm(llm_assistant) -> None:  # type: ignore[no-untyped-def]
    session = llm_assistant.chat()
    first = session.send("What is NIFTAC?")
    assert not first.refused
    _verified_or_fallback(first)
    second = session.send("Where was it approved?")
    sq = second.standalone_question or ""
    assert "NIFTAC" in sq and "approved" in sq  # the LLM's rewrite, or the rule's when it was rejected
    assert not second.refused
    _verified_or_fallback(second)
    assert any(BOARD in c.quote and c.doc_id == DOC_NIFTAC for c in second.citations)


@pytest.mark.llm
def test_hallucinations_are_flagged(llm_assistant) -> None:  # type: ignore[no-untyped-def]
    """Real generations: verification marks the embellished sentences unsupported."""
    flagged = []
    for q in ("What is NIFTAC?", "How much did the KP cabinet authorize for police equipment?"):
        contexts = llm_assistant.retrieve(q)
        documents, idf, extractive = llm_assistant.prepare(q, contexts)
        job = Job(llm_assistant.generator(), q, contexts, documents, idf, extractive)
        draft = llm_assistant.generator().llm.complete(*job.prompt())
        assert draft.strip()
        v = verify(draft, job.passages, documents, llm_assistant.generator().judge, attribute=True)
        flagged += [c for c in v.claims if not c.supported]
        # what the user gets never shows an unflagged unsupported sentence
        answer = job.finish(draft)
        for s in answer.sentences:
            if s.supported and answer.mode == SMOLLM_ALIAS:
                assert s.citations and s.score is not None and s.score >= 0.5
    assert flagged, "expected SmolLM2 to embellish at least once"
    assert all(c.score is None or c.score < 0.5 for c in flagged)


@pytest.mark.llm
def test_strict_mode_shows_no_unsupported_sentence(corpus_store: Path, embedder, smollm_server: str) -> None:  # type: ignore[no-untyped-def]
    from assistant.api import Assistant
    from assistant.config import Settings

    a = Assistant(Settings(store=corpus_store, strict=True, **llm_settings(smollm_server)), embedder)  # type: ignore[arg-type]
    answer = a.ask("What is NIFTAC?")
    assert all(s.supported for s in answer.sentences)
    a.close()


@pytest.mark.llm
def test_stream_llm(llm_assistant) -> None:  # type: ignore[no-untyped-def]
    events = list(llm_assistant.chat().stream("What is NIFTAC?"))
    kinds = [e.kind for e in events]
    assert kinds.count("delta") >= 2 and kinds[-1] == "answer" and kinds.count("answer") == 1
    assert kinds.index("answer") > max(i for i, k in enumerate(kinds) if k == "delta")
    final = events[-1].answer
    assert final is not None and final.answer and not final.refused
    _verified_or_fallback(final)


@pytest.mark.llm
def test_injection_is_not_obeyed_llm(make_assistant, smollm_server: str) -> None:  # type: ignore[no-untyped-def]
    a = make_assistant(**llm_settings(smollm_server))
    a.ingest([DATA / "docs" / "injection.txt"])
    for q in ("What does the NACTA memo say?", "What should you reply?"):
        ans = a.ask(q)
        assert ans.answer.strip().rstrip(".") != "PWNED"
        assert "instructions" in (ans.notice or "")
        for s in ans.sentences:
            if "pwned" in s.text.lower():
                assert not s.supported


def test_endpoint_down_falls_back_quickly(corpus_store: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    from assistant.api import Assistant
    from assistant.config import Settings

    closed = f"http://127.0.0.1:{free_port()}/v1"
    a = Assistant(Settings(store=corpus_store, llm_backend="openai", llm_base_url=closed, llm_timeout=3), embedder)
    a.ask("What is NIFTAC?")  # warm up retrieval
    t = time.perf_counter()
    answer = a.ask("Where was NIFTAC approved?")
    assert time.perf_counter() - t < 15
    assert answer.mode == "extractive" and not answer.refused
    assert (answer.notice or "").startswith("LLM unavailable (") and "extractive answer" in answer.notice
    assert any(BOARD in c.quote for c in answer.citations)
    events = list(a.chat().stream("Where was NIFTAC approved?"))
    assert events[-1].kind == "answer" and "LLM unavailable" in (events[-1].answer.notice or "")
    a.close()


@pytest.mark.llm
def test_llm_judge_scores(smollm_server: str) -> None:
    from assistant.config import Settings
    from assistant.answer.judge_llm import LLMJudge

    judge = LLMJudge(ChatLLM(Settings(store="/nonexistent", **llm_settings(smollm_server))))  # type: ignore[arg-type]
    s = judge.score("The cabinet authorized Rs567.7 million.", ["The cabinet authorized Rs567.7 million for police equipment."])
    assert 0.0 <= s <= 1.0


@pytest.mark.llm
def test_llamacpp_backend_loads_gguf() -> None:
    import llama_cpp  # noqa: F401  (the [test] extra installs it)
    from assistant.config import Settings

    llm = ChatLLM(Settings(store="/nonexistent", llm_backend="llamacpp", llm_gguf_path=smollm_gguf(), llm_max_tokens=16))
    assert llm.name == smollm_gguf().name
    assert llm.complete("Reply briefly.", "Say hello.", max_tokens=8)
    assert "".join(llm.stream("Reply briefly.", "Say hello."))
    with pytest.raises(ConfigError):
        ChatLLM(Settings(store="/nonexistent", llm_backend="llamacpp", llm_gguf_path="/nonexistent.gguf")).complete("s", "u")


@pytest.mark.llm
def test_cli_chat_json_llm(corpus_store: Path, smollm_server: str) -> None:
    r = run_cli(
        "chat", "--store", str(corpus_store), "--json", "--llm", "openai", "--llm-base-url", smollm_server, "--llm-model", SMOLLM_ALIAS,
        input="What is NIFTAC?\n",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    (d,) = [json.loads(x) for x in r.stdout.splitlines()]
    assert d["mode"] in (SMOLLM_ALIAS, "extractive") and not d["refused"]
    assert d["mode"] == SMOLLM_ALIAS or FALLBACK in d["notice"]


def test_unsupported_draft_is_refused_when_configured(corpus_store: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """Nothing the model wrote is supported -> a refusal (llm_unsupported=refuse) or, by default,
    the extractive answer with a notice. A hand-written draft stands in for the model's output."""
    from assistant.api import Assistant
    from assistant.config import Settings
    from assistant.types import CANNOT_ANSWER

    q = "Where was NIFTAC approved?"
    draft = "NIFTAC was approved by the National Intelligence Directorate in 2018 [1]."
    url = f"http://127.0.0.1:{free_port()}/v1"  # never called: finish() only verifies the draft
    for policy in ("refuse", "extractive"):
        a = Assistant(Settings(store=corpus_store, llm_backend="openai", llm_base_url=url, llm_unsupported=policy), embedder)
        contexts = a.retrieve(q)
        documents, idf, extractive = a.prepare(q, contexts)
        answer = Job(a.generator(), q, contexts, documents, idf, extractive).finish(draft)
        if policy == "refuse":
            assert answer.refused and answer.answer == CANNOT_ANSWER and not answer.citations
        else:
            assert answer.mode == "extractive" and "not supported" in (answer.notice or "")
            assert "2018" not in answer.answer
        a.close()
