"""`Assistant.as_query_engine()`: `Assistant.ask` as a LlamaIndex `BaseQueryEngine`.

`query()` returns a `Response` (see `nodes.to_response`); with `streaming=True` an
`AnswerStream` (a `StreamingResponse`) whose generator yields the answer's pieces as
`Assistant.ask_stream` makes them. Its `source_nodes` and `metadata` are filled in place once the
final `Answer` is known: at once in extractive mode (the answer is complete before the first
piece), when the stream ends with an LLM (whose streamed draft is then replaced by the verified
answer: `get_response()` / `str()` give the verified text).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.base.response.schema import RESPONSE_TYPE, Response, StreamingResponse
from llama_index.core.callbacks import CallbackManager
from llama_index.core.schema import NodeWithScore, QueryBundle

from assistant.llamaindex.nodes import source_nodes, to_filters, to_response
from assistant.llamaindex.retriever import AssistantRetriever
from assistant.llamaindex.source import AssistantLike
from assistant.types import Answer


@dataclass
class AnswerStream(StreamingResponse):
    """A `StreamingResponse` that also keeps the final `Answer` (None until the stream ends)."""

    answer: Answer | None = None

    def get_response(self) -> Response:
        for _ in self.response_gen or ():  # drain; the generator records the answer
            pass
        self.response_gen = iter(())
        assert self.answer is not None
        self.response_txt = self.answer.answer
        return Response(self.response_txt, self.source_nodes, self.metadata)

    def __str__(self) -> str:
        return self.get_response().response or ""


class AssistantQueryEngine(BaseQueryEngine):
    def __init__(self, assistant: AssistantLike, top_k: int | None = None, filters: Any = None, streaming: bool = False) -> None:
        super().__init__(callback_manager=CallbackManager([]))
        self.assistant = assistant
        self.top_k = top_k
        self.filters = to_filters(filters)
        self.streaming = streaming

    def _get_prompt_modules(self) -> dict[str, Any]:
        return {}

    def retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return AssistantRetriever(self.assistant, self.top_k, self.filters).retrieve(query_bundle)

    def _query(self, query_bundle: QueryBundle) -> RESPONSE_TYPE:
        if self.streaming:
            return self._stream(query_bundle.query_str)
        return to_response(self.assistant.ask(query_bundle.query_str, top_k=self.top_k, filters=self.filters))

    async def _aquery(self, query_bundle: QueryBundle) -> RESPONSE_TYPE:
        return await asyncio.to_thread(self._query, query_bundle)

    def _stream(self, question: str) -> AnswerStream:
        items = self.assistant.ask_stream(question, top_k=self.top_k, filters=self.filters)
        stream = AnswerStream(response_gen=iter(()), source_nodes=[], metadata={})
        if self.assistant.settings.llm_backend == "none":  # computed whole anyway: sources known up front
            *pieces, answer = list(items)
            assert isinstance(answer, Answer)
            _finish(stream, answer)
            stream.response_gen = iter([p for p in pieces if isinstance(p, str)])
            return stream
        first = next(items)  # errors (empty question, bad filter) surface here, not mid-stream
        if isinstance(first, Answer):
            _finish(stream, first)
            stream.response_gen = iter([first.answer])
            return stream

        def gen() -> Iterator[str]:
            yield first
            for item in items:
                if isinstance(item, Answer):
                    _finish(stream, item)
                else:
                    yield item

        stream.response_gen = gen()
        return stream


def _finish(stream: AnswerStream, answer: Answer) -> None:
    stream.answer = answer
    stream.source_nodes[:] = source_nodes(answer)
    assert stream.metadata is not None
    stream.metadata.clear()
    stream.metadata.update(answer.to_dict())
