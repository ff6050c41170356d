"""Readers: a file path -> a Document with normalised text, or a ReadError naming path and reason.

Supported: .txt .md .html/.htm .pdf .docx. Metadata (title, date) comes from, in order:
a `metadata.json` beside the file (``{"file.txt": {"title": ..., "date": "YYYY-MM-DD"}}``),
the document itself (a leading ``date YYYY-MM-DD`` line, a Markdown/HTML heading or title,
PDF/DOCX properties), and finally the file name.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
import stat
import unicodedata
import zipfile
from collections.abc import Callable
from pathlib import Path

from assistant.errors import ReadError
from assistant.text.oneline import shown

log = logging.getLogger(__name__)

MANIFEST = "metadata.json"
#: The largest file ingest accepts. Ingest embeds every sentence: on this project's 2-core CI
#: machine 1 MB of prose (1,552 chunks) took 112 s of CPU and 1.1 GB peak RSS (docs/reliability.md),
#: so 10 MB of text is ~20 min of CPU; the 50 MB file the probe tried would take ~1.5 h and more
#: memory. Text formats are limited to 10 MB, PDF/DOCX (mostly layout and images) to 50 MB, and
#: any document to MAX_TEXT_CHARS of extracted text. Larger documents: split them.
MAX_BYTES = 10 * 1024 * 1024
MAX_BINARY_BYTES = 50 * 1024 * 1024
MAX_TEXT_CHARS = 10_000_000
#: Files at least this big get a progress line (a log warning on stderr, also under --json).
LARGE_FILE_BYTES = 1024 * 1024
CPU_SECONDS_PER_MB = 112

_DATE_HEADER = re.compile(r"\A\s*date[:\s]\s*(\d{4}-\d{2}-\d{2})\b[ \t]*", re.I)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\f\v]+")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


class RawDocument:
    """What a reader found: text plus any metadata the format carries."""

    def __init__(self, text: str, title: str | None = None, date: str | None = None) -> None:
        self.text, self.title, self.date = text, title, date
        self.pages: list[dict[str, object]] | None = None  # paged formats: [{n, label, ocr}] (ingest.pdf)
        self.warnings: list[str] = []  # e.g. a scanned page skipped
        self.headings: list[str] = []  # section titles in reading order (DOCX heading paragraphs)


def normalize(text: str) -> str:
    """NFC, unix newlines, single spaces, no control/zero-width chars, at most one blank line."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.translate(_ZERO_WIDTH)
    text = _CONTROL.sub(" ", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def split_date_header(text: str) -> tuple[str | None, str]:
    """A leading ``date YYYY-MM-DD`` line is metadata, not body text."""
    m = _DATE_HEADER.match(text)
    if not m:
        return None, text
    return m.group(1), text[m.end() :]


def _decode(data: bytes, path: Path) -> str:
    if not data.strip():
        raise ReadError(str(path), "empty file")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ReadError(str(path), f"undecodable UTF-16 text ({exc.reason} at byte {exc.start})") from exc
    if b"\x00" in data[:8192]:
        raise ReadError(str(path), "binary content, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReadError(
            str(path), f"undecodable: not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); re-save as UTF-8"
        ) from exc


def _read_text(path: Path, data: bytes) -> RawDocument:
    return RawDocument(_decode(data, path))


def _read_markdown(path: Path, data: bytes) -> RawDocument:
    from ingest.markdown import parse_markdown  # '#' marks dropped, `Date:` line / front matter read

    text, title, date, _headings = parse_markdown(_decode(data, path).replace("\r\n", "\n"))
    return RawDocument(text, title=title, date=date)


def _read_html(path: Path, data: bytes) -> RawDocument:
    from bs4 import BeautifulSoup

    if b"\x00" in data[:8192]:
        raise ReadError(str(path), "binary content, not HTML")
    soup = BeautifulSoup(data, "html.parser")
    for tag in soup(["script", "style", "noscript", "nav", "header", "footer", "template"]):
        tag.decompose()
    drop_hidden_html(soup, path)
    title = soup.title.get_text(" ", strip=True) if soup.title else None
    if soup.title:
        soup.title.decompose()
    h1 = soup.find("h1")
    date = None
    meta = soup.find("meta", attrs={"name": re.compile("date", re.I)}) or soup.find("time")
    if meta is not None:
        cand = (meta.get("content") or meta.get("datetime") or "")[:10]
        date = cand if _ISO_DATE.match(cand) else None
    body = soup.body or soup
    blocks = []
    for el in body.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "blockquote", "pre", "td", "div"]):
        if el.find(["p", "li", "div", "h1", "h2", "h3", "blockquote", "td"]):
            continue  # container: its children are visited themselves
        txt = el.get_text(" ", strip=True)
        if txt:
            blocks.append(txt)
    text = "\n\n".join(blocks) if blocks else body.get_text("\n", strip=True)
    return RawDocument(text, title=title or (h1.get_text(" ", strip=True) if h1 else None), date=date)


