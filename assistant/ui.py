"""The Gradio chat for staff: `build_app(assistant, settings)` and `serve(settings)`.

One shared `Assistant`; one `ChatSession` per browser session (held in `gr.State`), so users
never see each other's history. Every answer sentence carries numbered citations; clicking a
marker shows the quoted span highlighted inside its document. Feedback goes to a local SQLite
file (`assistant.feedback`). Uploads are off unless `settings.allow_upload`.

Network: binds 127.0.0.1 by default and refuses any other interface without authentication;
Gradio analytics are off and the theme uses system fonts only (no CDN).

Gradio is imported inside functions: it is slow to import and most CLI commands never need it.
"""

from __future__ import annotations

import html
import ipaddress
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
from assistant.feedback import FeedbackStore
from assistant.types import Answer, Citation, Filters

if TYPE_CHECKING:
    import gradio as gr

    from assistant.api import Assistant
    from assistant.config import Settings

log = logging.getLogger(__name__)

UPLOAD_TYPES: tuple[str, ...] = (".txt", ".md", ".html", ".pdf", ".docx")
PASSAGE_WINDOW = 1200  # characters of document shown either side of a quoted span
TITLE = "CT policy assistant"
_MARKER = re.compile(r"\s*\[(\d+)\]")
_CITE_REF = re.compile(r"^(\d+)-(\d+)$")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>$])")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")

_NO_PASSAGE = '<div class="ct-empty">Click a citation such as [1] to see the passage in its document.</div>'
_NO_SOURCES = '<div class="ct-empty">Sources of the latest answer appear here.</div>'


# --- network & auth -----------------------------------------------------------------------------
def is_loopback(host: str) -> bool:
    """True for localhost, 127.0.0.1 and ::1 only; any other address counts as another interface."""
    h = host.strip().strip("[]").lower()
    if h == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(h)
    except ValueError:
        return False
    return ip in (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))


