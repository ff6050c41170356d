"""The Python API: `Assistant.open(store=...)`, `.ingest()`, `.ask()`, `.document()`, `.documents()`.

An edge module like the CLI: it composes the components (store, ingest, retriever, answerer)
and is the only module of `assistant` that imports `ingest`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.config import Settings
from assistant.encode.embed import Embedder
from assistant.errors import EmptyQuestionError, InvalidFilterError, UnknownDocumentError
from assistant.answer.extract import ExtractiveAnswerer, idf_weights
from assistant.text.lexical import terms
from assistant.retrieve.hybrid import HybridRetriever, Mode
from assistant.store.store import Store, store_exists
from assistant.types import Answer, Context, Document, DocumentInfo, Filters, IngestReport

if TYPE_CHECKING:
    from collections.abc import Iterator

    from assistant.answer.generate import Generator
    from assistant.chat import ChatSession

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 4000


class Assistant:
    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or Embedder(settings.embed_model_path, settings.embed_precision, settings.embed_batch_size)
        self._store: Store | None = None
        self._generator: Generator | None = None  # LLM answerer, built on first use when configured

    @classmethod
    def open(cls, store: str | Path | None = None, settings: Settings | None = None, **overrides: Any) -> Assistant:
        """Open (or prepare to create) the store; `settings` come from the environment by default."""
        s = settings or Settings()
        if store is not None or overrides:
            s = s.model_copy(update={**({"store": Path(store).expanduser()} if store is not None else {}), **overrides})
            s = Settings.model_validate(s.model_dump())
        return cls(s)

    # --- store -------------------------------------------------------------------
    def store(self, create: bool = False) -> Store:
        if self._store is None or (create and not store_exists(self.settings.store)):
            self._store = Store(self.settings, self.embedder, create=create)
        return self._store

    def ingest(self, paths: Iterable[str | Path], prune: bool = False, show_progress: bool = False) -> IngestReport:
        from ingest.pipeline import Ingestor

        return Ingestor(self.store(create=True), show_progress=show_progress).ingest_paths([Path(p) for p in paths], prune=prune)

    def ingest_documents(self, docs: Iterable[Document], show_progress: bool = False) -> IngestReport:
        """Ingest documents that are already text (benchmarks, other pipelines)."""
        from ingest.pipeline import Ingestor

        return Ingestor(self.store(create=True), show_progress=show_progress).ingest_documents(docs)

    def document(self, doc_id: str) -> Document:
        doc = self.store().catalog.document(doc_id)
        if doc is None:
            raise UnknownDocumentError(doc_id)
        return doc

    def documents(self) -> list[DocumentInfo]:
        return self.store().catalog.list_documents()

    # --- questions -----------------------------------------------------------------
    def _check(self, question: str, filters: Filters | None, top_k: int | None = None) -> tuple[str, Filters]:
        if top_k is not None and not 1 <= top_k <= 100:
            raise InvalidFilterError("top_k", top_k, "must be between 1 and 100")
        q = " ".join((question or "").split())
        if not q or not any(ch.isalnum() for ch in q):
            raise EmptyQuestionError(question)
        if len(q) > MAX_QUESTION_CHARS:
            raise InvalidFilterError("question", q[:40] + "...", f"longer than {MAX_QUESTION_CHARS} characters")
        f = filters or Filters()
        catalog = self.store().catalog
        for doc_id in f.doc_ids:
            if not catalog.has_document(doc_id):
                raise UnknownDocumentError(doc_id)
        for d in (f.date_from, f.date_to):
            if d is not None and not _is_iso_date(d):
                raise InvalidFilterError("date", d, "want YYYY-MM-DD")
        return q, f

    def retrieve(self, question: str, top_k: int | None = None, filters: Filters | None = None, mode: Mode = "hybrid") -> list[Context]:
        q, f = self._check(question, filters, top_k)
        return self._retriever().retrieve(q, top_k or self.settings.top_k, f, mode)

    def _retriever(self) -> HybridRetriever:
        return HybridRetriever(self.store(), candidates=self.settings.candidates, rrf_k=self.settings.rrf_k)

    def ask(self, question: str, top_k: int | None = None, filters: Filters | None = None, *, standalone: str | None = None) -> Answer:
        """Answer a question from the documents, citing exact passages, or refuse."""
        t0 = time.perf_counter()
        q, f = self._check(standalone or question, filters, top_k)
        contexts = self._contexts(q, top_k or self.settings.top_k, f)
        t1 = time.perf_counter()
        answer = self._answer(q, contexts)
        t2 = time.perf_counter()
        answer.question = question
        answer.standalone_question = standalone if standalone and standalone != question else None
        answer.timings_ms.retrieve = (t1 - t0) * 1000
        answer.timings_ms.generate = (t2 - t1) * 1000
        answer.timings_ms.total = (t2 - t0) * 1000
        return answer

    def _contexts(self, question: str, top_k: int, filters: Filters | None) -> list[Context]:
        """Retrieved passages; a question over several documents ("in both editorials") also gets
        the best passages of each document the top k missed (stores of up to 10 documents)."""
        from assistant.answer.extract import asks_several_documents

        contexts = self._retriever().retrieve(question, top_k, filters)
        if not asks_several_documents(question) or (filters is not None and len(filters.doc_ids) == 1):
            return contexts
        docs = [d.doc_id for d in self.documents()]
        if filters is not None and filters.doc_ids:
            docs = [d for d in docs if d in filters.doc_ids]
        if len(docs) > 10:
            return contexts
        have = {c.doc_id for c in contexts}
        for d in docs:
            if d not in have:
                extra = (filters or Filters()).model_copy(update={"doc_ids": [d]})
                contexts = contexts + self._retriever().retrieve(question, 2, extra)
        return contexts

    def prepare(self, question: str, contexts: Sequence[Context]) -> tuple[dict[str, Document], dict[str, float], ExtractiveAnswerer]:
        """What answering needs besides the contexts: their documents, the question's IDF weights, the answerer."""
        store = self.store()
        documents = store.catalog.documents_by_ids({c.doc_id for c in contexts})
        qterms = sorted(set(terms(question)))
        df, n = store.lexical.document_frequencies(qterms)
        return documents, idf_weights(df, n, qterms), ExtractiveAnswerer(self.settings, self.embedder, store.catalog.sentence_vectors)

    def generator(self) -> Generator:
        """The LLM answerer (client, support judges), built on first use; needs `llm_backend != "none"`."""
        if self._generator is None:
            from assistant.answer.generate import Generator

            self._generator = Generator(self.settings, self.embedder)
        return self._generator

    def _answer(self, question: str, contexts: Sequence[Context]) -> Answer:
        documents, idf, extractive = self.prepare(question, contexts)
        if self.settings.llm_backend == "none":
            from assistant.answer.verify import flag_injections

            return flag_injections(extractive.answer(question, contexts, documents, idf))
        from assistant.answer.generate import generate_answer

        return generate_answer(self.generator(), question, contexts, documents, idf, extractive)

    def ask_stream(
        self, question: str, top_k: int | None = None, filters: Filters | None = None, *, standalone: str | None = None
    ) -> Iterator[str | Answer]:
        """Like `ask`, but yields the answer's text pieces as they are made, then the `Answer` (last).

        Extractively the pieces are the answer's sentences with their markers; with an LLM, the
        model's draft as it streams (the final `Answer` is the verified one)."""
        t0 = time.perf_counter()
        q, f = self._check(standalone or question, filters, top_k)
        if self.settings.llm_backend == "none":
            answer = self.ask(question, top_k=top_k, filters=filters, standalone=standalone)
            for i, piece in enumerate(_pieces(answer)):
                yield piece if i == 0 else " " + piece
            yield answer
            return
        from assistant.answer.generate import stream_answer

        contexts = self._contexts(q, top_k or self.settings.top_k, f)
        t1 = time.perf_counter()
        documents, idf, extractive = self.prepare(q, contexts)
        final: Answer | None = None
        for item in stream_answer(self.generator(), q, contexts, documents, idf, extractive):
            if isinstance(item, Answer):
                final = item
            else:
                yield item
        assert final is not None
        t2 = time.perf_counter()
        final.question = question
        final.standalone_question = standalone if standalone and standalone != question else None
        final.timings_ms.retrieve = (t1 - t0) * 1000
        final.timings_ms.generate = (t2 - t1) * 1000
        final.timings_ms.total = (t2 - t0) * 1000
        yield final

    def chat(self) -> ChatSession:
        from assistant.chat import ChatSession

        return ChatSession(self)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def _pieces(answer: Answer) -> list[str]:
    if answer.refused or not answer.sentences:
        return [answer.answer]
    return [s.text + (" " + "".join(f"[{n}]" for n in s.citations) if s.citations else "") for s in answer.sentences]


def _is_iso_date(value: str) -> bool:
    import datetime as dt

    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10
