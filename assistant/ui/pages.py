"""The cited page of a PDF: rendered on demand with pypdfium2, cached under the store, span highlighted.

`page_view(doc, citation, store)` copies the document's PDF into `<store>/page_cache/<key>/`
(key: doc id + content hash, so a re-ingested document gets a fresh folder), renders the cited
page to PNG once, and finds the boxes of the quoted characters in the page's text layer. The
quote is matched on letters and digits only, so joined hyphens ("counterterrorism" vs
"coun-" + "terrorism") and dropped headers do not matter. A page read by OCR has no text layer:
its words' boxes come from Tesseract's TSV output on the same 300 dpi rendering ingest OCR'd
(cached beside the image), and the page says its text was read by OCR.

The page image and the "open the PDF at this page" link name the document by id and page only
(`page_url`, `pdf_url`); the web app answers them from this cache through the reader's own view
(`assistant.ui.files`), so no server path reaches a browser.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from assistant.types import Citation, Document, PageSpan

log = logging.getLogger(__name__)

CACHE = "page_cache"
SCALE = 1.5  # 108 dpi: legible in the side panel, ~100-200 KB a page
_LOCK = threading.Lock()


def cache_dir(store: str | Path) -> Path:
    return Path(store) / CACHE


@dataclass
class PageView:
    page: PageSpan
    png: Path
    pdf: Path
    width: float  # page size in PDF points
    height: float
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)  # (left, top, width, height), fractions of the page
    note: str | None = None
    doc_id: str = ""
    version: str = ""  # changes when the document is re-ingested (cache busting in URLs)


def _atomic_write(dest: Path, write: object) -> None:
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-", suffix=dest.suffix)
    os.close(fd)
    try:
        write(Path(tmp))  # type: ignore[operator]
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _key(doc: Document) -> str:
    return hashlib.sha1(f"{doc.doc_id}\x00{doc.content_hash}".encode()).hexdigest()[:16]


def _alnum(text: str) -> tuple[str, list[int]]:
    keep = [(ch.lower(), i) for i, ch in enumerate(text) if ch.isalnum()]
    return "".join(k for k, _ in keep), [i for _, i in keep]


def _pieces(hay: str, want: str, min_piece: int = 6) -> list[tuple[int, int]]:
    """Cover `want` with the longest pieces found in `hay`: [(offset in hay, length)], or [] if it cannot.

    The text layer is in content-stream order, which on a two-column page interleaves lines of
    both columns; the quote (in reading order) is then found piece by piece, each piece the longest
    prefix of what is left that occurs in the page, taken after the previous piece where possible.
    """
    out: list[tuple[int, int]] = []
    pos = 0
    after = 0
    while pos < len(want):
        lo, hi = 0, len(want) - pos  # longest prefix of want[pos:] occurring in hay (monotone)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if want[pos : pos + mid] in hay:
                lo = mid
            else:
                hi = mid - 1
        if lo < min(min_piece, len(want) - pos) or lo == 0:
            return []
        piece = want[pos : pos + lo]
        at = hay.find(piece, after)
        if at < 0:
            at = hay.find(piece)
        out.append((at, lo))
        pos += lo
        after = at + lo
    return out


def span_boxes(textpage: object, width: float, height: float, quote: str) -> list[tuple[float, float, float, float]]:
    """Boxes (fractions of the page, top-left origin) of `quote` in a PDFium text page, one per line."""
    n = textpage.count_chars()  # type: ignore[attr-defined]
    if n <= 0:
        return []
    page_key, index = _alnum(textpage.get_text_range(0, n))  # type: ignore[attr-defined]
    want, _ = _alnum(quote)
    if not want:
        return []
    chosen: list[int] = []
    for at, size in _pieces(page_key, want):
        chosen += index[at : at + size]
    if not chosen:
        return []
    lines: list[list[float]] = []  # [l, b, r, t]
    for i in chosen:
        l, b, r, t = textpage.get_charbox(i)  # type: ignore[attr-defined]
        if lines and min(t, lines[-1][3]) - max(b, lines[-1][1]) > 0.3 * (t - b) and l >= lines[-1][0] - 1:
            box = lines[-1]
            box[0], box[1], box[2], box[3] = min(box[0], l), min(box[1], b), max(box[2], r), max(box[3], t)
        else:
            lines.append([l, b, r, t])
    pad = 1.5
    return [
        ((l - pad) / width, (height - t - pad) / height, (r - l + 2 * pad) / width, (t - b + 2 * pad) / height) for l, b, r, t in lines
    ]


def _ocr_words(page: object, cache: Path, width: float, height: float) -> list[tuple[str, int, float, float, float, float]]:
    """Tesseract's words on a scanned page: (text, line key, left, top, width, height as page fractions), cached.

    The page is rendered as ingest rendered it for OCR (300 dpi, grayscale), so the words are the
    ones the stored text was made of.
    """
    if cache.exists():
        try:
            return [tuple(w) for w in json.loads(cache.read_text(encoding="utf-8"))]  # type: ignore[misc]
        except (OSError, ValueError):
            pass
    if shutil.which("tesseract") is None:
        return []
    scale = 300 / 72
    image = page.render(scale=scale, grayscale=True).to_pil()  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory(prefix="ct-ocr-") as tmp:
        png = Path(tmp) / "page.png"
        image.save(png)
        try:
            proc = subprocess.run(
                ["tesseract", str(png), "stdout", "-l", "eng", "--psm", "3", "tsv"], capture_output=True, text=True, timeout=120, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("OCR word boxes unavailable: %s", exc)
            return []
    words = []
    W, H = width * scale, height * scale
    for row in proc.stdout.splitlines()[1:]:
        f = row.split("\t")
        if len(f) == 12 and f[0] == "5" and f[11].strip():
            line = int(f[2]) * 1_000_000 + int(f[3]) * 1000 + int(f[4])  # block, paragraph, line
            left, top, w, h = (int(v) for v in f[6:10])
            words.append((f[11], line, left / W, top / H, w / W, h / H))
    _atomic_write(cache, lambda tmp: tmp.write_text(json.dumps(words), encoding="utf-8"))
    return words  # type: ignore[return-value]


def _word_boxes(words: list[tuple[str, int, float, float, float, float]], quote: str) -> list[tuple[float, float, float, float]]:
    """Boxes of `quote` over OCR words, one per OCR line."""
    keys, owner = [], []
    for i, w in enumerate(words):
        k, _ = _alnum(w[0])
        keys.append(k)
        owner += [i] * len(k)
    hay = "".join(keys)
    want, _ = _alnum(quote)
    chosen = sorted({owner[j] for at, size in _pieces(hay, want) for j in range(at, at + size)}) if want else []
    lines: dict[int, list[float]] = {}
    for i in chosen:
        _, line, x, y, w, h = words[i]
        if line in lines:
            b = lines[line]
            x1, y1 = max(b[0] + b[2], x + w), max(b[1] + b[3], y + h)
            b[0], b[1] = min(b[0], x), min(b[1], y)
            b[2], b[3] = x1 - b[0], y1 - b[1]
        else:
            lines[line] = [x, y, w, h]
    pad = 0.003
    return [(x - pad, y - pad, w + 2 * pad, h + 2 * pad) for x, y, w, h in lines.values()]


def is_pdf(doc: Document) -> bool:
    return bool(doc.pages) and Path(doc.source).suffix.lower() == ".pdf"


def _copy_locked(doc: Document, folder: Path, original: Callable[[], bytes | None] | None) -> Path | None:
    """The cached copy of the PDF (made once; caller holds _LOCK), or None when the file is gone."""
    pdf_copy = folder / "document.pdf"
    if pdf_copy.exists():
        return pdf_copy
    src = Path(doc.source)
    folder.mkdir(parents=True, exist_ok=True)
    data = None if src.is_file() or original is None else original()
    if data is not None:  # another host ingested it: the catalog keeps the file
        _atomic_write(pdf_copy, lambda tmp: tmp.write_bytes(data))
    elif not src.is_file():
        log.info("page view: %s is gone", src)
        return None
    else:
        _atomic_write(pdf_copy, lambda tmp: shutil.copyfile(src, tmp))
    return pdf_copy


def _render_locked(pdf: object, n: int, png: Path, scale: float) -> object:
    p = pdf[n - 1]  # type: ignore[index]
    if not png.exists():
        image = p.render(scale=scale).to_pil()
        _atomic_write(png, lambda tmp: image.save(tmp, format="PNG"))
    return p


def pdf_copy(doc: Document, store: str | Path, original: Callable[[], bytes | None] | None = None) -> Path | None:
    """The document's PDF in the page cache, copied from its file or (`original`) from the shared
    catalog's copy; None for a document that is not a PDF or whose file is gone."""
    if not is_pdf(doc):
        return None
    with _LOCK:
        try:
            return _copy_locked(doc, cache_dir(store) / _key(doc), original)
        except OSError as exc:
            log.warning("PDF of %s unavailable: %s", doc.doc_id, exc)
            return None


