"""Readers: a file path -> a Document with normalised text, or a ReadError naming path and reason.

Supported: .txt .md .html/.htm .pdf .docx. Metadata (title, date) comes from, in order:
a `metadata.json` beside the file (``{"file.txt": {"title": ..., "date": "YYYY-MM-DD"}}``),
the document itself (a leading ``date YYYY-MM-DD`` line, a Markdown/HTML heading or title,
PDF/DOCX properties), and finally the file name.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import unicodedata
import zipfile
from collections.abc import Callable
from pathlib import Path

from assistant.errors import ReadError

log = logging.getLogger(__name__)

MANIFEST = "metadata.json"
MAX_BYTES = 200 * 1024 * 1024

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
    text = _decode(data, path)
    m = re.search(r"^#\s+(.+)$", text, re.M)
    return RawDocument(text, title=m.group(1).strip() if m else None)


def _read_html(path: Path, data: bytes) -> RawDocument:
    from bs4 import BeautifulSoup

    if b"\x00" in data[:8192]:
        raise ReadError(str(path), "binary content, not HTML")
    soup = BeautifulSoup(data, "html.parser")
    for tag in soup(["script", "style", "noscript", "nav", "header", "footer", "template"]):
        tag.decompose()
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
    paras = [p.text for p in d.paragraphs if p.text.strip()]
    for table in d.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells if c.text.strip()]
            if cells:
                paras.append(" | ".join(cells))
    title = d.core_properties.title or None
    return RawDocument("\n\n".join(paras), title=title)


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
        self.warnings: list[str] = []


def read_file(path: Path, manifest: dict[str, dict[str, str]] | None = None) -> ParsedFile:
    """Read, parse and normalise one file. Raises ReadError with the path and a reason."""
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise ReadError(str(path), f"unsupported file type {suffix or '(none)'!r} (supported: {', '.join(sorted(READERS))})")
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ReadError(str(path), f"file too large ({size} bytes > {MAX_BYTES})")
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ReadError(str(path), "no such file") from exc
    except PermissionError as exc:
        raise ReadError(str(path), "permission denied (unreadable path)") from exc
    except IsADirectoryError as exc:
        raise ReadError(str(path), "is a directory") from exc
    except OSError as exc:
        raise ReadError(str(path), f"cannot read: {exc.strerror or exc}") from exc
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
    meta = (manifest if manifest is not None else load_manifest(path.parent)).get(path.name, {})
    title = str(meta.get("title") or raw.title or title_from_name(path)).strip()
    date = meta.get("date") or raw.date or date
    if date is not None and not _ISO_DATE.match(str(date)):
        log.warning("%s: ignoring date %r (want YYYY-MM-DD)", path, date)
        date = None
    parsed = ParsedFile(path, text, title, date, hashlib.sha256(data).hexdigest())
    parsed.pages, parsed.warnings = pages, raw.warnings
    return parsed
