"""With an LLM configured (SmolLM2 on a real llama.cpp server), the query engine returns the verified LLM answer."""

from __future__ import annotations

import re

import pytest
from llama_index.core.base.response.schema import Response, StreamingResponse

from tests.conftest import SMOLLM_ALIAS

pytestmark = pytest.mark.llm


def check_llm_response(assistant, resp: Response) -> None:  # type: ignore[no-untyped-def]
    meta = resp.metadata
    assert meta is not None and meta["answer"] == resp.response
    # the model's verified answer, or (none of it supported) the extractive one with a notice saying so
    if meta["mode"] == SMOLLM_ALIAS:
        assert meta["refused"] or any(s["supported"] for s in meta["sentences"])
    else:
        assert meta["mode"] == "extractive" and f"{SMOLLM_ALIAS}'s answer was not supported" in (meta["notice"] or "")
    if meta["refused"]:
        assert resp.source_nodes == []
        return
    assert len(resp.source_nodes) == len(meta["citations"])
    for i, (n, c) in enumerate(zip(resp.source_nodes, meta["citations"], strict=True), start=1):
        assert c["n"] == i and n.node.get_content() == c["quote"]
        assert assistant.document(c["doc_id"]).text[n.node.start_char_idx : n.node.end_char_idx] == c["quote"]
    markers = {int(m) for m in re.findall(r"\[(\d+)\]", resp.response)}
    assert markers <= set(range(1, len(resp.source_nodes) + 1))
    # every sentence carries the verifier's verdict
    assert meta["sentences"] and all(isinstance(s["supported"], bool) for s in meta["sentences"])


def test_query_engine_returns_the_verified_llm_answer(llm_assistant) -> None:  # type: ignore[no-untyped-def]
    resp = llm_assistant.as_query_engine().query("What is NIFTAC?")
    assert isinstance(resp, Response)
    check_llm_response(llm_assistant, resp)


def test_streaming_query_engine_ends_with_the_verified_answer(llm_assistant) -> None:  # type: ignore[no-untyped-def]
    stream = llm_assistant.as_query_engine(streaming=True).query("Where was NIFTAC approved?")
    assert isinstance(stream, StreamingResponse)
    draft = "".join(stream.response_gen)  # the model's draft as it streams
    assert draft.strip()
    final = stream.get_response()  # the verified answer (markers renumbered, unsupported sentences flagged)
    check_llm_response(llm_assistant, final)


def test_chat_engine_follow_up_with_the_llm(llm_assistant) -> None:  # type: ignore[no-untyped-def]
    engine = llm_assistant.as_chat_engine()
    engine.chat("What is NIFTAC?")
    reply = engine.chat("Where was it approved?")
    standalone = reply.metadata["standalone_question"]
    assert "NIFTAC" in standalone and "approved" in standalone  # the LLM's rewrite, or the rule's when it was rejected
    check_llm_response(llm_assistant, reply.sources[0].raw_output)
    assert [n.node.node_id for n in reply.source_nodes] == [n.node.node_id for n in reply.sources[0].raw_output.source_nodes]
