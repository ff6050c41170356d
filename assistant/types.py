"""Our own types at every boundary: Document -> Chunk -> Context -> Answer (with Citations).

LlamaIndex and Chroma objects never leave the modules that use them; these do.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

#: The one refusal text. Shared by the extractive and LLM answerers, the UI and the evals.
CANNOT_ANSWER = "The documents don't say. I could not find a passage that answers this question."


class SectionSpan(BaseModel):
    """A heading of the source (DOCX "Heading n"/"Title" paragraphs): its text starts at `text[start:]`."""

    model_config = ConfigDict(frozen=True)

    title: str
    start: int


class PageSpan(BaseModel):
    """One page of a paged source (PDF): `text[start:end]` of the document is its text."""

    model_config = ConfigDict(frozen=True)

    n: int  # 1-based page number in the file
    label: str | None = None  # the PDF's page label ("ii", "14") where it has one
    start: int
    end: int
    ocr: bool = False  # text read by OCR from a scanned page


class Document(BaseModel):
    """A source file turned into normalised text. Citations are offsets into `text`."""

    model_config = ConfigDict(frozen=True)

    doc_id: str
    source: str
    title: str
    date: str | None = None  # ISO YYYY-MM-DD where the text (or its metadata) states one
    text: str
    content_hash: str = ""
    pages: list[PageSpan] | None = None  # PDFs: the page map; None for unpaged formats
    sections: list[SectionSpan] | None = None  # DOCX: headings and where they start in `text`; None without headings

    def pages_of(self, start: int, end: int) -> list[PageSpan]:
        """The pages a span `text[start:end]` touches (empty for unpaged documents)."""
        if not self.pages:
            return []
        hit = [p for p in self.pages if p.start < end and start < p.end]
        if not hit:  # a span in the gap between two pages: the page before it
            before = [p for p in self.pages if p.start <= start]
            hit = before[-1:] or self.pages[:1]
        return hit

    def section_of(self, start: int) -> str | None:
        """The title of the section a span starting at `start` lies in (the last heading before it)."""
        title = None
        for sec in self.sections or ():
            if sec.start > start:
                break
            title = sec.title
        return title

    def meta(self) -> dict[str, Any]:
        return {"doc_id": self.doc_id, "source": self.source, "title": self.title, "date": self.date}


class Chunk(BaseModel):
    """A sentence-aligned slice of a Document: `document.text[start:end] == text`."""

    model_config = ConfigDict(frozen=True)

    chunk_id: str
    doc_id: str
    ordinal: int
    start: int
    end: int
    text: str
    n_tokens: int = 0


class Context(BaseModel):
    """A retrieved chunk, with its fused score and the document fields needed to cite it."""

    chunk_id: str
    doc_id: str
    score: float
    text: str
    start: int
    end: int
    source: str = ""
    title: str = ""
    date: str | None = None
    dense_rank: int | None = None
    dense_score: float | None = None  # cosine similarity of the chunk to the question
    lexical_rank: int | None = None
    page: int | None = None  # first page of the chunk in a paged source (PDF), 1-based; None for unpaged
    page_label: str | None = None  # that page's printed label where the PDF has labels

    def to_dict(self) -> dict[str, Any]:
        return {"chunk_id": self.chunk_id, "doc_id": self.doc_id, "score": round(self.score, 6), "text": self.text}


class Citation(BaseModel):
    """Marker `[n]` in an answer points at `quote == document(doc_id).text[start:end]`."""

    n: int
    doc_id: str
    source: str
    title: str
    chunk_id: str
    quote: str
    start: int
    end: int
    page: int | None = None  # 1-based first page of the span (PDFs); None for unpaged formats
    page_label: str | None = None  # that page's label where the PDF has labels
    page_end: int | None = None  # last page when the span crosses a page break, else None
    page_end_label: str | None = None  # that last page's label
    ocr: bool = False  # the quoted text was read by OCR from a scanned page
    section: str | None = None  # the heading the quote falls under (DOCX with headings), else None
    #: the short answer the span reader found, as offsets into `quote` (quote[answer_start:answer_end]); None without one
    answer_start: int | None = None
    answer_end: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()

    @property
    def short_answer(self) -> str | None:
        """The reader's short answer inside the quote, when it found one."""
        if self.answer_start is None or self.answer_end is None:
            return None
        return self.quote[self.answer_start : self.answer_end]

    def page_text(self) -> str | None:
        """"p. 14", "pp. 3-4", "p. ii" (label) or None."""
        if self.page is None:
            return None
        first = self.page_label or str(self.page)
        text = f"pp. {first}-{self.page_end_label or self.page_end}" if self.page_end else f"p. {first}"
        return text + (" (OCR)" if self.ocr else "")


class AnswerSentence(BaseModel):
    """One sentence of an answer, the citation markers it carries and whether it is supported."""

    text: str
    citations: list[int] = Field(default_factory=list)
    supported: bool = True
    score: float | None = None  # support score from the grounding judge, when one ran


class Timings(BaseModel):
    retrieve: float = 0.0
    generate: float = 0.0
    total: float = 0.0


class Answer(BaseModel):
    question: str
    answer: str
    refused: bool
    mode: str  # "extractive" or the LLM's model name
    citations: list[Citation] = Field(default_factory=list)
    contexts: list[Context] = Field(default_factory=list)
    sentences: list[AnswerSentence] = Field(default_factory=list)
    timings_ms: Timings = Field(default_factory=Timings)
    standalone_question: str | None = None
    refusal_reason: str | None = None
    refusal_score: float | None = None  # the best sentence's probability of answering, when refused
    conflicts: list[str] = Field(default_factory=list)  # "Sources disagree: ..." notes, citing both sides
    notice: str | None = None  # e.g. "LLM unavailable; extractive fallback"
    spelling: dict[str, str] = Field(default_factory=dict)  # misspelled question words read as store words {typed: read as}

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "standalone_question": self.standalone_question or self.question,
            "answer": self.answer,
            "refused": self.refused,
            "refusal_reason": self.refusal_reason,
            "refusal_score": self.refusal_score,
            "conflicts": list(self.conflicts),
            "mode": self.mode,
            "notice": self.notice,
            "spelling": dict(self.spelling),
            "citations": [c.to_dict() for c in self.citations],
            "sentences": [s.model_dump() for s in self.sentences],
            "contexts": [c.to_dict() for c in self.contexts],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.model_dump().items()},
        }


class Failure(BaseModel):
    path: str
    error: str


class IngestReport(BaseModel):
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: list[Failure] = Field(default_factory=list)
    warnings: list[Failure] = Field(default_factory=list)  # read with gaps, e.g. a scanned page skipped (no Tesseract)
    skipped: int = 0  # files met walking a folder that are not documents (.py, .DS_Store, Thumbs.db): not read
    documents: int = 0  # documents in the store after the run
    chunks: int = 0  # chunks in the store after the run
    embedded: int = 0  # chunks embedded by this run (0 when nothing changed)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()


class DocumentInfo(BaseModel):
    """A document's listing entry (no text)."""

    doc_id: str
    source: str
    title: str
    date: str | None
    chunks: int
    chars: int


class Filters(BaseModel):
    """Restrict retrieval to documents by id, source path, or date range (inclusive, ISO dates)."""

    doc_ids: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    date_from: str | None = None
    date_to: str | None = None

    def is_empty(self) -> bool:
        return not (self.doc_ids or self.sources or self.date_from or self.date_to)