def load_auth(settings: Settings) -> list[tuple[str, str]]:
    """User/password pairs from `settings.auth` ("user:password") and `settings.auth_file` (one pair a line)."""
    pairs: list[tuple[str, str]] = []
    if settings.auth:
        pairs.append(_split_pair(settings.auth, "auth"))
    if settings.auth_file:
        path = Path(settings.auth_file)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigError("auth_file", str(path), f"cannot read: {exc.strerror or exc}") from exc
        for i, line in enumerate(lines, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            pairs.append(_split_pair(line, f"auth_file line {i}"))
        if not pairs:
            raise ConfigError("auth_file", str(path), "no user:password lines")
    return pairs


def _split_pair(text: str, where: str) -> tuple[str, str]:
    user, sep, password = text.partition(":")
    if not sep or not user.strip() or not password:
        raise ConfigError(where, "<hidden>", "want user:password with a non-empty user and password")
    return user.strip(), password


def check_bind(host: str, auth: Sequence[tuple[str, str]]) -> None:
    """Refuse to serve on anything but loopback without authentication."""
    if not is_loopback(host) and not auth:
        raise ConfigError("host", host, "binding an interface other than 127.0.0.1 requires --auth USER:PASSWORD or --auth-file FILE")


# --- uploads ------------------------------------------------------------------------------------
def validate_upload(path: str | Path, max_mb: float, name: str | None = None) -> None:
    """Raise ReadError unless the file has an allowed type and is at most `max_mb` megabytes."""
    p = Path(path)
    shown = name or p.name
    ext = Path(shown).suffix.lower()
    if ext not in UPLOAD_TYPES:
        raise ReadError(shown, f"type {ext or '(none)'} not allowed (allowed: {' '.join(UPLOAD_TYPES)})")
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise ReadError(shown, f"cannot read upload: {exc.strerror or exc}") from exc
    if size > max_mb * 1024 * 1024:
        raise ReadError(shown, f"{size / 1024 / 1024:.1f} MB is over the {max_mb:g} MB limit")
    if size == 0:
        raise ReadError(shown, "empty file")


def safe_upload_name(name: str) -> str:
    base = Path(name.replace("\\", "/")).name
    stem, ext = os.path.splitext(base)
    stem = _SAFE_NAME.sub("_", stem).strip(" ._") or "upload"
    return f"{stem[:100]}{ext.lower()}"


# --- rendering (pure functions; all document and model text is escaped) -------------------------
def md_escape(text: str) -> str:
    """Text safe to put in a chat message: HTML escaped, Markdown/LaTeX specials backslashed."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def _cite_link(turn: int, n: int) -> str:
    return f"[\\[{n}\\]](#cite-{turn}-{n})"


def render_answer_md(answer: Answer, turn: int) -> str:
    """The chat message for a finished answer: markers become links, unsupported sentences are flagged."""
    parts: list[str] = []
    if answer.standalone_question and answer.standalone_question != answer.question:
        parts.append(f"<em class=\"ct-standalone\">Understood as: {md_escape(answer.standalone_question)}</em>")
    if answer.refused:
        reason = f"<br>Reason: {md_escape(answer.refusal_reason)}." if answer.refusal_reason else ""
        parts.append(
            f'<div class="ct-refusal"><strong>Cannot answer from the documents.</strong> {md_escape(answer.answer)}{reason}</div>'
        )
    else:
        known = {c.n for c in answer.citations}
        if answer.sentences:
            body = []
            for s in answer.sentences:
                text = md_escape(_MARKER.sub("", s.text).strip())
                links = "".join(_cite_link(turn, n) for n in s.citations if n in known)
                sentence = f"{text} {links}".rstrip()
                if not s.supported:
                    sentence = (
                        f'<span class="ct-unsupported" title="not supported by its cited passage">{sentence}</span>'
                        ' <span class="ct-flag">unsupported</span>'
                    )
                body.append(sentence)
            parts.append(" ".join(body))
        else:
            pieces = []
            last = 0
            for m in _MARKER.finditer(answer.answer):
                pieces.append(md_escape(answer.answer[last : m.start()]))
                n = int(m.group(1))
                pieces.append(" " + _cite_link(turn, n) if n in known else "")
                last = m.end()
            pieces.append(md_escape(answer.answer[last:]))
            parts.append("".join(pieces))
    if answer.notice:
        parts.append(f'<span class="ct-notice">Note: {md_escape(answer.notice)}</span>')
    parts.append(f"<sub class=\"ct-mode\">mode: {md_escape(answer.mode)}</sub>")
    return "\n\n".join(parts)


def render_sources_html(answer: Answer | None, turn: int, dates: dict[str, str | None], selected: int | None = None) -> str:
    if answer is None:
        return _NO_SOURCES
    if not answer.citations:
        note = "No sources: the assistant refused." if answer.refused else "No sources."
        return f'<div class="ct-sources"><div class="ct-empty">{note}</div></div>'
    items = []
    for c in answer.citations:
        date = dates.get(c.doc_id) or "no date"
        quote = c.quote if len(c.quote) <= 220 else c.quote[:217].rstrip() + "…"
        cls = ' class="ct-selected"' if c.n == selected else ""
        items.append(
            f'<li{cls}><a class="ct-cite" href="#cite-{turn}-{c.n}">[{c.n}]</a> '
            f'<span class="ct-title">{html.escape(c.title)}</span> '
            f'<span class="ct-date">{html.escape(date)}</span>'
            f'<div class="ct-quote">“{html.escape(quote)}”</div></li>'
        )
    return f'<div class="ct-sources"><ol>{"".join(items)}</ol></div>'


def render_passage_html(citation: Citation, text: str, date: str | None, window: int = PASSAGE_WINDOW) -> str:
    """The document around `text[start:end]`, with the span in <mark>. Everything escaped."""
    start, end = citation.start, citation.end
    lo = max(0, start - window)
    hi = min(len(text), end + window)
    # snap the window to whitespace so it does not cut words
    if lo > 0:
        sp = text.find(" ", lo, start)
        lo = sp + 1 if sp != -1 else lo
    if hi < len(text):
        sp = text.rfind(" ", end, hi)
        hi = sp if sp != -1 else hi
    before = ("…" if lo > 0 else "") + text[lo:start]
    after = text[end:hi] + ("…" if hi < len(text) else "")
    meta = f"{html.escape(date or 'no date')} · {html.escape(citation.doc_id)} · characters {start}–{end}"
    return (
        f'<div class="ct-passage"><div class="ct-passage-head"><b>[{citation.n}] {html.escape(citation.title)}</b>'
        f'<div class="ct-meta">{meta}</div></div>'
        f'<div class="ct-doc">{html.escape(before)}<mark class="ct-hl">{html.escape(text[start:end])}</mark>{html.escape(after)}</div></div>'
    )


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
        yield list(state.messages), "", state, render_sources_html(final, turn, self.dates()), _NO_PASSAGE, status

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
        return render_passage_html(cit, doc.text, doc.date), render_sources_html(answer, turn, dates, selected=n)

    def new_conversation(self, state: UiSession | None) -> tuple[Any, ...]:
        if isinstance(state, UiSession) and state.session is not None:
            try:
                state.session.reset()
            except AttributeError:
                state.session = None
        fresh = UiSession(session=state.session if isinstance(state, UiSession) else None)
        return [], "", fresh, _NO_SOURCES, _NO_PASSAGE, "New conversation.", ""

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
    def upload(self, files: Sequence[Any] | None) -> tuple[str, Any]:
        """Validate, save under <store>/uploads/, ingest. Returns (status, filter dropdown update)."""
        import gradio as gr

        if not self.settings.allow_upload:
            return "Uploads are disabled on this server.", gr.skip()
        paths = [Path(getattr(f, "name", f)) for f in (files or [])]
        if not paths:
            return "Choose one or more files first.", gr.skip()
        errors: list[str] = []
        saved: list[Path] = []
        dest_dir = Path(self.settings.store) / "uploads"
        for p in paths:
            name = safe_upload_name(p.name)
            try:
                validate_upload(p, self.settings.upload_max_mb, name)
            except ReadError as exc:
                errors.append(str(exc))
                continue
            dest_dir.mkdir(parents=True, exist_ok=True)
            dest = dest_dir / name
            shutil.copyfile(p, dest)
            saved.append(dest)
        lines = list(errors)
        if saved:
            with self._ingest_lock:
                try:
                    report = self.assistant.ingest(saved)
                except AssistantError as exc:
                    return "; ".join([*lines, f"ingest failed: {exc}"]), gr.skip()
            lines.insert(
                0,
                f"Ingested {len(saved)} file(s): added {report.added}, updated {report.updated}, unchanged {report.unchanged}; "
                f"store has {report.documents} documents.",
            )
            lines.extend(f"{Path(f.path).name}: {f.error}" for f in report.failed)
            return " ".join(lines), gr.update(choices=self.refresh_documents())
        return " ".join(lines), gr.skip()

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


CSS = """
.ct-mode-badge { font-size: 0.9em; opacity: 0.85; }
.ct-empty { opacity: 0.7; font-style: italic; padding: 6px 2px; }
.ct-sources ol { padding-left: 0; list-style: none; margin: 0; }
.ct-sources li { margin: 0 0 10px 0; padding: 6px 8px; border-radius: 6px; border: 1px solid var(--border-color-primary); }
.ct-sources li.ct-selected { border-color: var(--color-accent); background: var(--color-accent-soft); }
.ct-sources .ct-title { font-weight: 600; }
.ct-sources .ct-date { opacity: 0.75; font-size: 0.9em; margin-left: 4px; }
.ct-sources .ct-quote { font-size: 0.88em; opacity: 0.85; margin-top: 3px; }
a.ct-cite, a[href^="#cite-"] { font-weight: 600; text-decoration: none; cursor: pointer; }
.ct-passage { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px; }
.ct-passage .ct-meta { font-size: 0.85em; opacity: 0.75; margin: 2px 0 8px 0; }
.ct-doc { white-space: pre-wrap; line-height: 1.5; max-height: 420px; overflow-y: auto; font-size: 0.95em; }
mark.ct-hl { background: #ffe066; color: #111; padding: 1px 2px; border-radius: 3px; }
.ct-unsupported { background: rgba(255, 120, 0, 0.12); border-bottom: 2px dotted #d9480f; }
.ct-flag { font-size: 0.75em; font-weight: 700; text-transform: uppercase; color: #fff; background: #d9480f; border-radius: 4px; padding: 0 4px; }
.ct-refusal { border-left: 4px solid #c92a2a; background: rgba(201, 42, 42, 0.08); padding: 6px 10px; border-radius: 4px; }
.ct-error { color: #c92a2a; }
.ct-notice { font-size: 0.9em; opacity: 0.85; }
.ct-standalone { opacity: 0.8; }
#ct-cite-bridge { display: none !important; }
"""

# A click on any "#cite-TURN-N" link (in the chat or the sources list) opens that passage:
# the reference goes into a hidden textbox and a hidden button sends it to the server.
JS = """
() => {
  document.addEventListener('click', (e) => {
    const a = e.target.closest && e.target.closest('a[href^="#cite-"]');
    if (!a) return;
    e.preventDefault();
    e.stopPropagation();
    const ref = a.getAttribute('href').slice('#cite-'.length);
    const box = document.querySelector('#ct-cite-ref textarea, #ct-cite-ref input');
    const btn = document.querySelector('#ct-cite-open');
    if (!box || !btn) return;
    box.value = ref;
    box.dispatchEvent(new Event('input', { bubbles: true }));
    setTimeout(() => btn.click(), 30);
  }, true);
}
"""


def _theme() -> Any:
    import gradio as gr

    # System fonts only: the default themes would fetch Google Fonts from the internet.
    return gr.themes.Soft(font=("ui-sans-serif", "system-ui", "sans-serif"), font_mono=("ui-monospace", "Consolas", "monospace"))


def launch_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `Blocks.launch` (theme, CSS and JS live there in Gradio 6)."""
    return {
        "theme": _theme(),
        "css": CSS,
        "js": JS,
        "ssr_mode": False,
        "mcp_server": False,
        "enable_monitoring": False,
        "run_history": False,
        "share": False,
        "footer_links": ["api"],
        "max_file_size": f"{int(settings.upload_max_mb * 1024 * 1024)}b" if settings.allow_upload else "1kb",
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
                sources = gr.HTML(_NO_SOURCES, elem_id="ct-sources", js_on_load=None)
                gr.Markdown("**Passage**")
                passage = gr.HTML(_NO_PASSAGE, elem_id="ct-passage", js_on_load=None)
                if settings.allow_upload:
                    with gr.Accordion("Add documents", open=False):
                        files = gr.File(
                            file_count="multiple", file_types=list(UPLOAD_TYPES), label=f"Up to {settings.upload_max_mb:g} MB each", elem_id="ct-upload"
                        )
                        ingest_btn = gr.Button("Ingest", elem_id="ct-ingest", size="sm")
                        upload_status = gr.Markdown("", elem_id="ct-upload-status")
                    ingest_btn.click(ui.upload, [files], [upload_status, doc_filter], api_visibility="private")
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
    from assistant.store import store_exists

    if settings.chroma_host is None and not store_exists(settings.store):
        raise StoreNotFoundError(str(settings.store))
    assistant = assistant or Assistant(settings)
    if warm:
        _warm_up(assistant)
    app = build_app(assistant, settings)
    app.queue(default_concurrency_limit=4)
    log.info("serving on http://%s:%d (auth: %s)", settings.host, settings.port, "on" if auth else "off")
    app.launch(
        server_name=settings.host,
        server_port=settings.port,
        auth=auth or None,
        prevent_thread_lock=not block,
        quiet=quiet,
        **launch_options(settings),
    )
    return app


def _warm_up(assistant: Assistant) -> None:
    try:
        assistant.retrieve("counter-terrorism", top_k=1)
    except AssistantError as exc:
        log.warning("warm-up retrieval failed: %s", exc)
