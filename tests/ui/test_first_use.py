"""Issue 20 in the browser (real Chromium): the layout at desktop and phone widths (screenshots in
tests/artifacts/), the document filter listing documents another process ingested, and the
reader's short answer highlighted in the quoted sentence (issue 18 item 5)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DOC_NIFTAC, free_port, run_cli
from tests.ui.conftest import Served, start
from tests.ui.test_ui import KP_QUESTION, TIMEOUT_MS, Page

REFUSED = "What is the annual budget of the Punjab CTD?"
SHORT = "Rs567.7 million"


def _rect(locator: Any) -> dict[str, float]:
    return locator.evaluate("e => { const r = e.getBoundingClientRect(); return {x: r.left, y: r.top, w: r.width, h: r.height}; }")


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]


def _visible_in(box: dict[str, float], frame: dict[str, float]) -> bool:
    return box["w"] > 0 and box["h"] > 0 and _overlap(box, frame)


def _open(browser: Any, url: str, width: int, height: int) -> Page:
    p = Page.__new__(Page)
    p.context = browser.new_context(viewport={"width": width, "height": height})
    p.page = p.context.new_page()
    p.external = []
    p.page.on("request", p._record)
    p.page.goto(url)
    p.page.locator("#ct-question textarea").wait_for(timeout=TIMEOUT_MS)
    return p


def _scroll_chat(page: Any, fraction: float) -> None:
    page.evaluate("f => { const w = document.querySelector('#ct-chat .bubble-wrap'); w.scrollTop = (w.scrollHeight - w.clientHeight) * f; }", fraction)
    page.wait_for_timeout(400)


def _chat_icons_clear_of_messages(page: Any) -> None:
    """No copy icon under the chat's bin, no scroll arrow over a message (as far as each is visible)."""
    frame = _rect(page.locator("#ct-chat .bubble-wrap"))
    clear = page.locator("#ct-chat button[aria-label='Clear']")
    bin_box = _rect(clear) if clear.count() else None
    for copy in page.locator("#ct-chat .message-buttons button").all():
        box = _rect(copy)
        if bin_box and _visible_in(box, frame):
            assert not _overlap(box, bin_box), f"a copy icon {box} lies under the clear-chat icon {bin_box}"
    arrow = page.locator("#ct-chat .scroll-down-button-container")
    if arrow.count():
        a = _rect(arrow)
        for row in page.locator("#ct-chat .message-row .message").all():
            box = _rect(row)
            if _visible_in(box, frame):
                assert not _overlap(a, box), f"the scroll arrow {a} covers a message {box}"


@pytest.mark.browser
@pytest.mark.slow
def test_layout_at_desktop_width(served: Served, browser: Any, artifacts: Path) -> None:
    p = _open(browser, served.url, 1280, 900)
    try:
        page = p.page
        mode = _rect(page.locator("#ct-mode"))
        assert mode["x"] + mode["w"] > 1280 * 0.85 and mode["y"] < 80, f"'Answer mode' belongs top right (docs/ui.md): {mode}"
        helpful = _rect(page.locator("#ct-helpful"))
        assert helpful["y"] + helpful["h"] <= 900, f"feedback buttons below the first screen: {helpful}"
        for q in (KP_QUESTION, REFUSED, "What is NIFTAC?"):
            p.send(q)
        helpful = _rect(page.locator("#ct-helpful"))
        assert helpful["y"] + helpful["h"] <= 900, f"feedback buttons below the first screen after answers: {helpful}"
        assert "mode:" not in page.locator("#ct-chat").inner_text()  # how it was made is folded under "About this answer"
        page.screenshot(path=str(artifacts / "layout-desktop.png"))
        page.wait_for_timeout(1000)  # Gradio scrolls to the new message ~300 ms after it renders
        for fraction in (0.0, 0.3, 0.6, 1.0):
            _scroll_chat(page, fraction)
            _chat_icons_clear_of_messages(page)
        page.screenshot(path=str(artifacts / "layout-desktop-scrolled.png"))
    finally:
        p.close()


