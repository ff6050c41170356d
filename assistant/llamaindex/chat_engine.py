"""`Assistant.as_chat_engine()`: a `ChatSession` as a LlamaIndex `BaseChatEngine`.

Follow-ups are rewritten by the session (deterministically, or by the configured LLM with its
checks), answered by `Assistant.ask`; each reply is an `AgentChatResponse` whose `sources` hold
one `ToolOutput` (tool `ct_assistant`, `raw_output` = the `Response` of `nodes.to_response`) and
whose `source_nodes` are the cited spans in marker order. `stream_chat` gives a
`StreamingAgentChatResponse` fed by `ChatSession.stream`; its sources are filled when the stream
ends, and its final `response` is the verified answer text.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole
from llama_index.core.chat_engine.types import AgentChatResponse, BaseChatEngine, StreamingAgentChatResponse
from llama_index.core.tools.types import ToolOutput

from assistant.chat import ChatSession, StreamEvent
from assistant.llamaindex.nodes import source_nodes, to_filters, to_response
from assistant.llamaindex.source import AssistantLike
from assistant.types import Answer

TOOL_NAME = "ct_assistant"


def _tool_output(message: str, answer: Answer) -> ToolOutput:
    raw_input = {"question": message, "standalone_question": answer.standalone_question or answer.question}
    return ToolOutput(tool_name=TOOL_NAME, content=answer.answer, raw_input=raw_input, raw_output=to_response(answer))


@dataclass
class AnswerChatStream(StreamingAgentChatResponse):
    """A `StreamingAgentChatResponse` that keeps the final `Answer` and reports its text at the end."""

    answer: Answer | None = None

    @property
    def response_gen(self) -> Iterator[str]:  # type: ignore[override]
        assert self.chat_stream is not None
        for r in self.chat_stream:
            self.unformatted_response += r.delta or ""
            yield r.delta or ""
        if self.answer is not None:
            self.response = self.answer.answer

    async def async_response_gen(self) -> AsyncIterator[str]:  # type: ignore[override]
        assert self.achat_stream is not None
        async for r in self.achat_stream:
            self.unformatted_response += r.delta or ""
            yield r.delta or ""
        if self.answer is not None:
            self.response = self.answer.answer

    def __str__(self) -> str:
        if self.answer is None and self.chat_stream is not None:
            for _ in self.response_gen:
                pass
        return self.response


class AssistantChatEngine(BaseChatEngine):
    def __init__(self, assistant: AssistantLike, top_k: int | None = None, filters: Any = None) -> None:
        self.assistant = assistant
        self.top_k = top_k
        self.filters = to_filters(filters)
        self.session: ChatSession = assistant.chat()

    # --- history
    def reset(self) -> None:
        self.session.reset()

    @property
    def chat_history(self) -> list[ChatMessage]:
        out = []
        for user, answer in self.session.history:
            out.append(ChatMessage(role=MessageRole.USER, content=user))
            out.append(ChatMessage(role=MessageRole.ASSISTANT, content=answer.answer))
        return out

    def _use_history(self, chat_history: list[ChatMessage] | None) -> None:
        """A caller-given history replaces the session's (LlamaIndex's `chat(msg, chat_history)`)."""
        if chat_history is None:
            return
        self.session = self.assistant.chat()
        user: str | None = None
        for m in chat_history:
            if m.role == MessageRole.USER:
                user = m.content or ""
            elif m.role == MessageRole.ASSISTANT and user is not None:
                reply = m.content or ""
                self.session.history.append((user, Answer(question=user, answer=reply, refused=False, mode="history")))
                user = None

    # --- turns
    def chat(self, message: str, chat_history: list[ChatMessage] | None = None) -> AgentChatResponse:
        self._use_history(chat_history)
        answer = self.session.send(message, filters=self.filters, top_k=self.top_k)
        return AgentChatResponse(
            response=answer.answer,
            sources=[_tool_output(message, answer)],
            source_nodes=source_nodes(answer),
            metadata=answer.to_dict(),
        )

    def stream_chat(self, message: str, chat_history: list[ChatMessage] | None = None) -> AnswerChatStream:
        self._use_history(chat_history)
        events = self.session.stream(message, filters=self.filters, top_k=self.top_k)
        first = next(events)  # errors (an empty message) surface here, not mid-stream
        stream = AnswerChatStream(is_writing_to_memory=False)
        stream.chat_stream = self._deltas(message, stream, first, events)
        return stream

    def _deltas(
        self, message: str, stream: AnswerChatStream, first: StreamEvent, events: Iterator[StreamEvent]
    ) -> Iterator[ChatResponse]:
        text = ""
        for ev in _chain(first, events):
            if ev.kind == "delta":
                text += ev.text
                yield ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text), delta=ev.text)
            elif ev.kind == "answer" and ev.answer is not None:
                stream.answer = ev.answer
                stream.sources[:] = [_tool_output(message, ev.answer)]
                stream.source_nodes[:] = source_nodes(ev.answer)

    async def achat(self, message: str, chat_history: list[ChatMessage] | None = None) -> AgentChatResponse:
        return await asyncio.to_thread(self.chat, message, chat_history)

    async def astream_chat(self, message: str, chat_history: list[ChatMessage] | None = None) -> AnswerChatStream:
        stream = await asyncio.to_thread(self.stream_chat, message, chat_history)
        sync = stream.chat_stream
        assert sync is not None

        async def agen() -> AsyncIterator[ChatResponse]:
            while True:
                r = await asyncio.to_thread(next, sync, None)
                if r is None:
                    return
                yield r

        stream.chat_stream, stream.achat_stream = None, agen()
        return stream


def _chain(first: StreamEvent, rest: Iterator[StreamEvent]) -> Iterator[StreamEvent]:
    yield first
    yield from rest