def page_image(
    doc: Document, n: int, store: str | Path, scale: float = SCALE, original: Callable[[], bytes | None] | None = None
) -> Path | None:
    """PNG of page `n` of the file (1-based), rendered once into the page cache; None when the
    document is not a PDF, has no such page, or its file is gone."""
    if not is_pdf(doc) or n < 1:
        return None
    import pypdfium2 as pdfium

    folder = cache_dir(store) / _key(doc)
    png = folder / f"page-{n}.png"
    with _LOCK:
        if png.exists():
            return png
        try:
            copy = _copy_locked(doc, folder, original)
            if copy is None:
                return None
            pdf = pdfium.PdfDocument(str(copy))
        except (OSError, pdfium.PdfiumError) as exc:
            log.warning("page %d of %s unavailable: %s", n, doc.doc_id, exc)
            return None
        try:
            if n > len(pdf):
                return None
            _render_locked(pdf, n, png, scale)
            return png
        except (OSError, pdfium.PdfiumError) as exc:
            log.warning("page %d of %s unavailable: %s", n, doc.doc_id, exc)
            return None
        finally:
            pdf.close()


def page_view(
    doc: Document, citation: Citation, store: str | Path, scale: float = SCALE, original: Callable[[], bytes | None] | None = None
) -> PageView | None:
    """The cited (first) page, rendered and cached, with the quote's boxes; None for unpaged or missing PDFs.
    `original`: the file's bytes from a shared catalog, for a host that does not have the file."""
    if not is_pdf(doc) or citation.page is None:
        return None
    page = next((p for p in doc.pages or [] if p.n == citation.page), None)
    if page is None:
        return None
    folder = cache_dir(store) / _key(doc)
    png = folder / f"page-{page.n}.png"
    import pypdfium2 as pdfium

    with _LOCK:
        try:
            copy = _copy_locked(doc, folder, original)
            if copy is None:
                return None
            pdf = pdfium.PdfDocument(str(copy))
        except (OSError, pdfium.PdfiumError) as exc:
            log.warning("page view of %s unavailable: %s", doc.doc_id, exc)
            return None
        try:
            if page.n > len(pdf):
                return None
            p = _render_locked(pdf, page.n, png, scale)
            width, height = p.get_size()  # type: ignore[attr-defined]
            view = PageView(page=page, png=png, pdf=copy, width=width, height=height, doc_id=doc.doc_id, version=_key(doc))
            part = doc.text[max(citation.start, page.start) : min(citation.end, page.end)]
            if page.ocr:
                words = _ocr_words(p, folder / f"page-{page.n}.ocr.json", width, height)
                view.boxes = _word_boxes(words, part)
                view.note = "Scanned page: its text was read by OCR" + ("." if view.boxes else "; the quote could not be located on the image.")
            else:
                view.boxes = span_boxes(p.get_textpage(), width, height, part)  # type: ignore[attr-defined]
                if not view.boxes:
                    view.note = "The quote could not be located on the page image."
            return view
        finally:
            pdf.close()


