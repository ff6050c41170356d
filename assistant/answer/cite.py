"""Citations: every marker [n] points at an exact span of a stored document's normalised text."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from assistant.types import Answer, Citation, Document

MARKER = re.compile(r"\[(\d+)\]")


def citation(n: int, doc: Document, chunk_id: str, start: int, end: int, answer: tuple[int, int] | None = None) -> Citation:
    """The citation of doc.text[start:end]; `answer` is the short answer's span in the document
    (inside the quote), stored as offsets into the quote."""
    if not (0 <= start < end <= len(doc.text)):
        raise ValueError(f"span {start}:{end} outside document {doc.doc_id} ({len(doc.text)} chars)")
    a_start = a_end = None
    if answer is not None and start <= answer[0] < answer[1] <= end:
        a_start, a_end = answer[0] - start, answer[1] - start
    pages = doc.pages_of(start, end)
    return Citation(
        n=n, doc_id=doc.doc_id, source=doc.source, title=doc.title, chunk_id=chunk_id, quote=doc.text[start:end], start=start, end=end,
        page=pages[0].n if pages else None,
        page_label=pages[0].label if pages else None,
        page_end=pages[-1].n if len(pages) > 1 else None,
        page_end_label=pages[-1].label if len(pages) > 1 else None,
        ocr=any(p.ocr for p in pages),
        section=doc.section_of(start),
        answer_start=a_start,
        answer_end=a_end,
    )


def markers(text: str) -> list[int]:
    return [int(m) for m in MARKER.findall(text)]


def citation_problems(answer: Answer, documents: Mapping[str, Document]) -> list[str]:
    """Empty when every quote equals its document span and every marker has a citation."""
    problems: list[str] = []
    by_n = {c.n: c for c in answer.citations}
    for c in answer.citations:
        doc = documents.get(c.doc_id)
        if doc is None:
            problems.append(f"[{c.n}] cites unknown document {c.doc_id!r}")
        elif doc.text[c.start : c.end] != c.quote:
            problems.append(f"[{c.n}] quote differs from {c.doc_id}[{c.start}:{c.end}]")
    for n in markers(answer.answer):
        if n not in by_n:
            problems.append(f"marker [{n}] has no citation")
    return problems


def renumber(citations: Sequence[Citation], order: Sequence[int]) -> dict[int, int]:
    """Map old marker numbers to 1..k in the order they first appear."""
    mapping: dict[int, int] = {}
    for n in order:
        if n not in mapping and any(c.n == n for c in citations):
            mapping[n] = len(mapping) + 1
    return mapping
