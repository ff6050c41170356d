"""The Gradio chat for staff: the layout (`build_app(assistant, settings)`) and `serve(settings)`.

One shared `Assistant`; one `ChatSession` per browser session (held in `gr.State`), so users
never see each other's history. Every answer sentence carries numbered citations; clicking a
marker shows the quoted span highlighted inside its document. The handlers live in
`assistant.ui.handlers`, rendering in `assistant.ui.render`, uploads in `assistant.ui.uploads`.
Feedback goes to `assistant.ui.feedback` (a SQLite file, or the shared catalog's table).
Uploads are off unless `settings.allow_upload`. The document filter is filled when the page loads and re-checked
every `REFRESH_S` seconds, so documents another process ingests appear without a restart.

Network: binds 127.0.0.1 by default and refuses any other interface without authentication;
Gradio analytics are off and the theme uses system fonts only (no CDN).

Gradio is imported inside functions: it is slow to import and most CLI commands never need it.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from assistant.errors import AssistantError, ConfigError
from assistant.ui.guard import UPLOAD_TYPES, check_bind, load_auth
from assistant.ui.handlers import FILTER_LABEL, ChatUI, UiSession, display_name, new_chat_session  # noqa: F401  (the app's API)
from assistant.ui.pages import PAGE_CSS
from assistant.ui.render import CSS, JS, NO_PASSAGE, NO_SOURCES, md_escape
from assistant.ui.uploads import file_digest  # noqa: F401  (kept importable from here)
from assistant.ui.users import User, verify
from assistant.ui.viewers import ONLY_ME, Viewers

if TYPE_CHECKING:
    import gradio as gr

    from assistant.api import Assistant
    from assistant.config import Settings

log = logging.getLogger(__name__)

TITLE = "CT policy assistant"
#: seconds between checks for documents another process ingested (the filter lists them)
REFRESH_S = 15
#: pixels: with the header, question box and feedback row this fits a 1280x900 screen
CHAT_HEIGHT = 470


def _theme() -> Any:
    import gradio as gr

    # System fonts only: the default themes would fetch Google Fonts from the internet.
    return gr.themes.Soft(font=("ui-sans-serif", "system-ui", "sans-serif"), font_mono=("ui-monospace", "Consolas", "monospace"))


def launch_options(settings: Settings, app: gr.Blocks | None = None) -> dict[str, Any]:
    """Keyword arguments for `Blocks.launch` (theme, CSS and JS live there in Gradio 6). With the
    `app` from `build_app`: its page-image and PDF routes too (`assistant.ui.files`)."""
    options = {
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
    }
    if app is not None:  # cited PDF pages by document id and page, through the user's view; Gradio serves no store path
        from assistant.ui.files import routes

        options["app_kwargs"] = {"routes": routes(app.ct_viewers)}  # type: ignore[attr-defined]
    return options


def build_app(assistant: Assistant, settings: Settings | None = None, users: dict[str, User] | None = None) -> gr.Blocks:
    """`users`: who may log in, with their groups; each sees only their groups' documents (`assistant.ui.viewers`)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    settings = settings or assistant.settings
    viewers = Viewers(assistant, settings, users)
    on = viewers.handlers()
    ui = viewers.ui(None)  # without logins the one view; with logins only its state-only handlers (new, rate) are used
    mode = settings.llm_name()
    with gr.Blocks(title=TITLE, analytics_enabled=False, fill_width=True) as app:
        app.ct_ui = ui  # type: ignore[attr-defined]  # for tests and embedding
        app.ct_viewers = viewers  # type: ignore[attr-defined]
        state = gr.State(None)  # a UiSession, created by the first question of each browser session
        with gr.Row(elem_id="ct-header"):
            gr.Markdown(f"### {TITLE}\nAnswers from the counter-terrorism policy documents only; every sentence cites its passage.", elem_id="ct-title")
            gr.Markdown(f"Answer mode: **{md_escape(mode)}**", elem_id="ct-mode", elem_classes=["ct-mode-badge"])
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Conversation",
                    show_label=False,  # the floating label covered the first line of a scrolled chat
                    elem_id="ct-chat",
                    height=CHAT_HEIGHT,
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
                with gr.Row(elem_id="ct-status-row"):
                    new = gr.Button("New conversation", elem_id="ct-new", size="sm", scale=0, min_width=160)
                    status = gr.Markdown("", elem_id="ct-status")
                # feedback on one row, within the first screen at 1280x900 (tests/ui/test_first_use.py)
                with gr.Row(elem_id="ct-feedback", equal_height=False):
                    comment = gr.Textbox(
                        show_label=False, placeholder="Feedback on the latest answer (optional comment)", elem_id="ct-comment", lines=1, scale=4
                    )
                    helpful = gr.Button("Helpful", elem_id="ct-helpful", size="sm", scale=1, min_width=90)
                    unhelpful = gr.Button("Not helpful", elem_id="ct-unhelpful", size="sm", scale=1, min_width=110)
                feedback_status = gr.Markdown("", elem_id="ct-feedback-status")
            with gr.Column(scale=2):
                first = [] if users else ui.document_choices()  # with logins: each user's list, filled when their page loads
                doc_filter = gr.Dropdown(choices=first, value=[], multiselect=True, label=FILTER_LABEL, elem_id="ct-filter")
                filter_seen = gr.State(None)  # the choices this browser was last sent
                gr.Markdown("**Sources**")
                sources = gr.HTML(NO_SOURCES, elem_id="ct-sources", js_on_load=None)
                gr.Markdown("**Passage**")
                passage = gr.HTML(NO_PASSAGE, elem_id="ct-passage", js_on_load=None)
                if settings.allow_upload:
                    with gr.Accordion("Add documents", open=False):
                        files = gr.File(
                            file_count="multiple", file_types=list(UPLOAD_TYPES), label=f"Up to {settings.upload_max_mb:g} MB each", elem_id="ct-upload"
                        )
                        upload_to = gr.Dropdown(choices=[(ONLY_ME, ONLY_ME)], value=ONLY_ME, label="Who may read them", elem_id="ct-upload-access")
                        ingest_btn = gr.Button("Ingest", elem_id="ct-ingest", size="sm")
                        upload_status = gr.Markdown("", elem_id="ct-upload-status")
                    app.load(on["upload_choices"], None, [upload_to], api_visibility="private", show_progress="hidden")
                    ingest_btn.click(on["upload"], [files, upload_to], [upload_status, doc_filter], api_visibility="private")
        with gr.Row(elem_id="ct-cite-bridge"):
            cite_ref = gr.Textbox(elem_id="ct-cite-ref", show_label=False, container=False)
            cite_open = gr.Button("open", elem_id="ct-cite-open")

        # documents ingested by another process: listed when the page loads, then checked every REFRESH_S s
        app.load(on["filter_update"], [filter_seen, doc_filter], [doc_filter, filter_seen], api_visibility="private", show_progress="hidden")
        gr.Timer(REFRESH_S).tick(on["filter_update"], [filter_seen, doc_filter], [doc_filter, filter_seen], api_visibility="private", show_progress="hidden")
        chat_outputs = [chatbot, question, state, sources, passage, status]
        for trigger in (send.click, question.submit):
            trigger(on["respond"], [question, doc_filter, state], chat_outputs, api_visibility="private", show_progress="minimal")
        cite_open.click(on["open_citation"], [cite_ref, state], [passage, sources], api_visibility="private", show_progress="hidden")
        reset_outputs = [chatbot, question, state, sources, passage, status, feedback_status]
        new.click(ui.new_conversation, [state], reset_outputs, api_visibility="private")
        chatbot.clear(ui.new_conversation, [state], reset_outputs, api_visibility="private")
        helpful.click(lambda c, s: ui.rate("helpful", c, s), [comment, state], [feedback_status, comment], api_visibility="private")
        unhelpful.click(lambda c, s: ui.rate("not_helpful", c, s), [comment, state], [feedback_status, comment], api_visibility="private")

        gr.api(on["ask"], api_name="ask")  # the logged-in user's view (assistant.ui.viewers)
        gr.api(on["documents"], api_name="documents")
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
    app = build_app(assistant, settings, auth)
    app.queue(default_concurrency_limit=4)
    log.info("serving on http://%s:%d (auth: %s)", settings.host, settings.port, "on" if auth else "off")
    try:
        app.launch(
            server_name=settings.host,
            server_port=settings.port,
            auth=(lambda name, password: verify(auth.get(name), password)) if auth else None,  # argon2id (assistant.ui.users)
            prevent_thread_lock=not block,
            quiet=quiet,
            **launch_options(settings, app),
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
