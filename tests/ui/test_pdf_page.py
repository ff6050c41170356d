"""The cited PDF page in the web chat: rendered page image, the quote boxed on it, the PDF link (real Chromium)."""

from __future__ import annotations

import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DATA, free_port, missing
from tests.ui.conftest import Served, start
from tests.ui.test_ui import TIMEOUT_MS, Page

QUESTION = "How many suspicious transaction reports did the financial monitoring unit receive?"
OCR_QUESTION = "How many suspects did the Punjab Counter Terrorism Department arrest?"


@pytest.fixture(scope="module")
def pdf_served(embedder: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    from assistant.api import Assistant
    from assistant.config import Settings

    if shutil.which("tesseract") is None:
        missing("tesseract is not installed (apt-get install tesseract-ocr tesseract-ocr-eng)")
    root = tmp_path_factory.mktemp("pdfui")
    folder = root / "docs"
    folder.mkdir()
    for p in (DATA / "pdf").glob("*.pdf"):
        shutil.copy(p, folder / p.name)
    settings = Settings(store=root / "store", port=free_port(), feedback_db=root / "feedback.sqlite3")
    a = Assistant(settings, embedder)
    report = a.ingest([folder])
    assert report.documents == 3 and not report.failed
    s = start(settings, a)
    yield s
    s.app.close()
    a.close()


@pytest.mark.browser
@pytest.mark.slow
def test_browser_pdf_citation_shows_the_page_with_the_quote_marked(pdf_served: Served, browser: Any, artifacts: Path) -> None:
    from playwright.sync_api import expect

    p = Page(browser, pdf_served.url)
    try:
        page = p.page
        p.send(QUESTION)
        answer = p.last_answer()
        expect(answer).to_contain_text("1,412")
        expect(page.locator("#ct-sources")).to_contain_text("p. 3")
        answer.locator("a[href^='#cite-']").first.click()
        # today's text view, and beside it the page
        expect(page.locator("#ct-passage mark.ct-hl")).to_contain_text("1,412", timeout=TIMEOUT_MS)
        view = page.locator("#ct-passage .ct-page")
        expect(view).to_be_visible(timeout=TIMEOUT_MS)
        expect(view.locator(".ct-page-head")).to_contain_text("p. 3")
        assert view.locator(".ct-page-label").get_attribute("title") == "page 5 of the file"
        img = view.locator("img")
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle(), timeout=TIMEOUT_MS)
        assert img.evaluate("i => i.naturalWidth") > 500
        # the quote is boxed where it is on the page: the right column, upper part
        boxes = view.locator(".ct-box")
        assert boxes.count() >= 2, "the quoted sentence runs over several lines"
        frame = view.locator(".ct-page-img").bounding_box()
        for i in range(boxes.count()):
            b = boxes.nth(i).bounding_box()
            assert b["width"] > 5 and b["height"] > 3
            assert b["x"] >= frame["x"] + frame["width"] * 0.45, "box must be in the right column"
            assert b["y"] < frame["y"] + frame["height"] * 0.3, "box must be near the top of the page"
        page.locator("#ct-passage").screenshot(path=str(artifacts / "chat-pdf-page.png"))
        # the image and the PDF link name the document and page only (no server path) and open at the page
        assert img.get_attribute("src").startswith("/doc/security_report/page/5.png")
        href = view.locator("a.ct-open-pdf").get_attribute("href")
        assert href.startswith("/doc/security_report/original.pdf") and href.endswith("#page=5")
        assert str(pdf_served.settings.store) not in page.locator("#ct-passage").inner_html()
        with urllib.request.urlopen(pdf_served.url.rstrip("/") + href.split("#")[0], timeout=30) as resp:
            assert resp.status == 200 and resp.read(5) == b"%PDF-"
        assert p.external == [], f"requests left the machine: {p.external}"
    finally:
        p.close()


@pytest.mark.browser
@pytest.mark.slow
def test_browser_ocr_page_is_shown_and_labelled(pdf_served: Served, browser: Any, artifacts: Path) -> None:
    from playwright.sync_api import expect

    p = Page(browser, pdf_served.url)
    try:
        page = p.page
        p.send(OCR_QUESTION)
        expect(p.last_answer()).to_contain_text("326")
        expect(page.locator("#ct-sources")).to_contain_text("p. 4 (OCR)")
        p.last_answer().locator("a[href^='#cite-']").first.click()
        view = page.locator("#ct-passage .ct-page")
        expect(view).to_contain_text("OCR", timeout=TIMEOUT_MS)
        expect(view).to_contain_text("read by OCR")
        expect(view.locator("img")).to_be_visible()
        # the quote is boxed from Tesseract's word boxes: one box per line, in the upper part of the page
        boxes = view.locator(".ct-box")
        assert boxes.count() >= 1
        frame = view.locator(".ct-page-img").bounding_box()
        for i in range(boxes.count()):
            b = boxes.nth(i).bounding_box()
            assert b["width"] > 20 and b["y"] < frame["y"] + frame["height"] * 0.3
        page.locator("#ct-passage").screenshot(path=str(artifacts / "chat-pdf-ocr-page.png"))
    finally:
        p.close()
