"""The web chat's event handlers, apart from the layout so they can be tested without a browser.

One `ChatUI` per app over the shared `Assistant`; one `UiSession` per browser session (held in
`gr.State`), so users never see each other's history. Gradio is imported inside the handlers.
"""

from __future__ import annotations

import html
import logging
import re
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import AssistantError, CatalogUnavailableError
from assistant.types import Answer, Filters
from assistant.ui.feedback import Feedback, open_feedback
from assistant.ui.pages import page_image, page_view, pdf_copy, render_page_html
from assistant.ui.render import NO_PASSAGE, NO_SOURCES, md_escape, render_answer_md, render_passage_html, render_sources_html
from assistant.ui.uploads import ingest_uploads

if TYPE_CHECKING:
    from assistant.api import Assistant
    from assistant.config import Settings

log = logging.getLogger(__name__)

_CITE_REF = re.compile(r"^(\d+)-(\d+)$")
FILTER_LABEL = "Only these documents (empty = all)"


@dataclass
class UiSession:
    """What one browser session holds: its chat session, the rendered messages and its answers."""

    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    session: Any = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    filters: list[dict[str, Any]] = field(default_factory=list)  # filters used for each answer


def new_chat_session(assistant: Assistant) -> Any:
    """A `ChatSession` (send/stream/reset/history) for one browser session."""
    return assistant.chat()


def display_name(title: str, source: str) -> str:
    """What web users see of a document's origin: its title, else its file name; never a server path."""
    return title or Path(source).name