def _read_pdf(path: Path, data: bytes) -> RawDocument:
    from ingest.pdf import read_pdf  # per-page text, cleaning, OCR: see ingest/pdf.py

    got = read_pdf(path, data)
    raw = RawDocument(got.text, title=got.title)
    raw.pages, raw.warnings = got.pages, got.warnings
    return raw


def _read_docx(path: Path, data: bytes) -> RawDocument:
    import io

    import docx

    try:
        d = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ReadError(str(path), f"corrupt DOCX ({type(exc).__name__}: {exc})") from exc
    except Exception as exc:  # noqa: BLE001 - python-docx raises package-specific errors
        raise ReadError(str(path), f"corrupt DOCX ({type(exc).__name__}: {exc})") from exc
    paras: list[str] = []
    headings: list[str] = []
    for p in d.paragraphs:
        t = visible_docx_text(p, path)
        if t.strip():
            paras.append(t)
            if _is_heading(p):
                headings.append(t)
    for table in d.tables:
        for row in table.rows:
            texts = [" ".join(visible_docx_text(p, path) for p in c.paragraphs).strip() for c in row.cells]
            cells = [t for t in texts if t]
            if cells:
                paras.append(" | ".join(cells))
    title = d.core_properties.title or None
    raw = RawDocument("\n\n".join(paras), title=title)
    raw.headings = headings
    return raw


def _is_heading(paragraph: object) -> bool:
    """A Word paragraph styled as a heading ("Heading 1".."Heading 9", "Title") or with an outline level."""
    style = getattr(paragraph, "style", None)
    name = str(getattr(style, "name", "") or "")
    if name == "Title" or name.startswith("Heading"):
        return True
    ppr = paragraph._p.pPr  # type: ignore[attr-defined]
    return ppr is not None and ppr.find(_w("outlineLvl")) is not None


def locate_headings(text: str, headings: list[str]) -> list[dict[str, object]]:
    """Where each heading starts in the normalised `text`, found in order (a heading normalises
    exactly as the text around it does); headings not found are left out."""
    out: list[dict[str, object]] = []
    pos = 0
    for h in headings:
        title = normalize(h)
        if not title:
            continue
        at = text.find(title, pos)
        while at > 0 and text[at - 1] != "\n":  # a heading is a paragraph of its own
            at = text.find(title, at + 1)
        if at < 0:
            continue
        out.append({"title": one_line(title), "start": at})
        pos = at + len(title)
    return out


READERS: dict[str, Callable[[Path, bytes], RawDocument]] = {
    ".txt": _read_text,
    ".text": _read_text,
    ".md": _read_markdown,
    ".markdown": _read_markdown,
    ".html": _read_html,
    ".htm": _read_html,
    ".pdf": _read_pdf,
    ".docx": _read_docx,
}


def supported(path: Path) -> bool:
    return path.suffix.lower() in READERS


def load_manifest(folder: Path) -> dict[str, dict[str, str]]:
    path = folder / MANIFEST
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        log.warning("ignoring %s: %s", path, exc)
        return {}
    return data if isinstance(data, dict) else {}


def title_from_name(path: Path) -> str:
    return re.sub(r"[_\-]+", " ", path.stem).strip() or path.name


class ParsedFile:
    """A file read and normalised: the inputs to a Document, and the hash of the raw bytes."""

    def __init__(self, path: Path, text: str, title: str, date: str | None, raw_hash: str) -> None:
        self.path, self.text, self.title, self.date, self.raw_hash = path, text, title, date, raw_hash
        self.pages: list[dict[str, object]] | None = None  # [{n, label, start, end, ocr}] into `text`
        self.sections: list[dict[str, object]] | None = None  # [{title, start}] into `text`
        self.warnings: list[str] = []


