"""The assistant as LlamaIndex retriever, query engine and chat engine, over the real corpus store."""

from __future__ import annotations

import asyncio

import pytest
from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.response.schema import Response, StreamingResponse
from llama_index.core.chat_engine.types import AgentChatResponse, BaseChatEngine, StreamingAgentChatResponse
from llama_index.core.llms import MessageRole
from llama_index.core.schema import NodeWithScore, QueryBundle
from llama_index.core.vector_stores.types import FilterOperator, MetadataFilter, MetadataFilters

from assistant.errors import EmptyQuestionError, InvalidFilterError, UnknownDocumentError
from assistant.types import CANNOT_ANSWER, Filters
from tests.conftest import DOC_CTD, DOC_NIFTAC

OFF_TOPIC = "What is the boiling point of mercury on Mars?"


def assert_spans_exact(assistant, nodes: list[NodeWithScore]) -> None:  # type: ignore[no-untyped-def]
    assert nodes
    for n in nodes:
        node = n.node
        assert node.ref_doc_id == node.metadata["doc_id"]
        doc = assistant.document(node.ref_doc_id)
        assert doc.text[node.start_char_idx : node.end_char_idx] == node.get_content()
        assert node.metadata["source"] == doc.source and node.metadata["title"] == doc.title
        assert node.metadata["date"] == doc.date


# --- retriever -------------------------------------------------------------------------------------
def test_retriever_nodes_are_our_chunks_with_exact_spans(corpus_assistant) -> None:  # type: ignore[no-untyped-def]
    r = corpus_assistant.as_retriever(top_k=5)
    assert isinstance(r, BaseRetriever)
    nodes = r.retrieve("What is NIFTAC?")
    contexts = corpus_assistant.retrieve("What is NIFTAC?", top_k=5)
    assert [n.node.node_id for n in nodes] == [c.chunk_id for c in contexts]
    assert [n.score for n in nodes] == pytest.approx([c.score for c in contexts])
    assert [n.node.get_content() for n in nodes] == [c.text for c in contexts]
    assert_spans_exact(corpus_assistant, nodes)
    # a QueryBundle works the same, and the async path gives the same nodes
    assert [n.node.node_id for n in r.retrieve(QueryBundle("What is NIFTAC?"))] == [c.chunk_id for c in contexts]
    assert [n.node.node_id for n in asyncio.run(r.aretrieve("What is NIFTAC?"))] == [c.chunk_id for c in contexts]


def test_retriever_modes_and_filters(corpus_assistant) -> None:  # type: ignore[no-untyped-def]
    q = "counter-terrorism departments funding"
    for mode in ("dense", "lexical"):
        nodes = corpus_assistant.as_retriever(top_k=3, mode=mode).retrieve(q)
        assert [n.node.node_id for n in nodes] == [c.chunk_id for c in corpus_assistant.retrieve(q, top_k=3, mode=mode)]
    only = MetadataFilters(filters=[MetadataFilter(key="doc_id", value=DOC_NIFTAC, operator=FilterOperator.EQ)])
    for filters in (only, Filters(doc_ids=[DOC_NIFTAC]), {"doc_ids": [DOC_NIFTAC]}):
        nodes = corpus_assistant.as_retriever(top_k=10, filters=filters).retrieve(q)
        assert nodes and {n.node.ref_doc_id for n in nodes} == {DOC_NIFTAC}
    with pytest.raises(InvalidFilterError):
        corpus_assistant.as_retriever(filters=MetadataFilters(filters=[MetadataFilter(key="author", value="x")]))
    with pytest.raises(InvalidFilterError, match="filters.doc_id="):
        corpus_assistant.as_query_engine(filters={"doc_id": DOC_NIFTAC})  # a typo is not silently ignored
    with pytest.raises(UnknownDocumentError):
        corpus_assistant.as_retriever(filters=Filters(doc_ids=["nope"])).retrieve(q)


# --- query engine ----------------------------------------------------------------------------------
def test_query_engine_source_nodes_are_the_citations_in_marker_order(corpus_assistant) -> None:  # type: ignore[no-untyped-def]
    engine = corpus_assistant.as_query_engine()
    assert isinstance(engine, BaseQueryEngine)
    resp = engine.query("What is NIFTAC?")
    assert isinstance(resp, Response)
    answer = corpus_assistant.ask("What is NIFTAC?")
    assert resp.response == answer.answer and not answer.refused
    assert resp.metadata is not None
    assert resp.metadata["refused"] is False and resp.metadata["mode"] == "extractive"
    assert resp.metadata["citations"] == [c.to_dict() for c in answer.citations]
    assert resp.metadata["sentences"] and all("supported" in s for s in resp.metadata["sentences"])
    assert len(resp.source_nodes) == len(answer.citations)
    for i, (n, c) in enumerate(zip(resp.source_nodes, answer.citations, strict=True), start=1):
        assert f"[{i}]" in resp.response and n.node.metadata["citation"] == c.n == i
        assert (n.node.get_content(), n.node.start_char_idx, n.node.end_char_idx) == (c.quote, c.start, c.end)
        assert n.node.metadata["chunk_id"] == c.chunk_id
    assert_spans_exact(corpus_assistant, resp.source_nodes)
    assert resp.source_nodes[0].node.node_id in resp.get_formatted_sources()


