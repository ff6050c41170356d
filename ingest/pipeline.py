"""Ingest: files -> Documents -> Chunks -> Store, idempotent and crash-safe.

- Unchanged files (same size, mtime and metadata) are skipped without being read; a touched
  file whose normalised content and metadata are unchanged embeds nothing either.
- A changed file replaces its chunks; only chunks with new content are embedded.
- `prune=True` removes documents whose source files are gone.
- Bad files are reported (path, reason) and the run goes on.
Embedding is batched across documents (one model call per ~`batch_chunks` chunks).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from assistant.errors import ReadError
from assistant.store.store import Store
from assistant.text.oneline import shown
from assistant.types import Chunk, Document, Failure, IngestReport, PageSpan, SectionSpan
from ingest.chunk import chunk_text
from ingest.read import MANIFEST, ParsedFile, load_manifest, not_regular, read_file, real_source, supported

log = logging.getLogger(__name__)

BATCH_CHUNKS = 256
LARGE_DOC_CHUNKS = 500


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_.-]+", "-", text.lower()).strip("-.")[:64] or "doc"


def content_hash(text: str, title: str, date: str | None) -> str:
    return hashlib.sha256(f"{title}\x00{date or ''}\x00{text}".encode()).hexdigest()


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[Failure]]:
    """Files under the given paths (see `walk`), sorted, and the failures met finding them."""
    found = walk(paths)
    return found.files, found.failures


@dataclass
class Found:
    files: list[Path] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)  # met in a folder, not a document type: not read


def walk(paths: Iterable[Path]) -> Found:
    """Files under the given paths (directories recursively, hidden folders not entered), sorted.

    In a folder, a file that is not a supported document type (`.py`, `.DS_Store`, `Thumbs.db`)
    or is hidden is skipped and counted, never read; a file named explicitly is always read, so
    an unsupported one is a failure. Only regular files (or links to them) are returned; a FIFO,
    socket, device, symlink loop or broken link is a failure (path, reason) and the rest go on.
    Links to directories are not followed inside a walk (no cycles); a file reached twice is kept once."""
    found = Found()

    def walk_error(e: OSError) -> None:
        found.failures.append(Failure(path=str(e.filename), error=f"unreadable directory: {e.strerror}"))

    def add(f: Path) -> None:
        problem = not_regular(f)
        if problem:
            found.failures.append(Failure(path=str(f), error=problem))
        else:
            found.files.append(f)

    for p in paths:
        p = Path(p).expanduser()
        if os.path.isdir(p):
            for root, dirs, names in os.walk(p, onerror=walk_error):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for n in sorted(names):
                    if n == MANIFEST:
                        continue
                    f = Path(root) / n
                    if n.startswith(".") or not supported(f):
                        found.skipped.append(f)
                    else:
                        add(f)
        elif os.path.lexists(p):
            add(p)
        else:
            found.failures.append(Failure(path=str(p), error="no such file or directory"))
    seen: set[str] = set()
    unique = []
    for f in found.files:
        r = real_source(f)
        if r not in seen:
            seen.add(r)
            unique.append(f)
    found.files = unique
    if found.skipped:
        log.info("skipped %d files that are not documents, e.g. %s", len(found.skipped), found.skipped[0])
    return found


def _fingerprint(path: Path, manifest_entry: object) -> str:
    st = path.stat()
    meta = hashlib.sha256(json.dumps(manifest_entry, sort_keys=True).encode()).hexdigest()[:12]
    return f"{st.st_size}:{st.st_mtime_ns}:{meta}"


class Ingestor:
    def __init__(self, store: Store, *, show_progress: bool = False, batch_chunks: int = BATCH_CHUNKS, ids_from_source: bool = False) -> None:
        self.store = store
        #: new documents get `<name>-<hash of source>` whatever the catalog holds: an uploader outside a
        #: document's groups must not learn from their upload's id that a hidden document has that name
        self.ids_from_source = ids_from_source
        self.settings = store.settings
        self.embedder = store.embedder
        self.show_progress = show_progress
        self.batch_chunks = batch_chunks
        self._claimed: dict[str, str] = {}  # doc_id -> source, within this run

    # --- documents -> chunks -------------------------------------------------------
    def chunk(self, doc: Document) -> list[Chunk]:
        tok = self.embedder.tokenizer

        def offsets(text: str) -> list[tuple[int, int]]:
            return list(tok.encode(text, add_special_tokens=False).offsets)

        return chunk_text(
            doc.doc_id,
            doc.text,
            self.embedder.count_tokens,
            self.settings.chunk_tokens,
            self.settings.chunk_overlap_sentences,
            offsets,
        )

    def _doc_id_for(self, source: str, stem: str) -> str:
        known = self.store.catalog.doc_by_source(source)
        if known:
            return known[0]
        base = slug(stem)
        digest = hashlib.sha1(source.encode()).hexdigest()
        # the plain name when free (never for ids_from_source), else name + hash of the source
        # (longer if another source has the same name and hash prefix)
        choices = [base, f"{base}-{digest[:8]}", f"{base}-{digest[:20]}"][1 if self.ids_from_source else 0 :]
        doc_id = next((d for d in choices[:-1] if not self._taken(d, source)), choices[-1])
        self._claimed[doc_id] = source
        return doc_id

    def _taken(self, doc_id: str, source: str) -> bool:
        return self.store.catalog.doc_id_taken(doc_id, source) or self._claimed.get(doc_id, source) != source

    def document_from(self, parsed: ParsedFile) -> Document:
        source = real_source(parsed.path)
        return Document(
            doc_id=self._doc_id_for(source, parsed.path.stem),
            source=source,
            title=parsed.title,
            date=parsed.date,
            text=parsed.text,
            content_hash=content_hash(parsed.text, parsed.title, parsed.date),
            pages=[PageSpan(**p) for p in parsed.pages] if getattr(parsed, "pages", None) else None,
            sections=[SectionSpan(**x) for x in parsed.sections] if getattr(parsed, "sections", None) else None,
        )

    # --- runs -------------------------------------------------------------------
    def ingest_paths(self, paths: Iterable[Path], prune: bool = False) -> IngestReport:
        found = walk(paths)
        files = found.files
        report = IngestReport(failed=found.failures, skipped=len(found.skipped))
        fingerprints = self.store.catalog.fingerprints()
        manifests: dict[Path, dict[str, dict[str, str]]] = {}

        def changed_docs() -> Iterator[tuple[Document, str]]:
            for path in tqdm(files, desc="reading", unit="file", disable=not self.show_progress):
                try:
                    folder = path.parent
                    if folder not in manifests:
                        manifests[folder] = load_manifest(folder)
                    entry = manifests[folder].get(path.name, {})
                    source = real_source(path)
                    try:
                        fp = _fingerprint(path, entry)
                    except OSError as exc:
                        raise ReadError(str(path), f"cannot stat: {exc.strerror}") from exc
                    known = fingerprints.get(source)
                    if known and known[1] == fp:
                        report.unchanged += 1
                        continue
                    parsed = read_file(path, manifests[folder])
                    doc = self.document_from(parsed)
                    gaps = getattr(parsed, "warnings", [])
                    report.warnings += [Failure(path=str(path), error=w) for w in gaps]
                    if gaps:  # read with gaps (e.g. no Tesseract yet): re-read on the next run, not skipped as unchanged
                        fp += ":incomplete"
                except ReadError as exc:
                    report.failed.append(Failure(path=exc.path, error=exc.reason))
                    log.info("skipped %s: %s", exc.path, exc.reason)  # the report carries it; callers print it once
                    continue
                yield doc, fp

        self._write(changed_docs(), report)
        if prune:
            self._prune(report)
        report.documents, report.chunks = self.store.catalog.counts()
        return report

    def ingest_documents(self, docs: Iterable[Document]) -> IngestReport:
        """Ingest already-read documents (e.g. a benchmark corpus); unchanged = same content hash."""
        report = IngestReport()
        self._write(((d, "") for d in docs), report)
        report.documents, report.chunks = self.store.catalog.counts()
        return report

    def _write(self, items: Iterable[tuple[Document, str]], report: IngestReport) -> None:
        self.store.recover()
        started = False
        batch: list[tuple[Document, list[Chunk], str]] = []
        pending = 0
        bar = tqdm(desc="embedding", unit="chunk", disable=not self.show_progress)
        try:
            for doc, fp in items:
                known = self.store.catalog.doc_by_source(doc.source)
                if known and known[1] == doc.content_hash:
                    report.unchanged += 1
                    if fp and known[2] != fp:
                        self.store.catalog.set_fingerprint(known[0], fp)
                    continue
                if not started:
                    self.store.begin_write()
                    started = True
                if known:
                    report.updated += 1
                else:
                    report.added += 1
                chunks = self.chunk(doc)
                if len(chunks) >= LARGE_DOC_CHUNKS:  # a progress line for long documents, also under --json
                    log.warning("embedding %d chunks of %s", len(chunks), shown(doc.source))
                batch.append((doc, chunks, fp))
                pending += len(chunks)
                if pending >= self.batch_chunks:
                    report.embedded += self.store.write_documents(batch)
                    bar.update(pending)
                    batch, pending = [], 0
            if batch:
                report.embedded += self.store.write_documents(batch)
                bar.update(pending)
            if started:
                self.store.end_write()
        finally:
            bar.close()

    def _prune(self, report: IngestReport) -> None:
        gone = [doc_id for source, doc_id in self.store.catalog.sources().items() if Path(source).is_absolute() and not Path(source).exists()]
        if gone:
            self.store.begin_write()
            self.store.remove_documents(gone)
            self.store.end_write()
            report.removed += len(gone)
