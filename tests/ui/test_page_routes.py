"""A cited PDF page on the web without server paths (issue 20, defect 3) and within the user's groups (issue 21).

The passage links `/doc/<id>/page/<n>.png` and `/doc/<id>/original.pdf#page=<n>` (`assistant.ui.files`):
a real server with two logins (hashed users file), one PDF restricted to a group. The member gets
the PNG and the PDF; the outsider gets the same 404 as for an unknown id; no page, response or
passage holds the store's path, and Gradio no longer serves the store folder.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DATA, free_port, missing
from tests.ui.conftest import Served, start

QUESTION = "How many suspicious transaction reports did the financial monitoring unit receive?"
SECRET, PUBLIC = "security_report", "notification"  # the restricted PDF (cited page: file page 5) and a public one
GROUP = "cell-k"
PASSWORDS = {"alice": "kestrel-member-pw", "bob": "outsider-pw-2"}  # alice is in GROUP, bob is not
TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def web(embedder: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    from assistant.api import Assistant
    from assistant.config import Settings
    from assistant.ui.users import add_user

    if shutil.which("tesseract") is None:
        missing("tesseract is not installed (apt-get install tesseract-ocr tesseract-ocr-eng)")
    root = tmp_path_factory.mktemp("pageroutes")
    public, restricted = root / "public", root / "restricted"
    public.mkdir()
    restricted.mkdir()
    for p in (DATA / "pdf").glob("*.pdf"):
        shutil.copy(p, (restricted if p.stem == SECRET else public) / p.name)
    users = root / "users.txt"
    add_user(users, "alice", PASSWORDS["alice"], GROUP)
    add_user(users, "bob", PASSWORDS["bob"], "analysts")
    settings = Settings(store=root / "store", port=free_port(), auth_file=users, feedback_db=root / "feedback.sqlite3")
    a = Assistant(settings, embedder)
    assert not a.ingest([public]).failed
    assert not a.ingest([restricted], access=GROUP).failed
    s = start(settings, a)
    yield s
    s.app.close()
    a.close()


def _store_strings(web: Served) -> list[str]:
    store = Path(web.settings.store)
    return sorted({str(store), str(store.resolve()), str(store.parent.resolve())})


def _login(web: Served, name: str | None) -> Any:
    import httpx

    c = httpx.Client(base_url=web.url.rstrip("/"), timeout=120)
    if name:
        r = c.post("/login", data={"username": name, "password": PASSWORDS[name]})
        assert r.status_code == 200, r.text
    return c


def _passage(web: Served, user: str) -> str:
    """The passage HTML the member's browser gets on clicking [1] (the real handlers, no browser)."""
    ui = web.app.ct_viewers.ui(user)
    *_, last = ui.respond(QUESTION, [], None)
    state = last[2]
    assert state.answers and state.answers[-1].citations[0].doc_id == SECRET
    passage, _ = ui.open_citation("1-1", state)
    return passage


def test_passage_html_names_the_document_and_page_only(web: Served) -> None:
    html = _passage(web, "alice")
    assert f'src="/doc/{SECRET}/page/5.png?v=' in html
    assert f'href="/doc/{SECRET}/original.pdf?v=' in html and "#page=5" in html
    assert "gradio_api/file" not in html and "page_cache" not in html
    assert [s for s in _store_strings(web) if s in html] == []


def test_page_image_and_pdf_routes_follow_the_users_groups(web: Served) -> None:
    html = _passage(web, "alice")
    png_url = html.split('<img src="')[1].split('"')[0].replace("&amp;", "&")
    pdf_url = html.split('class="ct-open-pdf" href="')[1].split('"')[0].replace("&amp;", "&").split("#")[0]
    alice, bob, nobody = _login(web, "alice"), _login(web, "bob"), _login(web, None)
    try:
        r = alice.get(png_url)
        assert r.status_code == 200 and r.headers["content-type"] == "image/png" and r.content[:8] == b"\x89PNG\r\n\x1a\n"
        assert r.headers["cache-control"].startswith("private")
        r = alice.get(f"/doc/{SECRET}/page/1.png")  # any page of a document she may read, rendered on demand
        assert r.status_code == 200 and r.content[:4] == b"\x89PNG"
        r = alice.get(pdf_url)
        assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
        assert r.content == (DATA / "pdf" / f"{SECRET}.pdf").read_bytes()
        assert r.headers["content-disposition"].startswith("inline") and f"{SECRET}.pdf" in r.headers["content-disposition"]

        # outside the user's groups is exactly an unknown id: same status, same body
        hidden = [bob.get(png_url), bob.get(f"/doc/{SECRET}/page/1.png"), bob.get(pdf_url)]
        unknown = [alice.get("/doc/no_such_doc/page/5.png"), bob.get("/doc/no_such_doc/page/5.png"), alice.get("/doc/no_such_doc/original.pdf")]
        beyond = [alice.get(f"/doc/{SECRET}/page/99.png"), alice.get(f"/doc/{SECRET}/page/0.png")]
        for r in hidden + unknown + beyond:
            assert (r.status_code, r.text) == (404, "Not Found"), r.url
        assert {tuple(sorted((k, v) for k, v in r.headers.items() if k != "date")) for r in hidden + unknown} == {
            tuple(sorted((k, v) for k, v in unknown[0].headers.items() if k != "date"))
        }
        r = bob.get(f"/doc/{PUBLIC}/page/1.png")  # a public PDF: bob may see it
        assert r.status_code == 200 and r.content[:4] == b"\x89PNG"
        assert bob.get(f"/doc/{PUBLIC}/original.pdf").content == (DATA / "pdf" / f"{PUBLIC}.pdf").read_bytes()

        assert nobody.get(png_url).status_code == 401 and nobody.get(f"/doc/{PUBLIC}/page/1.png").status_code == 401
        # Gradio no longer serves the store: the cached files are not reachable by path
        cached = sorted((Path(web.settings.store) / "page_cache").rglob("*.png"))
        assert cached
        for c in (alice, bob):
            assert c.get("/gradio_api/file=" + str(cached[0].resolve())).status_code in (403, 404)
        for r in [*hidden, *unknown]:
            assert [s for s in _store_strings(web) if s in r.text or s in str(r.headers)] == []
    finally:
        for c in (alice, bob, nobody):
            c.close()


