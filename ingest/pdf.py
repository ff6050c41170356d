"""PDF text with pages: per-page text in reading order, cleaned, with a page map.

Reading order (lines, columns, paragraphs, hidden text) is `ingest.pdf_layout`; this module opens
the PDF, OCRs scanned pages, cleans the text and builds the page map.

Extraction uses pypdfium2 (PDFium, Apache-2.0/BSD; chosen over pypdf on quality and speed, see
docs/pdf_extraction.md and `python -m benchmarks.pdf_extract`). From PDFium's text-line rectangles:

- lines are ordered top to bottom; a two-column region (two stacks of lines side by side with a
  gutter no line crosses) is read left column first, then right;
- paragraphs are split where the gap between lines is clearly larger (1.3x) than the page's line
  pitch, unless the text plainly runs on;
- running headers/footers (a top or bottom line that repeats on at least half the pages once
  digits and the page's own label are masked, or a chapter's running head that carries the page
  number and repeats on at least two pages) and bare page numbers are dropped;
- a line-end hyphen is joined ("coun-" + "terrorism" -> "counterterrorism") unless the document
  elsewhere writes the hyphenated form and never the joined one, or the next line starts with a
  capital ("Anti-" + "Terrorism" -> "Anti-Terrorism");
- a page with (almost) no text layer is OCR'd with Tesseract (`tesseract` binary, Debian
  `tesseract-ocr` + `tesseract-ocr-eng`) and marked ``ocr``; without Tesseract it is skipped with a
  warning naming the page, never silently.

All cleaning happens before normalisation. The reader joins pages with a sentinel character
(`PAGE_MARK`); after `ingest.read.normalize` the caller calls `page_ranges` to remove the marks and
get the page map `[{n, label, start, end, ocr}]` as character ranges of the stored text, so that
citations (`quote == text[start:end]`) map to pages.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import ReadError
from ingest.pdf_layout import Line, _mark_paragraphs, _Seg, _segments, layout_lines  # noqa: F401  (re-exported: tests, benchmarks)

log = logging.getLogger(__name__)

PAGE_MARK = "\ue000"  # private-use char: start of a page in the joined text, removed after normalisation
MIN_TEXT_CHARS = 20  # a page with fewer non-space text-layer chars is treated as scanned
OCR_DPI = 300
OCR_TIMEOUT_S = 120
_HYPHEN_MARKS = ("\x02", "\ufffe", "\u00ad", "-", "\u2010")
_PAGE_NUMBER = re.compile(r"^(?:page\s+)?([0-9]+|[ivxlcdm]+)(?:\s*(?:of|/)\s*[0-9]+)?$", re.I)
_WORD_TAIL = re.compile(r"([A-Za-z]+)$")
_WORD_HEAD = re.compile(r"^([A-Za-z]+)")


@dataclass
class PageText:
    n: int  # 1-based
    label: str
    lines: list[Line] = field(default_factory=list)
    ocr: bool = False
    skipped: str | None = None  # why the page has no text (e.g. no Tesseract)
    text: str = ""  # cleaned text, paragraphs separated by blank lines
    run_on: str | None = None  # " " or "": the page continues the previous page's sentence


@dataclass
class PdfText:
    text: str  # pages joined, each (but the first) preceded by PAGE_MARK
    title: str | None
    pages: list[dict[str, object]]  # [{n, label, ocr}] in order; ranges come from page_ranges()
    warnings: list[str]


# --- OCR -------------------------------------------------------------------------------------
def tesseract_available() -> bool:
    return shutil.which("tesseract") is not None


def ocr_lines(image: object) -> list[Line]:
    """Tesseract on a PIL image -> lines (blank lines in its output start paragraphs)."""
    with tempfile.TemporaryDirectory(prefix="ct-ocr-") as tmp:
        png = Path(tmp) / "page.png"
        image.save(png)  # type: ignore[attr-defined]
        proc = subprocess.run(
            ["tesseract", str(png), "stdout", "-l", "eng", "--psm", "3"],
            capture_output=True, text=True, timeout=OCR_TIMEOUT_S, check=False,
        )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}")
    lines: list[Line] = []
    new_para = True
    for raw in proc.stdout.splitlines():
        if not raw.strip():
            new_para = True
            continue
        lines.append(Line(text=raw.strip(), para_start=new_para))
        new_para = False
    return lines


# --- extraction backends -----------------------------------------------------------------------
def _open_pdfium(data: bytes, name: str) -> object:
    import pypdfium2 as pdfium

    if b"%PDF" not in data[:1024]:  # the header may follow a little junk, as readers allow
        raise ReadError(name, "corrupt PDF: no %PDF header")
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        msg = str(exc)
        if "password" in msg.lower() or "security" in msg.lower():
            raise ReadError(name, "encrypted PDF") from exc
        raise ReadError(name, f"corrupt PDF ({msg})") from exc


def _label(doc: object, i: int) -> str:
    try:
        return doc.get_page_label(i) or str(i + 1)  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - a broken label tree must not fail the document
        return str(i + 1)


def pages_pdfium(data: bytes, name: str = "<pdf>", ocr: bool = True) -> list[PageText]:
    """Per-page lines in reading order; scanned pages OCR'd (or marked skipped)."""
    doc = _open_pdfium(data, name)
    out: list[PageText] = []
    have_tesseract = ocr and tesseract_available()
    try:
        for i in range(len(doc)):  # type: ignore[arg-type]
            page = doc[i]  # type: ignore[index]
            pt = PageText(n=i + 1, label=_label(doc, i))
            try:
                tp = page.get_textpage()
                segs = _segments(tp, page, name)
                if sum(len(s.text.strip()) for s in segs) >= MIN_TEXT_CHARS:
                    pt.lines = layout_lines(segs, page.get_width())
                elif not ocr:
                    pt.skipped = "no text layer (OCR off)"
                elif not have_tesseract:
                    pt.skipped = "no text layer and Tesseract is not installed (apt-get install tesseract-ocr tesseract-ocr-eng); page skipped"
                else:
                    image = page.render(scale=OCR_DPI / 72, grayscale=True).to_pil()
                    try:
                        pt.lines, pt.ocr = ocr_lines(image), True
                    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
                        pt.skipped = f"OCR failed ({exc}); page skipped"
                    if pt.ocr and not pt.lines:
                        pt.skipped = "no text layer and OCR found no text"
            except Exception as exc:  # noqa: BLE001 - PDFium raises its own error type per page
                pt.skipped = f"unreadable page ({type(exc).__name__}: {exc})"
            out.append(pt)
    finally:
        doc.close()  # type: ignore[attr-defined]
    return out