def page_url(doc_id: str, n: int, version: str = "") -> str:
    """The web app's URL of page `n`'s image (`assistant.ui.files`): the document id and page only."""
    return f"/doc/{quote(doc_id, safe='')}/page/{n}.png" + (f"?v={version}" if version else "")


def pdf_url(doc_id: str, n: int | None = None, version: str = "") -> str:
    """The web app's URL of the document's PDF, opening at page `n`."""
    return f"/doc/{quote(doc_id, safe='')}/original.pdf" + (f"?v={version}" if version else "") + (f"#page={n}" if n else "")


def render_page_html(view: PageView) -> str:
    label = view.page.label or str(view.page.n)
    boxes = "".join(
        f'<div class="ct-box" style="left:{x * 100:.3f}%;top:{y * 100:.3f}%;width:{w * 100:.3f}%;height:{h * 100:.3f}%"></div>'
        for x, y, w, h in view.boxes
    )
    note = f'<div class="ct-page-note">{html.escape(view.note)}</div>' if view.note else ""
    ocr = " · OCR" if view.page.ocr else ""
    pdf_href = pdf_url(view.doc_id, view.page.n, view.version)
    img_src = page_url(view.doc_id, view.page.n, view.version)
    of_file = f"page {view.page.n} of the file"  # where the printed label differs, the file's own count is in the tooltip
    return (
        f'<div class="ct-page" data-page="{view.page.n}">'
        f'<div class="ct-page-head"><span class="ct-page-label" title="{of_file}">p. {html.escape(label)}</span>{ocr} · '
        f'<a class="ct-open-pdf" href="{html.escape(pdf_href)}" target="_blank" rel="noopener">open the PDF at this page</a></div>'
        f'<div class="ct-page-img" style="aspect-ratio:{view.width:.2f}/{view.height:.2f}">'
        f'<img src="{html.escape(img_src)}" alt="page {html.escape(label)}">{boxes}</div>{note}</div>'
    )


PAGE_CSS = """
.ct-passage-row { display: flex; flex-wrap: wrap; gap: 10px; align-items: flex-start; }
.ct-passage-row > .ct-passage { flex: 1 1 320px; min-width: 0; }
.ct-page { flex: 1 1 320px; min-width: 0; border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px; }
.ct-page-head { font-size: 0.85em; margin-bottom: 6px; }
.ct-page-img { position: relative; width: 100%; overflow: hidden; border: 1px solid #ccc; background: #fff; }
.ct-page-img img { position: absolute; inset: 0; width: 100%; height: 100%; display: block; }
.ct-box { position: absolute; background: rgba(255, 214, 0, 0.38); outline: 2px solid #e8a200; border-radius: 2px; pointer-events: none; }
.ct-page-note { font-size: 0.85em; opacity: 0.8; margin-top: 4px; font-style: italic; }
"""