class Recorder:
    """Every HTTP response the served app sends (status line, headers, body chunks, streams included),
    recorded at its ASGI entry. Requests reach the app without Accept-Encoding, so bodies are plain."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.responses: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k.lower() != b"accept-encoding"]}
        entry: dict[str, Any] = {"path": scope["path"], "status": None, "chunks": []}
        self.responses.append(entry)

        async def record(message: Any) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
                entry["chunks"].append(b"\n".join(k + b": " + v for k, v in message.get("headers", [])) + b"\n")
            elif message["type"] == "http.response.body":
                entry["chunks"].append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, record)

    def text(self) -> str:
        return "\n".join(b"".join(e["chunks"]).decode("utf-8", "replace") for e in self.responses)


@pytest.mark.browser
@pytest.mark.slow
def test_browser_no_response_of_a_pdf_citation_holds_a_store_path(web: Served, browser: Any) -> None:
    """Log in, ask, open the PDF citation, load its page image and the PDF: every HTTP response the
    server sent (page, config, queue stream, image, PDF) and the final DOM hold no path of the store."""
    from playwright.sync_api import expect

    server = web.app.server_app
    before = server.middleware_stack or server.build_middleware_stack()
    recorder = server.middleware_stack = Recorder(before)
    ctx = browser.new_context(viewport={"width": 1360, "height": 980})
    page = ctx.new_page()
    try:
        page.goto(web.url)
        page.locator("input[type=text]").first.fill("alice")
        page.locator("input[type=password]").fill(PASSWORDS["alice"])
        page.get_by_role("button", name="Login").click()
        page.locator("#ct-question textarea").wait_for(timeout=TIMEOUT_MS)
        bots = page.locator("#ct-chat [data-testid='bot']")
        page.locator("#ct-question textarea").fill(QUESTION)
        page.locator("#ct-send").click()
        expect(bots.first.locator("details.ct-about")).to_have_count(1, timeout=TIMEOUT_MS)
        expect(bots.first).to_contain_text("1,412")
        bots.first.locator("a[href^='#cite-']").first.click()
        img = page.locator("#ct-passage .ct-page img")
        img.wait_for(timeout=TIMEOUT_MS)
        page.wait_for_function("img => img.complete && img.naturalWidth > 500", arg=img.element_handle(), timeout=TIMEOUT_MS)
        assert img.get_attribute("src").startswith(f"/doc/{SECRET}/page/5.png")
        href = page.locator("#ct-passage a.ct-open-pdf").get_attribute("href")
        assert href.startswith(f"/doc/{SECRET}/original.pdf") and href.endswith("#page=5")
        pdf = page.request.get(web.url.rstrip("/") + href.split("#")[0], timeout=TIMEOUT_MS)  # with the browser's login
        assert pdf.status == 200 and pdf.body() == (DATA / "pdf" / f"{SECRET}.pdf").read_bytes()
        dom = page.content()
    finally:
        ctx.close()
        server.middleware_stack = before
    paths = [e["path"] for e in recorder.responses]
    assert any("queue/data" in p for p in paths) and any(p.startswith(f"/doc/{SECRET}/page/") for p in paths), paths
    seen = recorder.text() + "\n" + dom
    assert "1,412" in seen and "ct-open-pdf" in seen  # the streamed answer and passage were recorded
    assert [s for s in _store_strings(web) if s in seen] == []
    assert "gradio_api/file=" not in seen and "page_cache" not in seen
