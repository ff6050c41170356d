"""The Gradio chat for staff: `build_app(assistant, settings)` and `serve(settings)`.

One shared `Assistant`; one `ChatSession` per browser session (held in `gr.State`), so users
never see each other's history. Every answer sentence carries numbered citations; clicking a
marker shows the quoted span highlighted inside its document. Feedback goes to a local SQLite
file (`assistant.ui.feedback`). Uploads are off unless `settings.allow_upload`.

Network: binds 127.0.0.1 by default and refuses any other interface without authentication;
Gradio analytics are off and the theme uses system fonts only (no CDN).

Gradio is imported inside functions: it is slow to import and most CLI commands never need it.
"""

from __future__ import annotations

import html
import logging
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import AssistantError, ConfigError, ReadError
from assistant.text.oneline import shown
from assistant.types import Answer, Filters
from assistant.ui.feedback import FeedbackStore
from assistant.ui.guard import UPLOAD_TYPES, check_bind, load_auth, safe_upload_name, validate_upload
from assistant.ui.pages import PAGE_CSS, cache_dir, page_view, render_page_html
from assistant.ui.render import (
    CSS,
    JS,
    NO_PASSAGE,
    NO_SOURCES,
    md_escape,
    render_answer_md,
    render_passage_html,
    render_sources_html,
)

if TYPE_CHECKING:
    import gradio as gr

    from assistant.api import Assistant
    from assistant.config import Settings

log = logging.getLogger(__name__)

TITLE = "CT policy assistant"
_CITE_REF = re.compile(r"^(\d+)-(\d+)$")



# --- per-browser-session state -------------------------------------------------------------------
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


