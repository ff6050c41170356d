"""The web chat: a real headless Chromium, gradio_client against the served app, and the handlers/rules."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from assistant.errors import ConfigError, ReadError
from tests.conftest import CORPUS, DOC_CTD, DOC_NIFTAC, run_cli
from tests.ui.conftest import Served, start

KP_QUESTION = "How much did the KP cabinet authorize for police equipment?"
OFF_TOPIC = "What is the capital of France?"
TIMEOUT_MS = 90_000


# --- browser ---------------------------------------------------------------------------------------
class Page:
    """A page of the chat, recording every request that leaves 127.0.0.1."""

    def __init__(self, browser: Any, url: str) -> None:
        self.context = browser.new_context(viewport={"width": 1360, "height": 980})
        self.page = self.context.new_page()
        self.external: list[str] = []
        self.page.on("request", self._record)
        self.page.goto(url)
        self.page.locator("#ct-question textarea").wait_for(timeout=TIMEOUT_MS)

    def _record(self, request: Any) -> None:
        u = urlparse(request.url)
        if u.scheme in ("http", "https", "ws", "wss") and u.hostname not in ("127.0.0.1", "localhost"):
            self.external.append(request.url)

    def send(self, question: str) -> None:
        bots = self.page.locator("#ct-chat [data-testid='bot']")
        before = bots.count()
        self.page.locator("#ct-question textarea").fill(question)
        self.page.locator("#ct-send").click()
        from playwright.sync_api import expect

        expect(bots).to_have_count(before + 1, timeout=TIMEOUT_MS)
        expect(bots.nth(before).locator("details.ct-about")).to_have_count(1, timeout=TIMEOUT_MS)  # the final render, not the placeholder

    def last_answer(self) -> Any:
        return self.page.locator("#ct-chat [data-testid='bot']").last

    def close(self) -> None:
        self.context.close()


@pytest.mark.browser
@pytest.mark.slow
def test_browser_answer_citation_highlight_feedback(served: Served, browser: Any, artifacts: Path) -> None:
    from playwright.sync_api import expect

    p = Page(browser, served.url)
    try:
        page = p.page
        expect(page.locator("#ct-mode")).to_contain_text("extractive")
        assert page.locator("#ct-upload").count() == 0, "uploads must be off unless allow_upload"
        p.send(KP_QUESTION)
        answer = p.last_answer()
        expect(answer).to_contain_text("Rs567.7 million")
        marker = answer.locator("a[href^='#cite-']").first
        expect(marker).to_have_text("[1]")
        # sources list: title and date
        expect(page.locator("#ct-sources")).to_contain_text("NIFTAC, NACTA and the revival of civilian counter-terrorism")
        assert "no date" not in page.locator("#ct-sources").inner_text()  # a date is shown only when known
        page.screenshot(path=str(artifacts / "chat-answer.png"), full_page=True)

        marker.click()
        mark = page.locator("#ct-passage mark.ct-hl")
        expect(mark).to_contain_text("Rs567.7 million", timeout=TIMEOUT_MS)
        # title on top; the document id and offsets are folded under "Details"
        details = page.locator("#ct-passage details.ct-details")
        assert DOC_NIFTAC not in details.inner_text() and "characters" not in page.locator("#ct-passage").inner_text()
        details.locator("summary").click()
        expect(details).to_have_attribute("open", "")
        assert DOC_NIFTAC in details.inner_text()
        # the highlighted text is exactly the citation's quote
        quote = served.assistant.ask(KP_QUESTION).citations[0].quote
        assert mark.inner_text().split() == quote.split()
        page.screenshot(path=str(artifacts / "chat-citation.png"), full_page=True)

        page.locator("#ct-comment textarea").fill("right figure")
        page.locator("#ct-helpful").click()
        expect(page.locator("#ct-feedback-status")).to_contain_text("recorded", timeout=TIMEOUT_MS)
        rows = served.app.ct_ui.feedback.rows()
        assert rows[-1]["rating"] == "helpful" and rows[-1]["comment"] == "right figure"
        assert rows[-1]["question"] == KP_QUESTION and "Rs567.7 million" in rows[-1]["citations"][0]["quote"]

        page.locator("#ct-new").click()
        expect(page.locator("#ct-chat [data-testid='bot']")).to_have_count(0, timeout=TIMEOUT_MS)
        assert p.external == [], f"requests left the machine: {p.external}"
    finally:
        p.close()


@pytest.mark.browser
@pytest.mark.slow
def test_browser_refusal_is_shown_with_reason(served: Served, browser: Any, artifacts: Path) -> None:
    from playwright.sync_api import expect

    p = Page(browser, served.url)
    try:
        p.send(OFF_TOPIC)
        answer = p.last_answer()
        expect(answer.locator(".ct-refusal")).to_contain_text("The documents don't say: ")
        assert answer.inner_text().count("don't say") == 1, "said once"
        assert answer.locator("a[href^='#cite-']").count() == 0
        expect(p.page.locator("#ct-sources")).to_contain_text("the documents don't say")
        expect(p.page.locator("#ct-status")).to_have_text("No answer in the documents.")  # the reason is not repeated
        p.page.screenshot(path=str(artifacts / "chat-refusal.png"), full_page=True)
        assert p.external == []
    finally:
        p.close()


@pytest.mark.browser
@pytest.mark.slow
def test_browser_refusal_reason_reads_as_plain_text(served: Served, browser: Any) -> None:
    """The reason is shown exactly as the API gives it: no Markdown backslashes ("\\(") leak
    into the HTML block, and nothing covers the first message of the conversation."""
    from playwright.sync_api import expect

    question = "What is the annual budget of the Punjab CTD?"  # on-topic, refused: its reason has punctuation
    answer_ = served.assistant.ask(question)
    reason = answer_.refusal_reason
    assert answer_.refused and reason
    p = Page(browser, served.url)
    try:
        p.send(question)
        answer = p.last_answer()
        expect(answer.locator(".ct-refusal")).to_be_visible()
        shown = answer.inner_text()
        assert "\\" not in shown, shown
        assert " ".join(f"The documents don't say: {reason.rstrip('.')}.".split()) in " ".join(shown.split())
        # Gradio draws a floating label on top of the message area: once the chat scrolls it hides
        # the first line of whatever message is at the top. None may be shown.
        floating = p.page.locator("#ct-chat label.float[data-testid='block-label']")
        assert [x.inner_text() for x in floating.all() if x.is_visible()] == []
    finally:
        p.close()


@pytest.mark.browser
@pytest.mark.slow
def test_browser_followup_shows_standalone_question(served: Served, browser: Any) -> None:
    from playwright.sync_api import expect

    p = Page(browser, served.url)
    try:
        p.send("What is NIFTAC?")
        p.send("Where was it approved?")
        answer = p.last_answer()
        expect(answer).to_contain_text("Understood as: Where was NIFTAC approved?")
        assert answer.locator("a[href^='#cite-2-']").count() >= 1  # markers point at the second answer
        answer.locator("a[href^='#cite-2-']").first.click()
        expect(p.page.locator("#ct-passage mark")).not_to_have_count(0, timeout=TIMEOUT_MS)
        # the chat's own clear (bin) button also starts a new conversation, server side too
        labels = [b.get_attribute("aria-label") or "" for b in p.page.locator("#ct-chat button").all()]
        clear = next(label for label in labels if "clear" in label.lower())
        p.page.locator(f"#ct-chat button[aria-label='{clear}']").first.click()
        expect(p.page.locator("#ct-chat [data-testid='bot']")).to_have_count(0, timeout=TIMEOUT_MS)
        expect(p.page.locator("#ct-status")).to_contain_text("New conversation", timeout=TIMEOUT_MS)
        p.send("Where was it approved?")  # no history any more: not rewritten
        assert "Understood as" not in p.last_answer().inner_text()
    finally:
        p.close()


class _FakeLLMSession:
    """Streams like an LLM-backed ChatSession: a rewrite, deltas, then an answer with an unsupported sentence."""

    def __init__(self, assistant: Any) -> None:
        self.assistant = assistant
        self.history: list[Any] = []

    def stream(self, text: str, filters: Any = None, top_k: Any = None) -> Any:
        import time

        from assistant.chat import StreamEvent
        from assistant.types import AnswerSentence

        base = self.assistant.ask(KP_QUESTION)
        yield StreamEvent(kind="standalone", text=KP_QUESTION)
        for piece in ("The cabinet authorized ", "Rs567.7 million [1]. ", "It also bought <b>tanks</b> [1]."):
            time.sleep(0.3)
            yield StreamEvent(kind="delta", text=piece)
        answer = base.model_copy(
            update={
                "question": text,
                "standalone_question": KP_QUESTION,
                "mode": "fake-llm-135m",
                "answer": "The cabinet authorized Rs567.7 million [1]. It also bought <b>tanks</b> [1].",
                "sentences": [
                    AnswerSentence(text="The cabinet authorized Rs567.7 million [1].", citations=[1], supported=True, score=0.9),
                    AnswerSentence(text="It also bought <b>tanks</b> [1].", citations=[1], supported=False, score=0.1),
                ],
            }
        )
        self.history.append((text, answer))
        yield StreamEvent(kind="answer", text=answer.answer, answer=answer)

    def reset(self) -> None:
        self.history.clear()


@pytest.mark.browser
@pytest.mark.slow
def test_browser_llm_style_answer_flags_unsupported(served: Served, browser: Any, artifacts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from playwright.sync_api import expect

    import assistant.ui.handlers

    monkeypatch.setattr(assistant.ui.handlers, "new_chat_session", _FakeLLMSession)
    p = Page(browser, served.url)
    try:
        p.send("and the money?")
        answer = p.last_answer()
        expect(answer).to_contain_text("Understood as: " + KP_QUESTION)
        expect(answer.locator("details.ct-about")).to_contain_text("fake-llm-135m")
        flagged = answer.locator(".ct-unsupported")
        expect(flagged).to_have_count(1)
        expect(flagged).to_contain_text("It also bought <b>tanks</b>")  # shown as text, not markup
        expect(answer.locator(".ct-flag")).to_have_text("unsupported")
        assert answer.locator("b", has_text="tanks").count() == 0
        p.page.screenshot(path=str(artifacts / "chat-unsupported.png"), full_page=True)
    finally:
        p.close()


@pytest.mark.browser
@pytest.mark.slow
def test_browser_two_sessions_do_not_cross(served: Served, browser: Any) -> None:
    from playwright.sync_api import expect

    a, b = Page(browser, served.url), Page(browser, served.url)
    try:
        for p, q in ((a, KP_QUESTION), (b, OFF_TOPIC)):  # both in flight at once
            p.page.locator("#ct-question textarea").fill(q)
            p.page.locator("#ct-send").click()
        for p in (a, b):
            expect(p.page.locator("#ct-chat [data-testid='bot']").last.locator("details.ct-about")).to_have_count(1, timeout=TIMEOUT_MS)
        chat_a, chat_b = a.page.locator("#ct-chat").inner_text(), b.page.locator("#ct-chat").inner_text()
        assert "police equipment" in chat_a and "France" not in chat_a
        assert "France" in chat_b and "police equipment" not in chat_b
        a.page.reload()  # a reload is a new session: empty conversation
        a.page.locator("#ct-question textarea").wait_for()
        assert a.page.locator("#ct-chat [data-testid='bot']").count() == 0
    finally:
        a.close()
        b.close()


# --- gradio_client ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_gradio_client_ask_endpoint(served: Served) -> None:
    from gradio_client import Client

    client = Client(served.url, verbose=False)
    d = client.predict(KP_QUESTION, [], None, api_name="/ask")
    assert d["refused"] is False and d["mode"] == "extractive"
    assert "Rs567.7 million" in d["answer"] and "[1]" in d["answer"]
    c = d["citations"][0]
    assert c["quote"] == served.assistant.document(c["doc_id"]).text[c["start"] : c["end"]]

    refused = client.predict(OFF_TOPIC, [], None, api_name="/ask")
    assert refused["refused"] is True and refused["citations"] == [] and refused["refusal_reason"]

    # the document filter reaches retrieval
    only_ctd = client.predict(KP_QUESTION, [DOC_CTD], None, api_name="/ask")
    assert all(c["doc_id"] == DOC_CTD for c in only_ctd["citations"])

    with pytest.raises(Exception, match="unknown document id"):  # noqa: B017  (gradio_client's AppError)
        client.predict(KP_QUESTION, ["no_such_doc"], None, api_name="/ask")

    docs = client.predict(api_name="/documents")
    assert {d["doc_id"] for d in docs} == {DOC_CTD, DOC_NIFTAC}
    # web users see a display name and the id, never the server's paths (issue 20 defect 3)
    assert all(set(d) == {"doc_id", "name", "file", "date", "chunks"} for d in docs)
    assert {d["file"] for d in docs} == {f"{DOC_CTD}.txt", f"{DOC_NIFTAC}.txt"}
    served_json = str(docs) + str(d) + str(refused)
    assert "/" not in "".join(str(x["file"]) + str(x["name"]) for x in docs)
    assert str(CORPUS) not in served_json and str(served.settings.store) not in served_json
    assert [c["source"] for c in d["citations"]] == [f"{c['doc_id']}.txt" for c in d["citations"]]

    api = client.view_api(print_info=False, return_format="dict")
    assert set(api["named_endpoints"]) == {"/ask", "/documents"}, "UI events must not be callable API endpoints"


@pytest.mark.slow
def test_auth_is_enforced_when_set(corpus_store: Path, embedder: Any, tmp_path: Path) -> None:
    from gradio_client import Client

    from assistant.api import Assistant
    from assistant.config import Settings
    from tests.conftest import free_port

    from assistant.ui.users import add_user

    auth_file = tmp_path / "users.txt"
    add_user(auth_file, "alice", "s3cret", None)  # hashed (issue 21); plain-text lines are refused
    settings = Settings(store=corpus_store, port=free_port(), auth_file=auth_file, feedback_db=tmp_path / "fb.sqlite3")
    a = Assistant(settings, embedder)
    s = start(settings, a)
    try:
        with pytest.raises(Exception):  # noqa: B017  (gradio_client raises a plain ValueError/HTTP error)
            Client(s.url, verbose=False)
        client = Client(s.url, auth=("alice", "s3cret"), verbose=False)
        assert client.predict(api_name="/documents")
    finally:
        s.app.close()
        a.close()


# --- bind & auth rules -------------------------------------------------------------------------------
@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True),
                                                 ("0.0.0.0", False), ("127.0.0.2", False), ("192.168.1.5", False), ("::", False), ("example.org", False)])
def test_is_loopback(host: str, loopback: bool) -> None:
    from assistant.ui.guard import is_loopback

    assert is_loopback(host) is loopback


def test_other_interface_needs_auth(tmp_path: Path) -> None:
    from assistant.config import Settings
    from assistant.ui.app import serve
    from assistant.ui.guard import check_bind, load_auth

    check_bind("127.0.0.1", [])
    check_bind("0.0.0.0", [("u", "p")])
    with pytest.raises(ConfigError, match="requires --auth"):
        check_bind("0.0.0.0", [])
    # serve() refuses before opening the store or binding anything
    with pytest.raises(ConfigError, match="requires --auth"):
        serve(Settings(store=tmp_path / "nowhere", host="127.0.0.2"))

    from assistant.errors import AuthFileError
    from assistant.ui.users import add_user, verify

    users = load_auth(Settings(store=tmp_path, auth="bob:pw:with:colons"))  # held hashed in memory
    assert list(users) == ["bob"] and verify(users["bob"], "pw:with:colons") and not verify(users["bob"], "pw")
    f = tmp_path / "users"
    add_user(f, "a", "1", None)
    add_user(f, "b", "2", "analysts")
    f.write_text(f.read_text(encoding="utf-8") + "# comment\n\n", encoding="utf-8")
    users = load_auth(Settings(store=tmp_path, auth_file=f))
    assert sorted(users) == ["a", "b"] and users["b"].groups == ["analysts"] and verify(users["a"], "1")
    f.write_text("no-colon-here\n", encoding="utf-8")
    with pytest.raises(AuthFileError, match="line 1"):
        load_auth(Settings(store=tmp_path, auth_file=f))
    with pytest.raises(AuthFileError, match="cannot read"):
        load_auth(Settings(store=tmp_path, auth_file=tmp_path / "missing"))


def _serve_registered() -> bool:
    from assistant.cli.main import build_parser

    return "serve" in build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]


def test_cli_serve_refuses_other_interface_without_auth(tmp_path: Path) -> None:
    assert _serve_registered()
    r = run_cli("serve", "--store", str(tmp_path), "--host", "0.0.0.0", "--port", "9")
    assert r.returncode == 2
    err = r.stderr.strip().splitlines()
    assert "requires --auth" in err[-1] and len([line for line in err if "error" in line]) == 1


def test_serve_parser_maps_flags(tmp_path: Path) -> None:
    import argparse

    from assistant.cli.serve import _settings, register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["serve", "--store", str(tmp_path), "--host", "0.0.0.0", "--port", "8123", "--auth", "u:p",
                              "--allow-upload", "--upload-max-mb", "2"])
    s = _settings(args)
    assert (s.host, s.port, s.auth, s.allow_upload, s.upload_max_mb, s.store) == ("0.0.0.0", 8123, "u:p", True, 2.0, tmp_path)
    s = _settings(parser.parse_args(["serve", "--store", str(tmp_path)]))
    assert (s.host, s.allow_upload) == ("127.0.0.1", False)


# --- handlers (no browser) ---------------------------------------------------------------------------
def _run(ui: Any, question: str, state: Any, doc_ids: list[str] | None = None) -> tuple[Any, ...]:
    out: tuple[Any, ...] = ()
    for out in ui.respond(question, doc_ids or [], state):
        pass
    return out


@pytest.mark.slow
def test_handlers_sessions_are_separate_under_concurrency(corpus_assistant: Any, tmp_path: Path) -> None:
    from assistant.ui.app import ChatUI, UiSession

    settings = corpus_assistant.settings.model_copy(update={"feedback_db": tmp_path / "fb.sqlite3"})
    ui = ChatUI(corpus_assistant, settings)
    a, b = UiSession(), UiSession()
    results: dict[str, tuple[Any, ...]] = {}

    def go(name: str, q: str, st: Any) -> None:
        results[name] = _run(ui, q, st)

    threads = [threading.Thread(target=go, args=("a", KP_QUESTION, a)), threading.Thread(target=go, args=("b", OFF_TOPIC, b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert a.session is not b.session
    assert [x.question for x in a.answers] == [KP_QUESTION] and [x.question for x in b.answers] == [OFF_TOPIC]
    assert "France" not in str(a.session.history) and "police equipment" not in str(b.session.history)
    assert "Rs567.7 million" in results["a"][0][-1]["content"] and "The documents don't say" in results["b"][0][-1]["content"]

    passage, sources = ui.open_citation("1-1", a)
    assert "<mark" in passage and "Rs567.7 million" in passage and 'class="ct-selected"' in sources
    assert "no longer" in ui.open_citation("1-1", b)[0] or "No citation" in ui.open_citation("1-1", b)[0]

    chat, _, fresh, *_ = ui.new_conversation(a)
    assert chat == [] and fresh.answers == [] and fresh.messages == []


@pytest.mark.slow
def test_handler_document_filter(corpus_assistant: Any, tmp_path: Path) -> None:
    from assistant.ui.app import ChatUI, UiSession

    ui = ChatUI(corpus_assistant, corpus_assistant.settings.model_copy(update={"feedback_db": tmp_path / "fb.sqlite3"}))
    assert {doc_id for _, doc_id in ui.document_choices()} == {DOC_CTD, DOC_NIFTAC}
    st = UiSession()
    _run(ui, KP_QUESTION, st, [DOC_CTD])
    assert all(c.doc_id == DOC_CTD for c in st.answers[-1].citations)
    assert st.filters[-1] == {"doc_ids": [DOC_CTD]}


def test_empty_question_and_feedback_before_answer(tmp_path: Path) -> None:
    from assistant.config import Settings
    from assistant.ui.app import ChatUI, UiSession

    class NoDocs:
        settings = Settings(store=tmp_path)

        def documents(self) -> list[Any]:
            return []

    ui = ChatUI(NoDocs(), NoDocs.settings)  # type: ignore[arg-type]
    out = list(ui.respond("   ", [], UiSession()))
    assert out[-1][-1] == "Type a question first."
    assert "Ask a question first" in ui.rate("helpful", "x", UiSession())[0]


# --- uploads -------------------------------------------------------------------------------------------
def test_validate_upload_type_and_size(tmp_path: Path) -> None:
    from assistant.ui.guard import safe_upload_name, validate_upload

    ok = tmp_path / "note.md"
    ok.write_text("# NACTA\nSome text.\n", encoding="utf-8")
    validate_upload(ok, 1.0)
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ....")
    with pytest.raises(ReadError, match=r"type \.exe not allowed"):
        validate_upload(exe, 1.0)
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * 3000)
    with pytest.raises(ReadError, match="over the 0.001 MB limit"):
        validate_upload(big, 0.001)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(ReadError, match="empty"):
        validate_upload(empty, 1.0)
    assert safe_upload_name("../../etc/passwd.TXT") == "passwd.txt"
    assert safe_upload_name("C:\\x\\Report (final)?.PDF") == "Report _final.pdf"
    assert "\n" not in str(ReadError("x.exe", "type .exe not allowed"))


@pytest.mark.slow
def test_upload_handler_ingests_allowed_files_only(make_assistant: Any, tmp_path: Path) -> None:
    from assistant.ui.app import ChatUI

    a = make_assistant(allow_upload=True, upload_max_mb=0.002)
    ui = ChatUI(a, a.settings)
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    good = incoming / "nacta note.md"
    good.write_text("# NACTA staffing note\n\nNACTA employs forty analysts in its Islamabad office.\n", encoding="utf-8")
    bad_type = incoming / "macro.xlsm"
    bad_type.write_bytes(b"PK")
    too_big = incoming / "long.txt"
    too_big.write_text("word " * 1000, encoding="utf-8")
    status, update = ui.upload([str(good), str(bad_type), str(too_big)])
    assert status.startswith("Ingested 1 of 3 file(s): added 1")
    assert "macro.xlsm: type .xlsm not allowed" in status and "long.txt:" in status and "MB limit" in status
    saved = sorted(p.name for p in (Path(a.settings.store) / "uploads").rglob("*") if p.is_file())
    assert saved == ["nacta note.md"]  # under uploads/<user>/<content hash>/
    assert len(update["choices"]) == 1 and "NACTA staffing note" in update["choices"][0][0]
    assert "forty analysts" in a.ask("How many analysts does NACTA employ?").answer

    off = ChatUI(a, a.settings.model_copy(update={"allow_upload": False}))
    assert off.upload([str(good)])[0] == "Uploads are disabled on this server."


# --- rendering -----------------------------------------------------------------------------------------
def test_rendering_escapes_untrusted_text_and_flags_unsupported() -> None:
    from assistant.types import Answer, AnswerSentence, Citation
    from assistant.ui.render import render_answer_md, render_passage_html, render_sources_html

    text = "Intro. <script>alert(1)</script> NACTA got $5 and [a](http://evil) funds. Tail."
    start = text.index("<script>")
    end = text.index(" Tail.")
    cit = Citation(n=1, doc_id="d1", source="s", title="<b>T</b>", chunk_id="c", quote=text[start:end], start=start, end=end)
    ans = Answer(
        question="q?",
        standalone_question="what about <NACTA>?",
        answer="NACTA got $5 [1]. It also owns the moon [1].",
        refused=False,
        mode="smollm2",
        citations=[cit],
        sentences=[
            AnswerSentence(text="NACTA got $5 [1].", citations=[1], supported=True),
            AnswerSentence(text="It also owns the moon [a](http://evil).", citations=[1, 7], supported=False),
        ],
        notice="LLM unavailable; extractive fallback",
    )
    md = render_answer_md(ans, 3)
    assert "Understood as: what about &lt;NACTA&gt;?" in md
    assert md.count("(#cite-3-1)") == 2 and "#cite-3-7" not in md  # markers to unknown citations are dropped
    assert '<span class="ct-unsupported"' in md and "unsupported</span>" in md
    assert "\\[a\\]\\(http://evil\\)" in md and "\\$5" in md  # no live links or LaTeX from model text
    assert '<details class="ct-about">' in md and "smollm2" in md and "extractive fallback" in md

    passage = render_passage_html(cit, text, None)
    assert "<script>" not in passage and "&lt;script&gt;" in passage
    assert '<mark class="ct-hl">&lt;script&gt;alert(1)&lt;/script&gt; NACTA got $5' in passage
    sources = render_sources_html(ans, 3, {"d1": "2024-05-16"}, selected=1)
    assert "&lt;b&gt;T&lt;/b&gt;" in sources and "2024-05-16" in sources and 'href="#cite-3-1"' in sources

    refused = Answer(question="q", answer="The documents don't say.", refused=True, mode="extractive", refusal_reason="no <match>")
    md = render_answer_md(refused, 1)
    assert "The documents don't say: no &lt;match&gt;." in md and "#cite-" not in md and md.count("don't say") == 1

