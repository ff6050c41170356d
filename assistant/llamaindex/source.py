"""What the LlamaIndex adapters need of the assistant behind them (a protocol: no import of the facade)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

from assistant.config import Settings
from assistant.types import Answer, Context, Document, Filters

if TYPE_CHECKING:
    from assistant.chat import ChatSession


class AssistantLike(Protocol):
    """`assistant.api.Assistant` satisfies this."""

    settings: Settings

    def retrieve(
        self, question: str, top_k: int | None = None, filters: Filters | None = None, mode: Any = "hybrid"
    ) -> list[Context]: ...

    def ask(
        self, question: str, top_k: int | None = None, filters: Filters | None = None, *, standalone: str | None = None
    ) -> Answer: ...

    def ask_stream(
        self, question: str, top_k: int | None = None, filters: Filters | None = None, *, standalone: str | None = None
    ) -> Iterator[str | Answer]: ...

    def chat(self) -> ChatSession: ...

    def document(self, doc_id: str) -> Document: ...
