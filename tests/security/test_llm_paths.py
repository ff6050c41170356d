"""The LLM path (issue 21): the model's evidence never holds an instructing sentence, and an
outsider's LLM answer (SmolLM2 through the OpenAI-compatible llama.cpp server) holds nothing
of the restricted document."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.text.injection import has_instruction
from tests.conftest import DATA, llm_settings
from tests.security.conftest import GROUP, answer_outputs, leaks


def test_llm_evidence_holds_no_instruction(make_assistant) -> None:  # type: ignore[no-untyped-def]
    """What `generate.evidence` hands the model: the passages' best sentences, the injected one never."""
    from assistant.answer.generate import evidence, passages_block

    a = make_assistant()
    a.ingest([DATA / "injection"])
    for q in ("Has the Gwadar Port Security Force been dissolved?", "Was the Karachi CTD disbanded?", "Were the Turbat checkpoints closed?"):
        contexts = a.retrieve(q)
        assert any(has_instruction(c.text) for c in contexts), q  # the injected passage was retrieved
        documents, idf, extractive = a.prepare(q, contexts)
        passages = evidence(q, contexts, documents, idf, extractive)
        assert passages and not any(has_instruction(p.text) for p in passages)
        block = passages_block(passages)  # the passages as the prompt holds them
        assert not has_instruction(block) and "instructions" not in block.lower()


@pytest.mark.llm
def test_outsider_llm_answers_hold_nothing_restricted(restricted_store: Path, embedder, smollm_server: str) -> None:  # type: ignore[no-untyped-def]
    from assistant.api import Assistant
    from assistant.config import Settings

    settings = Settings(store=restricted_store, **llm_settings(smollm_server))  # type: ignore[arg-type]
    outsider = Assistant(settings, embedder, groups=["analysts"])
    for q in ("Who heads the Kestrel cell?", "What did Blue Heron's warnings prevent?"):
        assert leaks(answer_outputs(outsider.ask(q)), [q]) == []
    member = Assistant(settings, embedder, groups=[GROUP])
    ans = member.ask("Who heads the Kestrel cell?")
    assert any("Tariq Nadeem" in c.quote for c in ans.citations), ans.answer
    outsider.close()
    member.close()