# --- the app ------------------------------------------------------------------------------------
class ChatUI:
    """Event handlers, separate from the layout so they can be tested without a browser."""

    def __init__(self, assistant: Assistant, settings: Settings) -> None:
        self.assistant = assistant
        self.settings = settings
        self.feedback = FeedbackStore.for_settings(settings)
        self._ingest_lock = threading.Lock()
        self._docs_lock = threading.Lock()
        self._doc_meta: dict[str, tuple[str, str | None]] = {}
        self.refresh_documents()

    # documents ------------------------------------------------------------------------------
    def refresh_documents(self) -> list[tuple[str, str]]:
        try:
            docs = self.assistant.documents()
        except AssistantError as exc:
            log.warning("cannot list documents: %s", exc)
            docs = []
        with self._docs_lock:
            self._doc_meta = {d.doc_id: (d.title, d.date) for d in docs}
        return self.document_choices()

    def document_choices(self) -> list[tuple[str, str]]:
        with self._docs_lock:
            items = sorted(self._doc_meta.items(), key=lambda kv: (kv[1][0].lower(), kv[0]))
        return [(f"{title} ({date or 'no date'})", doc_id) for doc_id, (title, date) in items]

    def dates(self) -> dict[str, str | None]:
        with self._docs_lock:
            return {k: v[1] for k, v in self._doc_meta.items()}

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
        state.messages[-1] = {"role": "assistant", "content": render_answer_md(final, turn)}
        status = "Refused: " + (final.refusal_reason or "the documents don't say") if final.refused else f"Answered ({final.mode})"
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
        view = page_view(doc, cit, self.settings.store) if cit.page is not None else None
        if view is not None:  # a PDF: the rendered page with the quote marked, beside the text view
            passage = f'<div class="ct-passage-row">{passage}{render_page_html(view)}</div>'
        return passage, render_sources_html(answer, turn, dates, selected=n)

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
        row = self.feedback.add(
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
        word = "helpful" if rating == "helpful" else "not helpful"
        return f"Thanks: feedback #{row} recorded ({word}).", ""

    # uploads --------------------------------------------------------------------------------
    def upload(self, files: Sequence[Any] | None, user: str | None = None) -> tuple[str, Any]:
        """Validate, save under <store>/uploads/<user>/<content hash>/<name>, ingest.
        Returns (status, filter dropdown update).

        Content-addressed folders: two users' `collide.txt` with different content are two
        documents; nobody's upload replaces another's. Files that fail to ingest are removed, and
        the status counts only the files that made it into the store."""
        import gradio as gr

        if not self.settings.allow_upload:
            return "Uploads are disabled on this server.", gr.skip()
        paths = [Path(getattr(f, "name", f)) for f in (files or [])]
        if not paths:
            return "Choose one or more files first.", gr.skip()
        errors: list[str] = []
        saved: list[Path] = []
        root = Path(self.settings.store) / "uploads"
        owner = safe_upload_name(user or "anonymous").replace(" ", "_") or "anonymous"
        for p in paths:
            name = safe_upload_name(p.name)
            try:
                validate_upload(p, self.settings.upload_max_mb, name)
                digest = file_digest(p)
            except ReadError as exc:
                errors.append(shown(str(exc)))
                continue
            dest = root / owner / digest[:16] / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            if not dest.exists():
                shutil.copyfile(p, dest)
            saved.append(dest)
        if not saved:
            return " ".join(["No file ingested.", *errors]), gr.skip()
        with self._ingest_lock:
            try:
                report = self.assistant.ingest(saved)
            except AssistantError as exc:
                for dest in saved:
                    _remove_upload(dest, root)
                return " ".join([f"No file ingested: {shown(str(exc))}", *errors]), gr.skip()
        failed = {Path(f.path) for f in report.failed}
        for dest in saved:
            if dest in failed:
                _remove_upload(dest, root)
        ok = len(saved) - len(failed & set(saved))
        lines = [
            f"Ingested {ok} of {len(paths)} file(s): added {report.added}, updated {report.updated}, unchanged {report.unchanged}; "
            f"store has {report.documents} documents."
        ]
        lines += errors
        lines += [f"{shown(Path(f.path).name)}: {shown(f.error)} (not ingested; removed)" for f in report.failed]
        return " ".join(lines), gr.update(choices=self.refresh_documents()) if ok else gr.skip()

    # API --------------------------------------------------------------------------------------
    def api_ask(self, question: str, doc_ids: list[str] | None = None, top_k: int | None = None) -> dict[str, Any]:
        """Answer one question (no conversation) and return the answer JSON."""
        import gradio as gr

        filters = Filters(doc_ids=list(doc_ids or []))
        try:
            answer = self.assistant.ask(question, top_k=top_k, filters=None if filters.is_empty() else filters)
        except AssistantError as exc:
            raise gr.Error(str(exc), print_exception=False) from exc  # shown to API clients as one line
        return answer.to_dict()

    def api_documents(self) -> list[dict[str, Any]]:
        """The documents in the store (id, title, date, source, chunks)."""
        return [d.model_dump() for d in self.assistant.documents()]


def file_digest(path: Path) -> str:
    """sha256 of a file, read in 1 MB blocks."""
    import hashlib

    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError as exc:
        raise ReadError(path.name, f"cannot read upload: {exc.strerror or exc}") from exc
    return h.hexdigest()


def _remove_upload(dest: Path, root: Path) -> None:
    """Delete a saved upload and the folders it leaves empty (up to `root`)."""
    dest.unlink(missing_ok=True)
    folder = dest.parent
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            break
        folder = folder.parent


def _theme() -> Any:
    import gradio as gr

    # System fonts only: the default themes would fetch Google Fonts from the internet.
    return gr.themes.Soft(font=("ui-sans-serif", "system-ui", "sans-serif"), font_mono=("ui-monospace", "Consolas", "monospace"))


def launch_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `Blocks.launch` (theme, CSS and JS live there in Gradio 6)."""
    return {
        "theme": _theme(),
        "css": CSS + PAGE_CSS,
        "js": JS,
        "ssr_mode": False,
        "mcp_server": False,
        "enable_monitoring": False,
        "run_history": False,
        "share": False,
        "footer_links": ["api"],
        "max_file_size": f"{int(settings.upload_max_mb * 1024 * 1024)}b" if settings.allow_upload else "1kb",
        "allowed_paths": [str(cache_dir(settings.store).resolve())],  # cited PDF pages (assistant.ui.pages)
    }


def build_app(assistant: Assistant, settings: Settings | None = None) -> gr.Blocks:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    settings = settings or assistant.settings
    ui = ChatUI(assistant, settings)
    mode = settings.llm_name()
    with gr.Blocks(title=TITLE, analytics_enabled=False, fill_width=True) as app:
        app.ct_ui = ui  # type: ignore[attr-defined]  # for tests and embedding
        state = gr.State(None)  # a UiSession, created by the first question of each browser session
        with gr.Row():
            gr.Markdown(f"## {TITLE}\nAnswers from the counter-terrorism policy documents only; every sentence cites its passage.")
            gr.Markdown(f"Answer mode: **{md_escape(mode)}**", elem_id="ct-mode", elem_classes=["ct-mode-badge"])
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Conversation",
                    show_label=False,  # the floating label covered the first line of a scrolled chat
                    elem_id="ct-chat",
                    height=520,
                    latex_delimiters=[],
                    sanitize_html=True,
                    feedback_options=None,
                    buttons=["copy"],
                    placeholder="Ask about the documents, e.g. *What is NIFTAC?*",
                )
                with gr.Row():
                    question = gr.Textbox(
                        show_label=False, placeholder="Ask a question…", elem_id="ct-question", scale=5, lines=1, max_lines=4, autofocus=True
                    )
                    send = gr.Button("Ask", variant="primary", elem_id="ct-send", scale=1, min_width=80)
                with gr.Row():
                    new = gr.Button("New conversation", elem_id="ct-new", size="sm")
                    status = gr.Markdown("", elem_id="ct-status")
                with gr.Accordion("Feedback on the latest answer", open=True):
                    comment = gr.Textbox(show_label=False, placeholder="Optional comment", elem_id="ct-comment", lines=1)
                    with gr.Row():
                        helpful = gr.Button("Helpful", elem_id="ct-helpful", size="sm")
                        unhelpful = gr.Button("Not helpful", elem_id="ct-unhelpful", size="sm")
                    feedback_status = gr.Markdown("", elem_id="ct-feedback-status")
            with gr.Column(scale=2):
                doc_filter = gr.Dropdown(
                    choices=ui.document_choices(),
                    value=[],
                    multiselect=True,
                    label="Only these documents (empty = all)",
                    elem_id="ct-filter",
                )
                gr.Markdown("**Sources**")
                sources = gr.HTML(NO_SOURCES, elem_id="ct-sources", js_on_load=None)
                gr.Markdown("**Passage**")
                passage = gr.HTML(NO_PASSAGE, elem_id="ct-passage", js_on_load=None)
                if settings.allow_upload:
                    with gr.Accordion("Add documents", open=False):
                        files = gr.File(
                            file_count="multiple", file_types=list(UPLOAD_TYPES), label=f"Up to {settings.upload_max_mb:g} MB each", elem_id="ct-upload"
                        )
                        ingest_btn = gr.Button("Ingest", elem_id="ct-ingest", size="sm")
                        upload_status = gr.Markdown("", elem_id="ct-upload-status")
                    def upload(files: Any, request: Any = None) -> tuple[str, Any]:
                        return ui.upload(files, getattr(request, "username", None))

                    upload.__annotations__ = {"files": Any, "request": gr.Request, "return": tuple}  # Gradio injects the request
                    ingest_btn.click(upload, [files], [upload_status, doc_filter], api_visibility="private")
        with gr.Row(elem_id="ct-cite-bridge"):
            cite_ref = gr.Textbox(elem_id="ct-cite-ref", show_label=False, container=False)
            cite_open = gr.Button("open", elem_id="ct-cite-open")

        chat_outputs = [chatbot, question, state, sources, passage, status]
        for trigger in (send.click, question.submit):
            trigger(ui.respond, [question, doc_filter, state], chat_outputs, api_visibility="private", show_progress="minimal")
        cite_open.click(ui.open_citation, [cite_ref, state], [passage, sources], api_visibility="private", show_progress="hidden")
        reset_outputs = [chatbot, question, state, sources, passage, status, feedback_status]
        new.click(ui.new_conversation, [state], reset_outputs, api_visibility="private")
        chatbot.clear(ui.new_conversation, [state], reset_outputs, api_visibility="private")
        helpful.click(lambda c, s: ui.rate("helpful", c, s), [comment, state], [feedback_status, comment], api_visibility="private")
        unhelpful.click(lambda c, s: ui.rate("not_helpful", c, s), [comment, state], [feedback_status, comment], api_visibility="private")

        def ask(question: str, doc_ids: list[str] | None = None, top_k: int | None = None) -> dict:
            """Answer one question from the documents (no conversation); returns the answer JSON."""
            return ui.api_ask(question, doc_ids, top_k)

        def documents() -> list:
            """List the documents in the store."""
            return ui.api_documents()

        gr.api(ask, api_name="ask")
        gr.api(documents, api_name="documents")
    return app


def serve(settings: Settings, assistant: Assistant | None = None, *, block: bool = True, quiet: bool = False, warm: bool = True) -> gr.Blocks:
    """Check the bind/auth rules, open the store and launch. With `block=False` returns the running app.

    `warm` loads the embedding model before the first user arrives (one retrieval).
    """
    auth = load_auth(settings)
    check_bind(settings.host, auth)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from assistant.api import Assistant
    from assistant.errors import StoreNotFoundError
    from assistant.store.store import store_exists

    if settings.chroma_host is None and not store_exists(settings.store):
        raise StoreNotFoundError(str(settings.store))
    assistant = assistant or Assistant(settings)
    assistant.documents()  # opens the catalog: a damaged or unreadable store fails here, in one line
    if warm:
        _warm_up(assistant)
    app = build_app(assistant, settings)
    app.queue(default_concurrency_limit=4)
    log.info("serving on http://%s:%d (auth: %s)", settings.host, settings.port, "on" if auth else "off")
    try:
        app.launch(
            server_name=settings.host,
            server_port=settings.port,
            auth=auth or None,
            prevent_thread_lock=not block,
            quiet=quiet,
            **launch_options(settings),
        )
    except OSError as exc:  # Gradio: "Cannot find empty port in range ..."; bind errors
        app.close()
        raise ConfigError("port", settings.port, f"cannot serve on {settings.host}:{settings.port}: {str(exc).splitlines()[0][:200]}") from exc
    return app


def _warm_up(assistant: Assistant) -> None:
    try:
        assistant.retrieve("counter-terrorism", top_k=1)
    except AssistantError as exc:
        log.warning("warm-up retrieval failed: %s", exc)