@pytest.mark.browser
@pytest.mark.slow
def test_layout_at_phone_width(served: Served, browser: Any, artifacts: Path) -> None:
    from playwright.sync_api import expect

    p = _open(browser, served.url, 400, 800)
    try:
        page = p.page
        for q in ("What is NIFTAC?", REFUSED):
            p.send(q)
        refusal = p.last_answer().locator(".ct-refusal")
        assert refusal.inner_text().strip().startswith("The documents don't say: ")
        page.screenshot(path=str(artifacts / "layout-phone.png"))
        page.wait_for_timeout(1000)  # Gradio scrolls to the new message ~300 ms after it renders
        _scroll_chat(page, 0.5)  # not at the bottom: the scroll-down arrow shows
        expect(page.locator("#ct-chat .scroll-down-button-container")).to_be_visible(timeout=10_000)
        page.screenshot(path=str(artifacts / "layout-phone-scrolled.png"))
        for fraction in (0.0, 0.3, 0.5, 0.8):
            _scroll_chat(page, fraction)
            _chat_icons_clear_of_messages(page)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 400, f"the page scrolls sideways at phone width ({width} px)"
    finally:
        p.close()


class _ReaderSession:
    """A chat session whose answer carries a reader's short answer (the reader itself is built elsewhere)."""

    def __init__(self, assistant: Any) -> None:
        self.assistant = assistant

    def stream(self, text: str, filters: Any = None, top_k: Any = None) -> Any:
        from assistant.chat import StreamEvent

        base = self.assistant.ask(KP_QUESTION)
        c = base.citations[0]
        at = c.quote.index(SHORT)
        cited = c.model_copy(update={"answer_start": at, "answer_end": at + len(SHORT)})
        answer = base.model_copy(update={"citations": [cited, *base.citations[1:]]})
        yield StreamEvent(kind="answer", text=answer.answer, answer=answer)

    def reset(self) -> None:
        pass