def read_file(path: Path, manifest: dict[str, dict[str, str]] | None = None) -> ParsedFile:
    """Read, parse and normalise one file. Raises ReadError with the path and a reason."""
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise ReadError(str(path), f"unsupported file type {suffix or '(none)'!r} (supported: {', '.join(sorted(READERS))})")
    data = read_regular_file(path, MAX_BINARY_BYTES if suffix in (".pdf", ".docx") else MAX_BYTES)
    if not data.strip():
        raise ReadError(str(path), "empty file")
    raw = READERS[suffix](path, data)
    date, body = split_date_header(raw.text)
    text = normalize(body)
    pages = None
    if raw.pages is not None:
        from ingest.pdf import page_ranges

        text, pages = page_ranges(text, raw.pages)
    if not text:
        raise ReadError(str(path), "empty: no text after normalisation")
    if len(text) > MAX_TEXT_CHARS:
        raise ReadError(str(path), f"too much text ({len(text):,} characters > {MAX_TEXT_CHARS:,}); split it into smaller files")
    meta = (manifest if manifest is not None else load_manifest(path.parent)).get(path.name, {})
    title = one_line(str(meta.get("title") or raw.title or title_from_name(path)))
    date = meta.get("date") or raw.date or date
    if date is not None and not _ISO_DATE.match(str(date)):
        log.warning("%s: ignoring date %r (want YYYY-MM-DD)", path, date)
        date = None
    parsed = ParsedFile(path, text, title, date, hashlib.sha256(data).hexdigest())
    parsed.pages, parsed.warnings = pages, raw.warnings
    parsed.sections = locate_headings(text, raw.headings) or None
    return parsed


# --- file-system checks (discovery and reading) ----------------------------------------------
def not_regular(path: Path) -> str | None:
    """Why `path` cannot be read as a document (None: it is, or leads by links to, a regular file).

    Never opens the file: a FIFO or device is refused from its `stat`, a symlink loop or a link to
    nothing from the error `stat` raises."""
    try:
        st = os.stat(path)  # follows links
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symlink loop"
        if exc.errno == errno.ENOENT:
            return "broken symlink (no such file)" if os.path.islink(path) else "no such file"
        if exc.errno == errno.EACCES:
            return "permission denied (unreadable path)"
        return f"cannot stat: {exc.strerror or exc}"
    except (ValueError, RuntimeError) as exc:  # NUL in the name; old Pythons' symlink loop
        return f"cannot stat: {exc}"
    return _kind_problem(st.st_mode)


def _kind_problem(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a directory"
    kind = "FIFO" if stat.S_ISFIFO(mode) else "socket" if stat.S_ISSOCK(mode) else "device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "special file"
    return f"not a regular file ({kind})"


def one_line(text: str) -> str:
    """A title for one line: control characters (a newline in a file name) become single spaces."""
    return " ".join(_CONTROL.sub(" ", text).split())


def real_source(path: Path) -> str:
    """The absolute path a document is stored under (links resolved; never raises on loops)."""
    return os.path.realpath(path)


def read_regular_file(path: Path, max_bytes: int | None = None) -> bytes:
    """The bytes of a regular file, or ReadError. Opened non-blocking and checked with fstat
    before any read, so a FIFO or device swapped in after discovery cannot hang or flood us."""
    limit = MAX_BYTES if max_bytes is None else max_bytes
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError as exc:
        raise ReadError(str(path), "broken symlink (no such file)" if os.path.islink(path) else "no such file") from exc
    except PermissionError as exc:
        raise ReadError(str(path), "permission denied (unreadable path)") from exc
    except IsADirectoryError as exc:
        raise ReadError(str(path), "is a directory") from exc
    except OSError as exc:
        reason = "symlink loop" if exc.errno == errno.ELOOP else f"cannot read: {exc.strerror or exc}"
        raise ReadError(str(path), reason) from exc
    except ValueError as exc:
        raise ReadError(str(path), f"cannot read: {exc}") from exc
    try:
        st = os.fstat(fd)
        problem = _kind_problem(st.st_mode)
        if problem:
            raise ReadError(str(path), problem)
        if st.st_size > limit:
            raise ReadError(
                str(path), f"file too large ({st.st_size / 1024 / 1024:.1f} MB > {limit / 1024 / 1024:g} MB limit); split it into smaller files"
            )
        if st.st_size >= LARGE_FILE_BYTES:
            log.warning(
                "reading large file %s (%.1f MB): embedding it takes about %d s of CPU per MB", shown(path), st.st_size / 1024 / 1024, CPU_SECONDS_PER_MB
            )
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=True) as fh:
            fd = -1
            data = fh.read(limit + 1)
    except OSError as exc:
        raise ReadError(str(path), f"cannot read: {exc.strerror or exc}") from exc
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > limit:
        raise ReadError(str(path), f"file too large (grew past the {limit / 1024 / 1024:g} MB limit while reading)")
    return data