class ChatUI:
    """Event handlers of the chat (questions, citations, feedback, uploads, the document list)."""

    def __init__(self, assistant: Assistant, settings: Settings, feedback: Feedback | None = None) -> None:
        self.assistant = assistant
        self.settings = settings
        self.feedback = feedback if feedback is not None else open_feedback(settings)  # Viewers shares one
        self._ingest_lock = threading.Lock()
        self._docs_lock = threading.Lock()
        self._doc_meta: dict[str, tuple[str, str | None]] = {}
        self.refresh_documents()

    # documents ------------------------------------------------------------------------------
    def refresh_documents(self) -> list[tuple[str, str]]:
        """Re-read the store's documents (another process may have ingested since) and return the choices."""
        try:
            docs = self.assistant.documents()
        except AssistantError as exc:
            log.warning("cannot list documents: %s", exc)
            docs = []
        with self._docs_lock:
            self._doc_meta = {d.doc_id: (display_name(d.title, d.source), d.date) for d in docs}
        return self.document_choices()

    def document_choices(self) -> list[tuple[str, str]]:
        """(label, doc id) for the filter: the title, and the date where the document has one."""
        with self._docs_lock:
            items = sorted(self._doc_meta.items(), key=lambda kv: (kv[1][0].lower(), kv[0]))
        return [(f"{title} ({date})" if date else title, doc_id) for doc_id, (title, date) in items]

    def filter_update(self, seen: Any = None, selected: Sequence[str] | None = None) -> tuple[Any, Any]:
        """For page load and the periodic check: (dropdown update, choices now). The dropdown is
        left alone when the choices are those this browser already has (`seen`)."""
        import gradio as gr

        choices = self.refresh_documents()
        key = [list(c) for c in choices]
        if seen == key:
            return gr.skip(), gr.skip()
        ids = {doc_id for _, doc_id in choices}
        return gr.update(choices=choices, value=[d for d in (selected or []) if d in ids]), key

    def dates(self) -> dict[str, str | None]:
        with self._docs_lock:
            return {k: v[1] for k, v in self._doc_meta.items()}

    def titles(self) -> dict[str, str]:
        with self._docs_lock:
            return {k: v[0] for k, v in self._doc_meta.items()}

    def searched_text(self, doc_ids: Sequence[str]) -> str | None:
        """The document filter in words, for a refusal: 'in “Title A” and “Title B”'."""
        if not doc_ids:
            return None
        titles = self.titles()
        names = [f"“{titles.get(d, d)}”" for d in doc_ids]
        return "in " + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1])

    # chat -----------------------------------------------------------------------------------
    def respond(self, message: str, doc_ids: Sequence[str] | None, state: UiSession | None) -> Iterator[tuple[Any, ...]]:
        """Stream one turn. Yields (messages, textbox, state, sources, passage, status)."""
        import gradio as gr

        state = state if isinstance(state, UiSession) else UiSession()
        text = (message or "").strip()
        if not text:
            yield list(state.messages), "", state, gr.skip(), gr.skip(), "Type a question first."
            return
        if state.session is None:
            state.session = new_chat_session(self.assistant)
        filters = Filters(doc_ids=list(doc_ids or []))
        state.messages = [*state.messages, {"role": "user", "content": md_escape(text)}, {"role": "assistant", "content": "…"}]
        yield list(state.messages), "", state, gr.skip(), gr.skip(), "Searching the documents…"
        header = ""
        partial = ""
        final: Answer | None = None
        try:
            for ev in state.session.stream(text, filters=None if filters.is_empty() else filters):
                kind = getattr(ev, "kind", "")
                if kind == "standalone" and ev.text and ev.text.strip() != text:
                    header = f"<em class=\"ct-standalone\">Understood as: {md_escape(ev.text)}</em>\n\n"
                    state.messages[-1] = {"role": "assistant", "content": header + "…"}
                    yield list(state.messages), "", state, gr.skip(), gr.skip(), "Searching the documents…"
                elif kind == "delta":
                    partial += ev.text or ""
                    state.messages[-1] = {"role": "assistant", "content": header + md_escape(partial)}
                    yield list(state.messages), "", state, gr.skip(), gr.skip(), "Writing the answer…"
                elif kind == "answer":
                    final = ev.answer
        except AssistantError as exc:
            log.info("question failed: %s", exc)
            state.messages[-1] = {"role": "assistant", "content": f'<span class="ct-error">Error: {md_escape(str(exc))}</span>'}
            yield list(state.messages), "", state, gr.skip(), gr.skip(), f"Error: {exc}"
            return
        except Exception:  # the UI edge: keep the page usable, details go to the server log
            log.exception("answering %r failed", text)
            state.messages[-1] = {"role": "assistant", "content": '<span class="ct-error">Error: internal error (see the server log).</span>'}
            yield list(state.messages), "", state, gr.skip(), gr.skip(), "Error: internal error."
            return
        if final is None:
            state.messages[-1] = {"role": "assistant", "content": '<span class="ct-error">Error: no answer was produced.</span>'}
            yield list(state.messages), "", state, gr.skip(), gr.skip(), "Error: no answer was produced."
            return
        state.answers.append(final)
        state.filters.append(filters.model_dump(exclude_defaults=True))
        turn = len(state.answers)
        state.messages[-1] = {"role": "assistant", "content": render_answer_md(final, turn, self.searched_text(filters.doc_ids))}
        status = "No answer in the documents." if final.refused else "Answered."
        yield list(state.messages), "", state, render_sources_html(final, turn, self.dates()), NO_PASSAGE, status

    def open_citation(self, ref: str, state: UiSession | None) -> tuple[str, str]:
        """`ref` is "TURN-N" (from a #cite-TURN-N link). Returns (passage html, sources html)."""
        import gradio as gr

        m = _CITE_REF.match((ref or "").strip())
        if not m or not isinstance(state, UiSession):
            return gr.skip(), gr.skip()
        turn, n = int(m.group(1)), int(m.group(2))
        if not 1 <= turn <= len(state.answers):
            return '<div class="ct-empty">That answer is no longer in this conversation.</div>', gr.skip()
        answer = state.answers[turn - 1]
        cit = next((c for c in answer.citations if c.n == n), None)
        if cit is None:
            return f'<div class="ct-empty">No citation [{n}] in that answer.</div>', gr.skip()
        try:
            doc = self.assistant.document(cit.doc_id)
        except AssistantError as exc:
            return f'<div class="ct-empty">{html.escape(str(exc))}</div>', gr.skip()
        dates = self.dates()
        passage = render_passage_html(cit, doc.text, doc.date)
        view = page_view(doc, cit, self.settings.store, original=self._original(doc.doc_id)) if cit.page is not None else None
        if view is not None:  # a PDF: the rendered page with the quote marked, beside the text view
            passage = f'<div class="ct-passage-row">{passage}{render_page_html(view)}</div>'
        return passage, render_sources_html(answer, turn, dates, selected=n)

    # the page image and the PDF (assistant.ui.files): this view's documents only ---------------
    def _original(self, doc_id: str) -> Any:
        return lambda: self.assistant.original_file(doc_id)  # a PDF another host ingested: the shared catalog's copy

    def _readable(self, doc_id: str) -> Any:
        """The document if this view may read it, else None (unknown and hidden alike)."""
        try:
            return self.assistant.document(doc_id)
        except AssistantError:
            return None

    def page_image(self, doc_id: str, n: int) -> Path | None:
        """The cached PNG of page `n` of the file, for a PDF this view may read; else None."""
        doc = self._readable(doc_id)
        return None if doc is None else page_image(doc, n, self.settings.store, original=self._original(doc.doc_id))

    def original_pdf(self, doc_id: str) -> tuple[Path, str] | None:
        """(cached copy, file name) of a PDF this view may read; else None."""
        doc = self._readable(doc_id)
        copy = None if doc is None else pdf_copy(doc, self.settings.store, original=self._original(doc.doc_id))
        return None if copy is None else (copy, Path(doc.source).name)

    def new_conversation(self, state: UiSession | None) -> tuple[Any, ...]:
        if isinstance(state, UiSession) and state.session is not None:
            try:
                state.session.reset()
            except AttributeError:
                state.session = None
        fresh = UiSession(session=state.session if isinstance(state, UiSession) else None)
        return [], "", fresh, NO_SOURCES, NO_PASSAGE, "New conversation.", ""

    # feedback -------------------------------------------------------------------------------
    def rate(self, rating: str, comment: str, state: UiSession | None) -> tuple[str, str]:
        """Store feedback on the latest answer. Returns (status, comment box)."""
        if not isinstance(state, UiSession) or not state.answers:
            return "Ask a question first, then rate the answer.", comment
        answer = state.answers[-1]
        try:
            row = self._add_feedback(rating, comment, answer, state)
        except CatalogUnavailableError as exc:  # the shared catalog's database is down or refused the row
            log.warning("feedback not saved to %s: %s", self.feedback.where, exc)
            return "Feedback not saved: the feedback database cannot be reached just now; please try again later.", comment
        except (AssistantError, sqlite3.Error, OSError) as exc:  # e.g. a read-only store with no --feedback-db
            log.warning("feedback not saved to %s: %s", self.feedback.where, exc)
            return "Feedback not saved: the server cannot write its feedback file (ask the administrator to set --feedback-db).", comment
        word = "helpful" if rating == "helpful" else "not helpful"
        return f"Thanks: feedback #{row} recorded ({word}).", ""

    def _add_feedback(self, rating: str, comment: str, answer: Answer, state: UiSession) -> int:
        return self.feedback.add(
            rating=rating,
            comment=comment or "",
            question=answer.question,
            standalone_question=answer.standalone_question,
            answer=answer.answer,
            citations=[c.to_dict() for c in answer.citations],
            refused=answer.refused,
            mode=answer.mode,
            filters=state.filters[-1] if state.filters else {},
            session_id=state.id,
        )

    # uploads --------------------------------------------------------------------------------
    def upload(self, files: Sequence[Any] | None, user: str | None = None, access: Sequence[str] | None = None) -> tuple[str, Any]:
        """Validate, save under <store>/uploads/<user>/<content hash>/<name>, ingest (see
        `assistant.ui.uploads`). Returns (status, filter dropdown update)."""
        import gradio as gr

        status, ok = ingest_uploads(self.assistant, self.settings, files, user, self._ingest_lock, access)
        return status, gr.update(choices=self.refresh_documents()) if ok else gr.skip()

    # API --------------------------------------------------------------------------------------
    def api_ask(self, question: str, doc_ids: list[str] | None = None, top_k: int | None = None) -> dict[str, Any]:
        """Answer one question (no conversation) and return the answer JSON, with each citation's
        `source` reduced to the document's file name (web users never see server paths)."""
        import gradio as gr

        filters = Filters(doc_ids=list(doc_ids or []))
        try:
            answer = self.assistant.ask(question, top_k=top_k, filters=None if filters.is_empty() else filters)
        except AssistantError as exc:
            raise gr.Error(str(exc), print_exception=False) from exc  # shown to API clients as one line
        d = answer.to_dict()
        for c in d["citations"]:
            c["source"] = Path(c["source"]).name
        return d

    def api_documents(self) -> list[dict[str, Any]]:
        """The documents in the store: id, display name (title, else file name), file name, date,
        chunks. Never the server's path of the file."""
        return [
            {"doc_id": d.doc_id, "name": display_name(d.title, d.source), "file": Path(d.source).name, "date": d.date, "chunks": d.chunks}
            for d in self.assistant.documents()
        ]
