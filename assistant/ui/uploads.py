"""Documents staff upload in the web chat: validated, saved under the store, ingested.

Content-addressed folders (`<store>/uploads/<user>/<content hash>/<name>`): two users'
`collide.txt` with different content are two documents; nobody's upload replaces another's.
Files that fail to ingest are removed, and the status counts only the files that made it in.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import AssistantError, ReadError
from assistant.text.oneline import shown
from assistant.ui.guard import safe_upload_name, validate_upload

if TYPE_CHECKING:
    from assistant.api import Assistant
    from assistant.config import Settings


def file_digest(path: Path) -> str:
    """sha256 of a file, read in 1 MB blocks."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError as exc:
        raise ReadError(path.name, f"cannot read upload: {exc.strerror or exc}") from exc
    return h.hexdigest()


def owner_folder(user: str | None) -> str:
    """The uploader's folder name: their name made safe, with a hash of the name when making it safe
    changed it (so users `a@b` and `a_b` never share a folder, nor a document)."""
    name = user or "anonymous"
    safe = safe_upload_name(name).replace(" ", "_") or "anonymous"
    return safe if safe == name else f"{safe}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def remove_upload(dest: Path, root: Path) -> None:
    """Delete a saved upload and the folders it leaves empty (up to `root`)."""
    dest.unlink(missing_ok=True)
    folder = dest.parent
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            break
        folder = folder.parent


def ingest_uploads(
    assistant: Assistant, settings: Settings, files: Sequence[Any] | None, user: str | None, lock: threading.Lock, access: Sequence[str] | None = None
) -> tuple[str, int]:
    """Validate, save and ingest uploaded files with these access groups (issue 21; None: `all`).
    Returns (status line, files now in the store)."""
    if not settings.allow_upload:
        return "Uploads are disabled on this server.", 0
    paths = [Path(getattr(f, "name", f)) for f in (files or [])]
    if not paths:
        return "Choose one or more files first.", 0
    errors: list[str] = []
    saved: list[Path] = []
    root = Path(settings.store) / "uploads"
    owner = owner_folder(user)
    for p in paths:
        name = safe_upload_name(p.name)
        try:
            validate_upload(p, settings.upload_max_mb, name)
            digest = file_digest(p)
        except ReadError as exc:
            errors.append(shown(str(exc)))
            continue
        dest = root / owner / digest[:16] / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not dest.exists():
            shutil.copyfile(p, dest)
        saved.append(dest)
    if not saved:
        return " ".join(["No file ingested.", *errors]), 0
    with lock:
        try:
            report = assistant.ingest(saved, access=access, ids_from_source=True)
        except AssistantError as exc:
            for dest in saved:
                remove_upload(dest, root)
            return " ".join([f"No file ingested: {shown(str(exc))}", *errors]), 0
    failed = {Path(f.path) for f in report.failed}
    for dest in saved:
        if dest in failed:
            remove_upload(dest, root)
    ok = len(saved) - len(failed & set(saved))
    visible = len(assistant.documents())  # what this user may read, never the store's whole count (issue 21)
    docs = "document" if visible == 1 else "documents"
    lines = [
        (
            f"Ingested {ok} of {len(paths)} file(s): added {report.added}, updated {report.updated}, unchanged {report.unchanged}; "
            f"you can read {visible} {docs}."
        )
    ]
    lines += errors
    lines += [f"{shown(Path(f.path).name)}: {shown(f.error)} (not ingested; removed)" for f in report.failed]
    return " ".join(lines), ok
