"""`Assistant.as_retriever()`: our hybrid retriever as a LlamaIndex `BaseRetriever`."""

from __future__ import annotations

import asyncio
from typing import Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle

from assistant.llamaindex.nodes import context_node, to_filters
from assistant.llamaindex.source import AssistantLike


class AssistantRetriever(BaseRetriever):
    """`retrieve(str | QueryBundle)` -> the chunks `Assistant.retrieve` finds, best first, as nodes."""

    def __init__(self, assistant: AssistantLike, top_k: int | None = None, filters: Any = None, mode: str = "hybrid") -> None:
        super().__init__()
        self.assistant = assistant
        self.top_k = top_k
        self.filters = to_filters(filters)
        self.mode = mode

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        contexts = self.assistant.retrieve(query_bundle.query_str, top_k=self.top_k, filters=self.filters, mode=self.mode)
        return [context_node(c) for c in contexts]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return await asyncio.to_thread(self._retrieve, query_bundle)
