"""Helpers every `ct-assistant` command group shares: settings from flags, common flags, JSON
output, the text form of an answer, the usage error. Imported by `main`, `chat`, `serve` and
the `evals`/`benchmarks` command groups; imports nothing of the CLI itself."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


class UsageError(Exception):
    """A command line that parses but cannot run (printed as one line, exit 2)."""


def settings_from(args: argparse.Namespace) -> Any:
    """Settings from the environment, overridden by --store and other common flags."""
    from assistant.config import Settings

    overrides: dict[str, Any] = {}
    if getattr(args, "store", None):
        overrides["store"] = Path(args.store).expanduser()
    for flag in ("chroma_host", "chroma_port", "catalog_url", "llm_backend", "llm_base_url", "llm_model", "llm_gguf_path"):
        value = getattr(args, flag, None)
        if value is not None:
            overrides[flag] = value
    if getattr(args, "strict", False):
        overrides["strict"] = True
    return Settings(**overrides)


def add_store_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", help="store directory (default: $CT_ASSISTANT_STORE or ~/.local/share/ct-assistant/store)")
    p.add_argument("--chroma-host", dest="chroma_host", help="use a Chroma server instead of the local store")
    p.add_argument("--chroma-port", dest="chroma_port", type=int)
    p.add_argument("--catalog-url", dest="catalog_url", help="shared catalog in PostgreSQL (postgresql://user:pw@host:5432/db; needs --chroma-host)")


def add_llm_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--llm", dest="llm_backend", choices=["none", "openai", "llamacpp"], help="answer with an LLM (default: none = extractive)")
    p.add_argument("--llm-base-url", dest="llm_base_url", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1")
    p.add_argument("--llm-model", dest="llm_model")
    p.add_argument("--llm-gguf", dest="llm_gguf_path", help="GGUF file for --llm llamacpp")
    p.add_argument("--strict", action="store_true", help="drop answer sentences the judge finds unsupported")


def emit(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def filters_from(args: argparse.Namespace) -> Any:
    from assistant.types import Filters

    return Filters(doc_ids=args.doc or [], sources=args.source or [], date_from=args.date_from, date_to=args.date_to)


def _where(c: dict[str, Any]) -> str:
    """"p. 14" / "pp. 3-4" / "p. 4 (OCR)" for a paged source, else the character range."""
    from assistant.types import Citation

    where = Citation.model_validate(c).page_text() or f"characters {c['start']}-{c['end']}"
    return f"§ {c['section']}, {where}" if c.get("section") else where


def plural(n: int, word: str) -> str:
    """"1 chunk", "12 chunks"."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def filters_text(filters: Any) -> str | None:
    """The active filters in words ("documents dated 2025-01-01 or later; document 002_x"), or None."""
    if filters is None or filters.is_empty():
        return None
    parts = []
    if filters.date_from and filters.date_to:
        parts.append(f"documents dated {filters.date_from} to {filters.date_to}")
    elif filters.date_from:
        parts.append(f"documents dated {filters.date_from} or later")
    elif filters.date_to:
        parts.append(f"documents dated {filters.date_to} or earlier")
    if filters.doc_ids:
        parts.append(("document " if len(filters.doc_ids) == 1 else "documents ") + ", ".join(filters.doc_ids))
    if filters.sources:
        parts.append(("source " if len(filters.sources) == 1 else "sources ") + ", ".join(filters.sources))
    return "; ".join(parts)


def marked_quote(c: dict[str, Any]) -> str:
    """The quote, with the reader's short answer inside it marked **like this** when it found one."""
    quote = c["quote"]
    a, b = c.get("answer_start"), c.get("answer_end")
    if a is None or b is None or not 0 <= a < b <= len(quote):
        return quote
    return f"{quote[:a]}**{quote[a:b]}**{quote[b:]}"


def format_answer(d: dict[str, Any], filters: Any = None) -> str:
    """The text form of an answer JSON; `filters` (the `Filters` asked with) are named under a refusal."""
    lines = [d["answer"]]
    if d.get("standalone_question") and d["standalone_question"] != d["question"]:
        lines.insert(0, f"(understood as: {d['standalone_question']})")
    if d["refused"] and d.get("refusal_reason"):
        lines.append(f"(reason: {d['refusal_reason']})")
    searched = filters_text(filters) if d["refused"] else None
    if searched:
        lines.append(f"(searched only: {searched})")
    if d.get("notice"):
        lines.append(f"(note: {d['notice']})")
    for s in d.get("sentences", []):
        if not s.get("supported", True):
            lines.append(f"(unsupported by its sources: {s['text'][:80]}...)")
    if d["citations"]:
        lines.append("")
        lines.append("Sources:")
        for c in d["citations"]:
            lines.append(f"[{c['n']}] {c['title']} ({c['doc_id']}, {_where(c)})")
            lines.append(f"    \"{marked_quote(c)}\"")
    return "\n".join(lines)