# --- hidden text ----------------------------------------------------------------------------
# A reader keeps what a person sees. Text a browser or Word does not show (display:none,
# visibility:hidden, the `hidden` attribute, zero font size, white text on no background, hidden
# Word runs) is dropped, with a log line: it is where injected instructions hide.
_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*(?:hidden|collapse)|font-size\s*:\s*0(?:\.0*)?(?:px|pt|em|rem|%)?\s*(?:;|$)|opacity\s*:\s*0(?:\.0*)?\s*(?:;|$)",
    re.I,
)
_WHITE = re.compile(r"(?:^|;)\s*color\s*:\s*(?:white|#fff(?:fff)?|rgba?\(\s*255\s*,\s*255\s*,\s*255\s*(?:,\s*1(?:\.0*)?\s*)?\))\s*(?:!important\s*)?(?:;|$)", re.I)
_BACKGROUND = re.compile(r"background(?:-color)?\s*:", re.I)


def _html_hidden(el: object) -> bool:
    attrs = getattr(el, "attrs", None) or {}
    if "hidden" in attrs or (getattr(el, "name", "") == "input" and str(attrs.get("type", "")).lower() == "hidden"):
        return True
    style = str(attrs.get("style", ""))
    if _HIDDEN_STYLE.search(style):
        return True
    if _WHITE.search(style):  # white text is hidden unless it or an ancestor sets a background
        node = el
        while node is not None and getattr(node, "name", None):
            if _BACKGROUND.search(str((getattr(node, "attrs", None) or {}).get("style", ""))) or (getattr(node, "attrs", None) or {}).get("bgcolor"):
                return False
            node = node.parent
        return True
    return False


def drop_hidden_html(soup: object, path: Path) -> int:
    """Remove elements a browser would not show (inline styles and attributes); returns how many."""
    hidden = [el for el in soup.find_all(True) if _html_hidden(el)]  # type: ignore[attr-defined]
    n = 0
    for el in hidden:
        if not getattr(el, "decomposed", False):
            text = el.get_text(" ", strip=True)
            el.decompose()
            n += 1
            if text:
                log.info("%s: dropped hidden text: %.80r", shown(path), text)
    return n


def _w(tag: str) -> str:
    return "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}" + tag


def _docx_run_hidden(r: object) -> bool:
    rpr = r.find(_w("rPr"))  # type: ignore[attr-defined]
    if rpr is None:
        return False
    for tag in ("vanish", "specVanish", "webHidden"):
        el = rpr.find(_w(tag))
        if el is not None and el.get(_w("val"), "true").lower() not in ("0", "false", "off"):
            return True
    sz = rpr.find(_w("sz"))
    if sz is not None and sz.get(_w("val")) in ("0", "1"):
        return True
    color = rpr.find(_w("color"))
    if color is not None and str(color.get(_w("val"), "")).upper() in ("FFFFFF", "WHITE"):
        return rpr.find(_w("highlight")) is None and rpr.find(_w("shd")) is None
    return False


def visible_docx_text(paragraph: object, path: Path) -> str:
    """The text of a Word paragraph without its hidden runs (w:vanish, white, size 0-1)."""
    p = paragraph._p  # type: ignore[attr-defined]
    runs = list(p.iter(_w("r")))
    hidden = [r for r in runs if _docx_run_hidden(r)]
    if not hidden:
        return str(paragraph.text)  # type: ignore[attr-defined]
    log.info("%s: dropped %d hidden Word run(s): %.80r", shown(path), len(hidden), "".join(r.text for r in hidden))
    return "".join(r.text for r in runs if not any(r is h for h in hidden))
