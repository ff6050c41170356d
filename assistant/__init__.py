"""ct-assistant: answers about counter-terrorism policy documents, each sentence citing its exact passage.

    from assistant import Assistant
    a = Assistant.open(store="data/store")
    a.ingest(["data/corpus"])
    answer = a.ask("Why did NACTA struggle with CTD integration?")   # answer.to_dict() -> JSON

Heavy dependencies (torch, chromadb) load lazily, on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assistant.types import CANNOT_ANSWER, Answer, Citation, Context, Document, Filters, IngestReport

if TYPE_CHECKING:
    from assistant.api import Assistant
    from assistant.config import Settings

__all__ = ["Assistant", "Settings", "Answer", "Citation", "Context", "Document", "Filters", "IngestReport", "CANNOT_ANSWER"]


def __getattr__(name: str) -> Any:
    if name == "Assistant":
        from assistant.api import Assistant

        return Assistant
    if name == "Settings":
        from assistant.config import Settings

        return Settings
    raise AttributeError(name)
