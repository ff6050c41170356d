"""The query engine where LlamaIndex composes query engines: a `QueryEngineTool`, a `RouterQueryEngine`."""

from __future__ import annotations

import asyncio

import pytest
from llama_index.core.base.response.schema import Response
from llama_index.core.chat_engine.types import AgentChatResponse
from llama_index.core.query_engine import RouterQueryEngine
from llama_index.core.selectors import EmbeddingSingleSelector
from llama_index.core.tools import QueryEngineTool

from assistant.answer.llm import build_llm
from assistant.types import CANNOT_ANSWER, Filters
from tests.conftest import DOC_CTD, DOC_NIFTAC

CTD_DESCRIPTION = "Provincial counter-terrorism departments (CTDs): their funding, training, intelligence skills and performance."
NIFTAC_DESCRIPTION = (
    "NIFTAC, the national intelligence fusion and threat assessment centre within NACTA, and civilian counter-terrorism."
)


def tools(assistant) -> list[QueryEngineTool]:  # type: ignore[no-untyped-def]
    return [
        QueryEngineTool.from_defaults(
            query_engine=assistant.as_query_engine(filters=Filters(doc_ids=[DOC_CTD])),
            name="ctd_editorial",
            description=CTD_DESCRIPTION,
        ),
        QueryEngineTool.from_defaults(
            query_engine=assistant.as_query_engine(filters=Filters(doc_ids=[DOC_NIFTAC])),
            name="niftac_editorial",
            description=NIFTAC_DESCRIPTION,
        ),
    ]


def assert_cited(assistant, resp: Response, doc_id: str) -> None:  # type: ignore[no-untyped-def]
    assert resp.source_nodes
    for i, n in enumerate(resp.source_nodes, start=1):
        assert f"[{i}]" in resp.response and n.node.ref_doc_id == doc_id
        assert assistant.document(doc_id).text[n.node.start_char_idx : n.node.end_char_idx] == n.node.get_content()


def test_query_engine_tool(corpus_assistant) -> None:  # type: ignore[no-untyped-def]
    ctd, niftac = tools(corpus_assistant)
    out = niftac.call("What is NIFTAC?")
    assert out.tool_name == "niftac_editorial" and not out.is_error
    assert isinstance(out.raw_output, Response) and out.content == out.raw_output.response
    assert_cited(corpus_assistant, out.raw_output, DOC_NIFTAC)
    # an agent's reply built from tool outputs gathers their source nodes: our cited spans
    reply = AgentChatResponse(response=out.content, sources=[out])
    assert [n.node.node_id for n in reply.source_nodes] == [n.node.node_id for n in out.raw_output.source_nodes]
    # the CTD tool only sees the CTD editorial: it refuses the NIFTAC question, asynchronously too
    refused = asyncio.run(ctd.acall("Where was NIFTAC approved?"))
    assert refused.content == CANNOT_ANSWER and refused.raw_output.source_nodes == []


@pytest.mark.llm
def test_router_with_embedding_selector(llm_assistant) -> None:  # type: ignore[no-untyped-def]
    """The selector embeds the tool descriptions with our MiniLM (no LLM call); the router's
    `llm` (required by RouterQueryEngine for multi-selection summaries) is the configured SmolLM2."""
    router = RouterQueryEngine(
        selector=EmbeddingSingleSelector.from_defaults(embed_model=llm_assistant.as_embed_model()),
        query_engine_tools=tools(llm_assistant),
        llm=build_llm(llm_assistant.settings),
    )
    for question, doc_id in (
        ("Why do the counter-terrorism departments lack funding?", DOC_CTD),
        ("What is NIFTAC?", DOC_NIFTAC),
    ):
        resp = router.query(question)
        assert isinstance(resp, Response) and resp.metadata is not None
        assert resp.metadata["selector_result"].ind == (0 if doc_id == DOC_CTD else 1)
        if not resp.metadata["refused"]:
            assert_cited(llm_assistant, resp, doc_id)
