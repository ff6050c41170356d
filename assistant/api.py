"""The Python API: `Assistant.open(store=...)`, `.ingest()`, `.ask()`, `.document()`, `.documents()`.

An edge module like the CLI: it composes the components (store, ingest, retriever, answerer)
and is the only module of `assistant` that imports `ingest`.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.config import Settings
from assistant.encode.embed import Embedder
from assistant.errors import EmptyQuestionError, InvalidFilterError, ReadError, UnknownDocumentError
from assistant.answer.extract import ExtractiveAnswerer, idf_weights
from assistant.text.lexical import terms
from assistant.retrieve.hybrid import HybridRetriever, Mode
from assistant.store.access import parse_groups, reader_groups
from assistant.store.store import Store, store_exists
from assistant.types import Answer, Context, Document, DocumentInfo, Filters, IngestReport

if TYPE_CHECKING:
    from collections.abc import Iterator

    from assistant.answer.generate import Generator
    from assistant.chat import ChatSession

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 4000
#: control characters (C0, DEL, C1) and zero-width/bidi format characters are not part of a question
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_FORMAT = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def clean_question(text: str) -> str:
    """Control characters become spaces, zero-width and bidi format characters go (a pasted
    question keeps its words; a terminal escape or NUL never reaches output or the index)."""
    return _FORMAT.sub("", _CONTROL.sub(" ", text or ""))


class Assistant:
    """`groups`: the reader's access groups (None = every document, for the archive's owner);
    a document outside them behaves exactly like an unknown id everywhere (assistant.store.access).
    `user`: who asks, for the audit log."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None, *, groups: Iterable[str] | str | None = None, user: str | None = None) -> None:
        self.settings = settings
        self.groups = reader_groups(groups)
        self.user = user
        self._parent: Assistant | None = None  # `as_user` views share their parent's store and generator
        self.embedder = embedder or Embedder(settings.embed_model_path, settings.embed_precision, settings.embed_batch_size)
        self._store: Store | None = None
        self._generator: Generator | None = None  # LLM answerer, built on first use when configured
        self._init_lock = threading.RLock()  # one lazy initialisation of store and generator across threads

    @classmethod
    def open(
        cls, store: str | Path | None = None, settings: Settings | None = None, *, groups: Iterable[str] | str | None = None,
        user: str | None = None, **overrides: Any,
    ) -> Assistant:
        """Open (or prepare to create) the store; `settings` come from the environment by default."""
        s = settings or Settings()
        if store is not None or overrides:
            s = s.model_copy(update={**({"store": Path(store).expanduser()} if store is not None else {}), **overrides})
            s = Settings.model_validate(s.model_dump())
        return cls(s, groups=groups, user=user)

    def as_user(self, user: str | None, groups: Iterable[str] | str | None) -> Assistant:
        """The same assistant (store, models, LLM) seen by one reader: their groups, their name in the audit log."""
        view = Assistant(self.settings, self.embedder, groups=groups, user=user)
        view._parent = self._parent or self
        return view

    # --- store -------------------------------------------------------------------
    def store(self, create: bool = False) -> Store:
        if self._parent is not None:
            return self._parent.store(create)
        store = self._store
        exists = self.settings.catalog_url is not None or store_exists(self.settings.store)  # a shared catalog: created on open
        if store is not None and not (create and not exists):
            return store
        with self._init_lock:
            if self._store is None or (create and not store_exists(self.settings.store) and self.settings.catalog_url is None):
                self._store = Store(self.settings, self.embedder, create=create)
            return self._store

    def ingest(
        self, paths: Iterable[str | Path], prune: bool = False, show_progress: bool = False, access: str | Sequence[str] | None = None,
        ids_from_source: bool = False,
    ) -> IngestReport:
        """`access`: the groups of every document read from `paths`, changed ones and unchanged ones
        alike (None: a stored document keeps its groups, a new one gets `all`). `ids_from_source`:
        new documents get `<name>-<hash of their source>`, never an id chosen by what else is stored
        (web uploads: the id tells the uploader nothing about documents they cannot see)."""
        from ingest.pipeline import Ingestor, discover
        from ingest.read import real_source

        paths = [Path(p) for p in paths]
        groups = parse_groups(access) if access is not None else None  # a bad name fails before anything is written
        store = self.store(create=True)
        with store.ingesting_as(groups):
            report = Ingestor(store, show_progress=show_progress, ids_from_source=ids_from_source).ingest_paths(paths, prune=prune)
        if groups is not None:
            by_source = store.catalog.sources()
            ids = sorted({by_source[s] for s in (real_source(f) for f in discover(paths)[0]) if s in by_source})
            changed = [d for d in ids if store.catalog.access_of(d) != groups]
            if changed:
                store.set_access(changed, groups)
        self.audit("ingest", paths=[str(p) for p in paths], access=groups, added=report.added, updated=report.updated, failed=len(report.failed))
        return report

    def ingest_documents(self, docs: Iterable[Any], show_progress: bool = False, access: str | Sequence[str] | None = None) -> IngestReport:
        """Ingest documents that are already text (benchmarks, other pipelines): our `Document`s or
        `llama_index.core.Document`s (a LlamaIndex reader's output; see `assistant/llamaindex/documents.py`)."""
        from ingest.pipeline import Ingestor

        groups = parse_groups(access) if access is not None else None
        ours = _our_documents(docs)
        store = self.store(create=True)
        with store.ingesting_as(groups):
            report = Ingestor(store, show_progress=show_progress).ingest_documents(ours)
        changed = [d.doc_id for d in ours if groups is not None and store.catalog.access_of(d.doc_id) not in (None, groups)]
        if changed:
            store.set_access(changed, groups or [])
        self.audit("ingest", documents=len(ours), access=groups, added=report.added, updated=report.updated, failed=len(report.failed))
        return report

    def document(self, doc_id: str) -> Document:
        doc = self.store().catalog.document(doc_id, self.groups)
        if doc is None:
            raise UnknownDocumentError(doc_id)
        return doc

    def original_file(self, doc_id: str) -> bytes | None:
        """The bytes of a document's original file where a shared catalog keeps it (PDFs ingested
        on any host; `page_view` renders pages from it), else None."""
        self.document(doc_id)  # UnknownDocumentError for an unknown or hidden document
        found = getattr(self.store().catalog, "original_file", lambda _: None)(doc_id)
        return found[1] if found else None

    def documents(self) -> list[DocumentInfo]:
        return self.store().catalog.list_documents(self.groups)

    def audit(self, kind: str, **fields: Any) -> None:
        """One line in the audit log (`settings.audit_log`), as this assistant's user."""
        if self.settings.audit_log is not None:
            from assistant.store.audit import write_event

            write_event(self.settings.audit_log, kind, self.user, fields)

    def _audit_answer(self, answer: Answer) -> None:
        extra = {"answer": answer.answer} if self.settings.audit_answers else {}
        self.audit(
            "question", question=answer.question, standalone_question=answer.standalone_question, refused=answer.refused,
            cited=sorted({c.doc_id for c in answer.citations}), **extra,
        )

    # --- questions -----------------------------------------------------------------
    def _check(self, question: str, filters: Filters | None, top_k: int | None = None) -> tuple[str, Filters]:
        if top_k is not None and not 1 <= top_k <= 100:
            raise InvalidFilterError("top_k", top_k, "must be between 1 and 100")
        q = " ".join(clean_question(question).split())
        if not q or not any(ch.isalnum() for ch in q):
            raise EmptyQuestionError(question)
        if len(q) > MAX_QUESTION_CHARS:
            raise InvalidFilterError("question", q[:40] + "...", f"longer than {MAX_QUESTION_CHARS} characters")
        f = filters or Filters()
        catalog = self.store().catalog
        for doc_id in f.doc_ids:
            if not catalog.has_document(doc_id, self.groups):
                raise UnknownDocumentError(doc_id)
        for d in (f.date_from, f.date_to):
            if d is not None and not _is_iso_date(d):
                raise InvalidFilterError("date", d, "want YYYY-MM-DD")
        return q, f

    def retrieve(self, question: str, top_k: int | None = None, filters: Filters | None = None, mode: Mode = "hybrid") -> list[Context]:
        q, f = self._check(question, filters, top_k)
        return self._retriever().retrieve(q, top_k or self.settings.top_k, f, mode)

    def _retriever(self) -> HybridRetriever:
        return HybridRetriever(self.store(), candidates=self.settings.candidates, rrf_k=self.settings.rrf_k, groups=self.groups)

    def ask(self, question: str, top_k: int | None = None, filters: Filters | None = None, *, standalone: str | None = None) -> Answer:
        """Answer a question from the documents, citing exact passages, or refuse."""
        t0 = time.perf_counter()
        q, f = self._check(standalone or question, filters, top_k)
        q, fixes = self.correct_spelling(q)
        contexts = self._contexts(q, top_k or self.settings.top_k, f)
        t1 = time.perf_counter()
        answer = self._answer(q, contexts)
        answer.spelling = fixes
        answer = _stamp(answer, question, standalone, t0, t1, time.perf_counter())
        self._audit_answer(answer)
        return answer

    def correct_spelling(self, question: str) -> tuple[str, dict[str, str]]:
        """The question with misspelled words corrected against the store's vocabulary
        (`assistant.retrieve.spelling`), and {typed: corrected}; unchanged when `spelling` is off."""
        from assistant.retrieve.spelling import unknown_words

        words = unknown_words(question) if self.settings.spelling else []
        if not words:
            return question, {}
        store = self.store()
        if self.groups is None:  # the owner sees every document: the store's counts decide, no vocabulary built
            df, _ = store.lexical.document_frequencies(sorted({t for w in words for t in terms(w)}))
            if all(any(t in df for t in terms(w)) for w in words):
                return question, {}
        # a reader with groups: only their documents' words decide (issue 21), so a word found
        # only in a hidden document is treated exactly like a word no document has
        return self._speller(store).correct(question)

    def _speller(self, store: Store) -> Any:
        from assistant.retrieve.spelling import Speller, vocabulary

        generation = store.catalog.lexical_generation()
        with self._init_lock:
            cached = getattr(self, "_speller_cache", None)
            if cached is None or cached[0] != generation:
                # only the words of documents this reader may see (issue 21: a correction never names a hidden word)
                texts = (d.text for info in store.catalog.list_documents(self.groups) if (d := store.catalog.document(info.doc_id, self.groups)) is not None)
                cached = (generation, Speller(vocabulary(texts)))
                self._speller_cache = cached
            return cached[1]

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
        documents = store.catalog.documents_by_ids({c.doc_id for c in contexts}, self.groups)
        qterms = sorted(set(terms(question)))
        df, n = store.lexical.document_frequencies(qterms)
        return documents, idf_weights(df, n, qterms), ExtractiveAnswerer(self.settings, self.embedder, store.catalog.sentence_vectors)

    def generator(self) -> Generator:
        """The LLM answerer (client, support judges), built on first use; needs `llm_backend != "none"`."""
        if self._parent is not None:
            return self._parent.generator()
        with self._init_lock:
            if self._generator is None:
                from assistant.answer.generate import Generator

                self._generator = Generator(self.settings, self.embedder)
            return self._generator

    def _answer(self, question: str, contexts: Sequence[Context]) -> Answer:
        documents, idf, extractive = self.prepare(question, contexts)
        if self.settings.llm_backend == "none":
            from assistant.answer.verify import INJECTION_NOTICE, flag_injections, join_notice
            from assistant.text.injection import has_instruction

            answer = extractive.answer(question, contexts, documents, idf)
            # the notice (and --strict) only where a cited passage really instructs (reported speech
            # about instructions is clean), or when the best passage of a refusal did
            cited = {c.chunk_id for c in answer.citations}
            if any(has_instruction(c.text) for c in answer.contexts if c.chunk_id in cited):
                return flag_injections(answer, strict=self.settings.strict)
            if answer.refused and answer.contexts and has_instruction(answer.contexts[0].text):
                answer.notice = join_notice(answer.notice, INJECTION_NOTICE)
            return answer
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
        final = _stamp(final, question, standalone, t0, t1, time.perf_counter())
        self._audit_answer(final)
        yield final

    def chat(self) -> ChatSession:
        from assistant.chat import ChatSession

        return ChatSession(self)

    # --- LlamaIndex components (llama_index is imported only here, on request) ----------------------
    def as_retriever(self, top_k: int | None = None, filters: Any = None, mode: Mode = "hybrid") -> Any:
        """This store's retriever as a `llama_index.core.retrievers.BaseRetriever` (nodes = chunks)."""
        from assistant.llamaindex.retriever import AssistantRetriever

        return AssistantRetriever(self, top_k=top_k, filters=filters, mode=mode)

    def as_query_engine(self, top_k: int | None = None, filters: Any = None, streaming: bool = False) -> Any:
        """`ask` as a `llama_index.core.query_engine.BaseQueryEngine` (source nodes = the cited spans)."""
        from assistant.llamaindex.query_engine import AssistantQueryEngine

        return AssistantQueryEngine(self, top_k=top_k, filters=filters, streaming=streaming)

    def as_chat_engine(self, top_k: int | None = None, filters: Any = None) -> Any:
        """A new `chat()` session as a `llama_index.core.chat_engine.types.BaseChatEngine`."""
        from assistant.llamaindex.chat_engine import AssistantChatEngine

        return AssistantChatEngine(self, top_k=top_k, filters=filters)

    def as_embed_model(self) -> Any:
        """The embedding model as a `llama_index.core.embeddings.BaseEmbedding` (e.g. for an `EmbeddingSingleSelector`)."""
        from assistant.llamaindex.embedding import AssistantEmbedding

        return AssistantEmbedding(self.embedder)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def _stamp(answer: Answer, question: str, standalone: str | None, t0: float, t1: float, t2: float) -> Answer:
    """The question as asked (and its rewrite), and the time spent retrieving (t0-t1) and answering (t1-t2)."""
    answer.question = clean_question(question).strip()
    answer.standalone_question = standalone if standalone and standalone != question else None
    answer.timings_ms.retrieve = (t1 - t0) * 1000
    answer.timings_ms.generate = (t2 - t1) * 1000
    answer.timings_ms.total = (t2 - t0) * 1000
    return answer