def test_query_engine_refusal_is_our_text_without_sources(corpus_assistant) -> None:  # type: ignore[no-untyped-def]
    resp = corpus_assistant.as_query_engine().query(OFF_TOPIC)
    assert isinstance(resp, Response)
    assert resp.response == CANNOT_ANSWER
    assert resp.source_nodes == []
    assert resp.metadata is not None and resp.metadata["refused"] is True and resp.metadata["refusal_reason"]


def test_query_engine_async_matches_sync(corpus_assistant) -> None:  # type: ignore[no-untyped-def]
    engine = corpus_assistant.as_query_engine(top_k=5, filters=Filters(doc_ids=[DOC_CTD]))
    sync = engine.query("What do CTDs lack clarity on?")

    async def both() -> list:  # type: ignore[type-arg]
        return await asyncio.gather(engine.aquery("What do CTDs lack clarity on?"), engine.aquery(OFF_TOPIC))

    answered, refused = asyncio.run(both())
    assert answered.response == sync.response and not answered.metadata["refused"]
    assert [n.node.node_id for n in answered.source_nodes] == [n.node.node_id for n in sync.source_nodes]
    assert {n.node.ref_doc_id for n in answered.source_nodes} == {DOC_CTD}
    assert refused.response == CANNOT_ANSWER and refused.source_nodes == []


def test_query_engine_streaming(corpus_assistant) -> None:  # type: ignore[no-untyped-def]
    engine = corpus_assistant.as_query_engine(streaming=True)
    stream = engine.query("What do both editorials say about NACTA?")
    assert isinstance(stream, StreamingResponse)
    pieces = list(stream.response_gen)
    answer = corpus_assistant.ask("What do both editorials say about NACTA?")
    assert len(pieces) == len(answer.conflicts) + len(answer.sentences) and len(answer.sentences) > 1
    assert "".join(pieces) == answer.answer
    assert [n.node.get_content() for n in stream.source_nodes] == [c.quote for c in answer.citations]
    assert_spans_exact(corpus_assistant, stream.source_nodes)
    full = stream.get_response()
    assert full.response == answer.answer and full.metadata["citations"] == [c.to_dict() for c in answer.citations]
    # async streaming and a streamed refusal
    refused = asyncio.run(engine.aquery(OFF_TOPIC))
    assert isinstance(refused, StreamingResponse)
    assert str(refused) == CANNOT_ANSWER and refused.source_nodes == []


def test_query_engine_rejects_an_empty_question(corpus_assistant) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(EmptyQuestionError):
        corpus_assistant.as_query_engine().query("  ?? ")
    with pytest.raises(EmptyQuestionError):
        corpus_assistant.as_query_engine(streaming=True).query("")


# --- chat engine -----------------------------------------------------------------------------------
def test_chat_engine_follow_up(corpus_assistant) -> None:  # type: ignore[no-untyped-def]
    engine = corpus_assistant.as_chat_engine()
    assert isinstance(engine, BaseChatEngine)
    first = engine.chat("What is NIFTAC?")
    assert isinstance(first, AgentChatResponse) and "NIFTAC" in first.response
    second = engine.chat("Where was it approved?")
    assert second.metadata is not None
    assert second.metadata["standalone_question"] == "Where was NIFTAC approved?"
    assert not second.metadata["refused"] and "Board of Governors" in second.response
    # sources: one tool output whose raw output is the query engine's Response; nodes = cited spans
    (tool,) = second.sources
    assert isinstance(tool.raw_output, Response) and tool.raw_output.response == second.response
    assert [n.node.node_id for n in second.source_nodes] == [n.node.node_id for n in tool.raw_output.source_nodes]
    assert [n.node.get_content() for n in second.source_nodes] == [c["quote"] for c in second.metadata["citations"]]
    assert_spans_exact(corpus_assistant, second.source_nodes)
    history = engine.chat_history
    assert [m.role for m in history] == [MessageRole.USER, MessageRole.ASSISTANT] * 2
    assert history[2].content == "Where was it approved?" and history[3].content == second.response
    engine.reset()
    assert engine.chat_history == []
    alone = engine.chat("Where was it approved?")  # no conversation: nothing to rewrite with
    assert alone.metadata["standalone_question"] == "Where was it approved?"


def test_chat_engine_streams_and_takes_a_given_history(corpus_assistant) -> None:  # type: ignore[no-untyped-def]
    engine = corpus_assistant.as_chat_engine()
    engine.chat("What is NIFTAC?")
    stream = engine.stream_chat("Where was it approved?")
    assert isinstance(stream, StreamingAgentChatResponse)
    text = "".join(stream.response_gen)
    assert stream.response == text.strip() and "Board of Governors" in text
    assert stream.source_nodes and stream.sources[0].raw_output.metadata["standalone_question"] == "Where was NIFTAC approved?"
    assert_spans_exact(corpus_assistant, stream.source_nodes)
    assert len(engine.chat_history) == 4

    other = corpus_assistant.as_chat_engine()
    given = other.chat("Where was it approved?", chat_history=engine.chat_history[:2])
    assert given.metadata["standalone_question"] == "Where was NIFTAC approved?"

    async def astream() -> tuple[str, int]:
        s = await other.astream_chat("When was it approved?")
        out = "".join([d async for d in s.async_response_gen()])
        return out, len(s.source_nodes)

    out, n_sources = asyncio.run(astream())
    assert out and (n_sources > 0) == ("[1]" in out)
    reply = asyncio.run(other.achat("What about NACTA?"))
    assert reply.metadata["standalone_question"] != "What about NACTA?"