@pytest.mark.browser
@pytest.mark.slow
def test_short_answer_is_highlighted_in_the_quoted_sentence(served: Served, browser: Any, artifacts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from playwright.sync_api import expect

    import assistant.ui.handlers

    monkeypatch.setattr(assistant.ui.handlers, "new_chat_session", _ReaderSession)
    p = Page(browser, served.url)
    try:
        page = p.page
        p.send("and the money?")
        expect(p.last_answer().locator("mark.ct-answer")).to_have_text(SHORT)
        expect(page.locator("#ct-sources mark.ct-answer")).to_have_text(SHORT)
        p.last_answer().locator("a[href^='#cite-']").first.click()
        expect(page.locator("#ct-passage mark.ct-hl mark.ct-answer")).to_have_text(SHORT, timeout=TIMEOUT_MS)
        # the quoted sentence is still exactly the citation's quote, with the answer inside it
        quote = served.assistant.ask(KP_QUESTION).citations[0].quote
        assert page.locator("#ct-passage mark.ct-hl").inner_text().split() == quote.split()
        page.screenshot(path=str(artifacts / "chat-short-answer.png"), full_page=True)
    finally:
        p.close()


@pytest.mark.browser
@pytest.mark.slow
def test_filter_lists_documents_another_process_ingested(corpus_store: Path, embedder: Any, browser: Any, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from playwright.sync_api import expect

    import assistant.ui.app
    from assistant.api import Assistant
    from assistant.config import Settings

    monkeypatch.setattr(assistant.ui.app, "REFRESH_S", 2)
    store = tmp_path / "store"
    shutil.copytree(corpus_store, store)
    settings = Settings(store=store, port=free_port(), feedback_db=tmp_path / "fb.sqlite3")
    a = Assistant(settings, embedder)
    s = start(settings, a)
    p = Page(browser, s.url)
    try:
        page = p.page
        options = page.locator("#ct-filter [role='listbox']")

        def listed() -> str:
            page.locator("#ct-filter input").click()
            options.wait_for(timeout=TIMEOUT_MS)
            text = options.inner_text()
            page.locator("#ct-title").click()  # closes the list (and takes the focus off the input)
            options.wait_for(state="hidden", timeout=TIMEOUT_MS)
            return text

        before = listed()
        assert "NIFTAC, NACTA" in before and "Levies" not in before
        docs = tmp_path / "more"
        docs.mkdir()
        (docs / "levies.md").write_text("# Levies merger note\n\nDate: 2025-03-10\n\nThe Levies force joined the police in 2021.\n", encoding="utf-8")
        r = run_cli("ingest", str(docs), "--store", str(store))  # another process
        assert r.returncode == 0, r.stderr
        # the open page picks it up by itself (periodic check), with its date
        page.wait_for_timeout(3000)
        assert "Levies merger note (2025-03-10)" in listed()
        # and a page loaded afterwards lists it at once
        q = Page(browser, s.url)
        try:
            q.page.locator("#ct-filter input").click()
            expect(q.page.locator("#ct-filter [role='listbox']")).to_contain_text("Levies merger note", timeout=TIMEOUT_MS)
        finally:
            q.close()
        assert p.external == []
    finally:
        p.close()
        s.app.close()
        a.close()


def test_rendering_marks_the_short_answer_and_names_the_filters() -> None:
    from assistant.types import Answer, Citation
    from assistant.ui.render import render_answer_md, render_passage_html, render_sources_html

    text = "Intro. The cabinet authorized Rs567.7 million for <police> equipment. Tail."
    start, end = text.index("The cabinet"), text.index(" Tail.")
    quote = text[start:end]
    at = quote.index(SHORT)
    c = Citation(n=1, doc_id=DOC_NIFTAC, source="/srv/x.txt", title="T", chunk_id="c", quote=quote, start=start, end=end,
                 answer_start=at, answer_end=at + len(SHORT))
    ans = Answer(question="q", answer=quote + " [1]", refused=False, mode="extractive", citations=[c])
    md = render_answer_md(ans, 1)
    assert f'<mark class="ct-answer">{SHORT}</mark>' in md
    assert "&lt;police&gt;" in md and "mode:" not in md and "extractive mode" in md
    assert f'<mark class="ct-answer">{SHORT}</mark>' in render_sources_html(ans, 1, {DOC_NIFTAC: "2024-05-16"})
    passage = render_passage_html(c, text, "2024-05-16")
    assert f'<mark class="ct-hl">The cabinet authorized <mark class="ct-answer">{SHORT}</mark> for &lt;police&gt; equipment.</mark>' in passage
    assert "no date" not in render_passage_html(c, text, None) and "characters" not in passage.split("<details")[0]

    refused = Answer(question="q", answer="The documents don't say.", refused=True, mode="extractive", refusal_reason="no passage gives it")
    md = render_answer_md(refused, 2, "in “NIFTAC, NACTA”")
    assert "The documents don't say: no passage gives it. Searched only in “NIFTAC, NACTA”." in md


def test_documents_endpoint_shows_no_server_paths(corpus_assistant: Any, tmp_path: Path) -> None:
    from assistant.ui.handlers import ChatUI

    ui = ChatUI(corpus_assistant, corpus_assistant.settings.model_copy(update={"feedback_db": tmp_path / "fb.sqlite3"}))
    listed = ui.api_documents()
    assert listed and all(set(d) == {"doc_id", "name", "file", "date", "chunks"} for d in listed)
    assert all("/" not in d["file"] and "/" not in d["name"] for d in listed)
    assert all(c["source"] == Path(c["source"]).name for c in ui.api_ask(KP_QUESTION)["citations"])
    # the filter's choices: the title, the date only where known
    labels = [label for label, _ in ui.document_choices()]
    assert "NIFTAC, NACTA and the revival of civilian counter-terrorism" in labels
    assert all("no date" not in label for label in labels)


def test_feedback_on_a_read_only_deployment_is_a_message_not_a_failure(corpus_assistant: Any, tmp_path: Path) -> None:
    """Serving a store the service may not write (issue 20 defect 5): rating an answer says the
    feedback was not saved, in one line, and the page goes on."""
    from assistant.types import Answer
    from assistant.ui.handlers import ChatUI, UiSession

    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    ui = ChatUI(corpus_assistant, corpus_assistant.settings.model_copy(update={"feedback_db": blocker / "feedback.sqlite3"}))
    state = UiSession(answers=[Answer(question="q", answer="a", refused=True, mode="extractive")])
    status, comment = ui.rate("helpful", "kept", state)
    assert status.startswith("Feedback not saved") and "--feedback-db" in status and comment == "kept"