def _pieces(answer: Answer) -> list[str]:
    """The answer's text in pieces that join (with spaces) into `answer.answer`: a "Sources disagree"
    note first, then each sentence with its markers."""
    if answer.refused or not answer.sentences:
        return [answer.answer]
    return [*answer.conflicts, *(s.text + (" " + "".join(f"[{n}]" for n in s.citations) if s.citations else "") for s in answer.sentences)]


def _is_iso_date(value: str) -> bool:
    import datetime as dt

    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def _our_documents(docs: Iterable[Any]) -> list[Document]:
    """Our Documents as they are; LlamaIndex ones converted (text normalised, content hash set).
    All are checked before anything is written: a bad one fails the call with the store untouched."""
    out = []
    for d in docs:
        if isinstance(d, Document):
            out.append(d)
        elif type(d).__module__.split(".")[0] == "llama_index":  # judged without importing llama_index
            from assistant.llamaindex.documents import from_llamaindex
            from ingest.pipeline import content_hash
            from ingest.read import normalize

            doc = from_llamaindex(d)
            text = normalize(doc.text)
            out.append(doc.model_copy(update={"text": text, "content_hash": content_hash(text, doc.title, doc.date)}))
        else:
            raise ReadError(repr(d)[:60], f"not a Document: {type(d).__module__}.{type(d).__qualname__}")
    return out