def pages_pypdf(data: bytes) -> list[PageText]:
    """pypdf's plain extraction, one Line per text line (the benchmark's baseline)."""
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    labels = list(reader.page_labels)
    out = []
    for i, page in enumerate(reader.pages):
        lines = [Line(text=t.strip()) for t in (page.extract_text() or "").splitlines() if t.strip()]
        if lines:
            lines[0].para_start = True
        out.append(PageText(n=i + 1, label=labels[i] if i < len(labels) else str(i + 1), lines=lines))
    return out


# --- cleaning ------------------------------------------------------------------------------
def _mask(text: str, page: PageText) -> str:
    t = text.lower().strip()
    for tok in {page.label.lower(), str(page.n)}:
        t = re.sub(rf"(?<![\w]){re.escape(tok)}(?![\w])", "#", t)
    t = re.sub(r"\d+", "#", t)
    return re.sub(r"\s+", " ", t)


def remove_running_lines(pages: list[PageText], edge: int = 2) -> int:
    """Drop repeated top/bottom lines and bare page numbers; returns how many lines were dropped."""
    textual = [p for p in pages if p.lines]
    if not textual:
        return 0

    def edges(p: PageText) -> list[Line]:
        by_y = sorted(p.lines, key=lambda ln: -ln.top) if any(ln.top for ln in p.lines) else p.lines
        return by_y[:edge] + by_y[-edge:]

    def bare(ln: Line) -> str | None:  # "12", "iv", "Page 3 of 9" -> the number
        m = _PAGE_NUMBER.match(ln.text.strip())
        return m.group(1).lower() if m else None

    need = max(2, (len(textual) + 1) // 2)
    counts: dict[str, int] = {}
    offsets: dict[int, int] = {}  # printed number - page index, for bare numbers at page edges
    for p in textual:
        for key in {_mask(ln.text, p) for ln in edges(p) if bare(ln) is None}:
            counts[key] = counts.get(key, 0) + 1
        for off in {int(t) - p.n for ln in edges(p) if (t := bare(ln)) and t.isdigit()}:
            offsets[off] = offsets.get(off, 0) + 1
    steady = {off for off, c in offsets.items() if c >= need}  # page numbers that count up with the pages

    def numbered(ln: Line, p: PageText) -> bool:  # "Chapter 2: Title 14": starts or ends with the page's number
        words = ln.text.lower().split()
        return len(words) > 1 and bool({words[0], words[-1]} & {p.label.lower(), str(p.n)})

    def running(ln: Line, p: PageText) -> bool:
        tok = bare(ln)
        if tok is None:
            n = counts.get(_mask(ln.text, p), 0)
            # repeated on half the pages, or a numbered running head of one chapter (repeated at least twice)
            return n >= need or (n >= 2 and numbered(ln, p))
        return tok == p.label.lower() or tok == str(p.n) or (tok.isdigit() and int(tok) - p.n in steady)

    dropped = 0
    for p in textual:
        drop = {id(ln) for ln in edges(p) if running(ln, p)}
        if drop:
            keep = []
            carry_para = False
            for ln in p.lines:
                if id(ln) in drop:
                    carry_para = carry_para or ln.para_start
                    dropped += 1
                    continue
                if carry_para:
                    ln.para_start, carry_para = True, False
                keep.append(ln)
            p.lines = keep
    return dropped


def _vocabulary(pages: list[PageText]) -> tuple[set[str], set[str]]:
    words: set[str] = set()
    compounds: set[str] = set()
    for p in pages:
        for ln in p.lines:
            for tok in re.findall(r"[A-Za-z]+(?:-[A-Za-z]+)*", ln.text):
                (compounds if "-" in tok else words).add(tok.lower())
    return words, compounds


def _join(prev: str, nxt: str, words: set[str], compounds: set[str]) -> str:
    """Join two consecutive lines of a paragraph, undoing line-end hyphenation."""
    if prev.endswith(_HYPHEN_MARKS) and len(prev) > 1 and prev[-2].isalpha() and nxt[:1].isalpha():
        head = prev[:-1]
        if nxt[0].isupper():
            return f"{head}-{nxt}"
        hm, tm = _WORD_TAIL.search(head), _WORD_HEAD.match(nxt)
        if hm and tm:
            joined, hyph = (hm.group(1) + tm.group(1)).lower(), f"{hm.group(1)}-{tm.group(1)}".lower()
            if hyph in compounds and joined not in words:
                return f"{head}-{nxt}"
        return head + nxt
    return f"{prev.rstrip(''.join(_HYPHEN_MARKS[:3]))} {nxt}"


def page_texts(pages: list[PageText], vocab: tuple[set[str], set[str]] | None = None) -> None:
    """Set each page's cleaned `text` from its lines: paragraphs joined by blank lines.

    A line-end hyphen mark on the page's very last line is kept (as PDFium's "\x02") for
    `join_pages`, which decides whether the word continues on the next page.
    """
    words, compounds = vocab or _vocabulary(pages)
    for p in pages:
        paras: list[str] = []
        for ln in p.lines:
            text = ln.text.strip()
            if not text:
                continue
            if ln.para_start or not paras:
                paras.append(text)
            else:
                paras[-1] = _join(paras[-1], text, words, compounds)
        text = "\n\n".join(paras)
        tail = "\x02" if text.endswith(_HYPHEN_MARKS) and len(text) > 1 and text[-2].isalpha() else ""
        if tail:
            text = text[:-1]
        p.text = text.replace("\x02", "-").replace("\ufffe", "-") + tail


def clean(pages: list[PageText]) -> list[PageText]:
    """Running lines dropped, paragraphs and hyphenation joined; sets each page's `text` (see join_pages)."""
    remove_running_lines(pages)
    vocab = _vocabulary(pages)
    page_texts(pages, vocab)
    _join_across_pages(pages, vocab)
    return pages


# --- the document ----------------------------------------------------------------------------
def _join_across_pages(pages: list[PageText], vocab: tuple[set[str], set[str]]) -> None:
    """A sentence running on over a page break stays one sentence: the next page's `run_on` is " ",
    or "" when the last word was hyphenated ("coun-" | "terrorism" -> "counterterrorism")."""
    words, compounds = vocab
    prev: PageText | None = None
    for p in pages:
        if not p.text:
            continue
        if prev is not None and p.text[:1].islower() and prev.text[-1:] not in ".!?:;\"'\u201d)]":
            if prev.text.endswith("\x02"):
                head = prev.text[:-1]
                keep = _join(head + "-", p.text, words, compounds).startswith(head + "-")
                prev.text = head + ("-" if keep else "")
                p.run_on = ""
            else:
                p.run_on = " "
        if prev is not None and prev.text.endswith("\x02"):
            prev.text = prev.text[:-1] + "-"
        prev = p
    if prev is not None and prev.text.endswith("\x02"):
        prev.text = prev.text[:-1] + "-"


def join_pages(pages: list[PageText]) -> str:
    """Page texts joined by blank lines (or run on, see `_join_across_pages`), each page after the
    first preceded by PAGE_MARK."""
    parts = []
    for i, p in enumerate(pages):
        text = p.text.replace(PAGE_MARK, "\ufffd")  # a symbol font's private-use glyph must not pass for a page mark
        if i == 0:
            parts.append(text)
        elif not text:  # a skipped page: just its mark, no blank line (the map gives it an empty range)
            parts.append(PAGE_MARK)
        else:
            parts.append(("\n\n" if p.run_on is None else p.run_on) + PAGE_MARK + text)
    return "".join(parts)


def page_ranges(text: str, pages: list[dict[str, object]]) -> tuple[str, list[dict[str, object]]]:
    """Remove the page marks from normalised text: (text, [{n, label, start, end, ocr}])."""
    starts = [0]
    out_parts = []
    pos = 0
    for piece in text.split(PAGE_MARK)[:-1]:
        out_parts.append(piece)
        pos += len(piece)
        starts.append(pos)
    out_parts.append(text.split(PAGE_MARK)[-1])
    clean_text = "".join(out_parts)
    if len(starts) != len(pages):  # marks lost (should not happen): one page spanning everything
        log.warning("page map lost (%d marks for %d pages)", len(starts) - 1, len(pages))
        return clean_text, []
    ranges = []
    for i, meta in enumerate(pages):
        start = starts[i]
        end = starts[i + 1] if i + 1 < len(starts) else len(clean_text)
        # a page's range ends where its text ends, not after the separator before the next page
        while end > start and clean_text[end - 1] in "\n ":
            end -= 1
        while start < end and clean_text[start] in "\n ":
            start += 1
        ranges.append({**meta, "start": start, "end": end})
    return clean_text, ranges


def read_pdf(path: Path, data: bytes, ocr: bool = True) -> PdfText:
    """A PDF's cleaned text with page marks, its title, page metadata and warnings (skipped pages)."""
    pages = clean(pages_pdfium(data, str(path), ocr=ocr))
    warnings = [f"page {p.n} (label {p.label}): {p.skipped}" for p in pages if p.skipped]
    for w in warnings:
        log.info("%s: %s", path, w)  # the ingest report carries it; callers print it once
    if not any(p.text.strip() for p in pages):
        reason = "PDF has no extractable text"
        if any(p.skipped for p in pages):
            reason += f": {pages[0].skipped if len(pages) == 1 else f'{len(warnings)} page(s) skipped; ' + warnings[0]}"
        raise ReadError(str(path), reason)
    title = _title(data)
    meta = [{"n": p.n, "label": p.label, "ocr": p.ocr} for p in pages]
    return PdfText(text=join_pages(pages), title=title, pages=meta, warnings=warnings)


def _title(data: bytes) -> str | None:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(data)
    try:
        title = doc.get_metadata_value("Title")
    except Exception:  # noqa: BLE001
        title = ""
    finally:
        doc.close()
    return title.strip() or None
