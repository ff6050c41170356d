"""Regression tests for the store and CLI defects of issue 14: read-only stores, lost vectors,
one-line errors for unusable stores, the injection notice and --strict, control characters."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.errors import ConfigError, StoreOpenError
from tests.conftest import CORPUS, DATA, ROOT, run_cli

QUESTION = "Why did NACTA struggle with CTD integration?"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_line(r: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ct-assistant: error: "), r.stderr[-2000:]
    assert "Traceback" not in r.stderr
    for n in needles:
        assert n in lines[0], lines[0]


@pytest.mark.slow
def test_read_only_setting_reads_without_writing(corpus_store: Path, tmp_path: Path, make_assistant) -> None:  # type: ignore[no-untyped-def]
    """Defect 2: `read_only` opens the catalog with mode=ro and writes nothing (no schema, no WAL switch)."""
    store = tmp_path / "replica"
    shutil.copytree(corpus_store, store)
    before = {p.name: _digest(p) for p in store.iterdir() if p.is_file()}
    a = make_assistant(store=store, read_only=True)
    assert a.store().read_only
    answer = a.ask(QUESTION)
    assert not answer.refused and answer.citations
    assert len(a.documents()) == 2
    with pytest.raises(StoreOpenError, match="read-only"):
        a.ingest([CORPUS])
    a.close()
    after = {p.name: _digest(p) for p in store.iterdir() if p.is_file()}
    # SQLite readers of a WAL database may create the (empty) -wal/-shm files; nothing is written
    assert {k: v for k, v in after.items() if not k.endswith(("-wal", "-shm"))} == before
    assert not (store / "catalog.sqlite3-wal").exists() or (store / "catalog.sqlite3-wal").stat().st_size == 0


def test_read_only_store_of_an_older_version_is_readable(corpus_store: Path, tmp_path: Path, make_assistant) -> None:  # type: ignore[no-untyped-def]
    """A replica made by a version without the `pages` table (opened read-only, so no schema is
    added) still answers, with no page fields; a writable open adds the table as before."""
    import sqlite3

    store = tmp_path / "old-replica"
    shutil.copytree(corpus_store, store)
    with sqlite3.connect(store / "catalog.sqlite3") as db:
        db.execute("DROP TABLE pages")
    a = make_assistant(store=store, read_only=True)
    answer = a.ask(QUESTION)
    assert not answer.refused and answer.citations
    assert all(c.page is None for c in answer.citations)
    assert a.document(answer.citations[0].doc_id).pages is None
    a.close()
    with sqlite3.connect(store / "catalog.sqlite3") as db:
        assert db.execute("SELECT 1 FROM sqlite_master WHERE name='pages'").fetchone() is None  # nothing written


def _unshare_available() -> bool:
    if not shutil.which("unshare") or not shutil.which("mount"):
        return False
    r = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    return r.returncode == 0


@pytest.mark.slow
def test_store_on_a_read_only_file_system_is_readable(corpus_store: Path, tmp_path: Path) -> None:
    """Defect 2 as the probe met it, and as root meets it too: the store on a read-only bind
    mount (EROFS fails for root as well, unlike file modes). `ask` and `docs list` work, `ingest`
    is a one-line error, and nothing in the store changes."""
    if not _unshare_available():
        pytest.skip("needs `unshare -m` and `mount` (Linux, root or user namespaces)")
    store = tmp_path / "store"
    shutil.copytree(corpus_store, store)
    before = {str(p): _digest(p) for p in store.rglob("*") if p.is_file()}
    ro = tmp_path / "ro"
    ro.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))}
    py = sys.executable
    script = (
        f"mount --bind {store} {ro} && mount -o remount,bind,ro {ro} || exit 99\n"
        f"touch {ro}/probe 2>/dev/null && exit 98\n"
        f"{py} -m assistant ask {QUESTION!r} --store {ro} --json > {tmp_path}/ask.out 2> {tmp_path}/ask.err; echo $? > {tmp_path}/ask.rc\n"
        f"{py} -m assistant docs list --store {ro} > {tmp_path}/docs.out 2> {tmp_path}/docs.err; echo $? > {tmp_path}/docs.rc\n"
        f"{py} -m assistant ingest {CORPUS} --store {ro} > {tmp_path}/ingest.out 2> {tmp_path}/ingest.err; echo $? > {tmp_path}/ingest.rc\n"
    )
    r = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    if r.returncode == 99:
        pytest.skip("cannot bind-mount read-only here")
    assert r.returncode == 0, r.stderr

    def out(name: str) -> str:
        return (tmp_path / name).read_text()

    assert out("ask.rc").strip() == "0", out("ask.err")[-2000:]
    assert '"refused": false' in out("ask.out")
    assert out("docs.rc").strip() == "0" and len(out("docs.out").splitlines()) == 2, out("docs.err")
    assert out("ingest.rc").strip() == "2"
    assert out("ingest.err").strip().splitlines() == [f"ct-assistant: error: store {ro}: read-only (not writable by this user, or read_only is set): cannot ingest"]
    assert {str(p): _digest(p) for p in store.rglob("*") if p.is_file()} == before


@pytest.mark.slow
def test_lost_vector_index_is_rebuilt(tmp_path: Path, make_assistant) -> None:  # type: ignore[no-untyped-def]
    """Defect 4: `rm -rf store/chroma` then ingest restores every vector (from the catalog's sentence vectors)."""
    docs = tmp_path / "docs"
    shutil.copytree(CORPUS, docs)
    a = make_assistant()
    first = a.ingest([docs])
    a.close()
    shutil.rmtree(Path(a.settings.store) / "chroma")
    b = make_assistant()
    again = b.ingest([docs])
    assert (again.unchanged, again.embedded) == (2, 0)
    store = b.store()
    assert store.vectors.count() == first.chunks == len(store.catalog.chunk_ids())
    assert store.vectors.all_ids() == store.catalog.chunk_ids()
    assert b.retrieve(QUESTION, mode="dense"), "dense retrieval works again"


@pytest.mark.slow
def test_unusable_stores_are_one_line_errors(tmp_path: Path, corpus_store: Path) -> None:
    """Defect 7: --store a file, under a file, in /proc, garbage and truncated catalogs."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    _one_line(run_cli("ingest", str(CORPUS), "--store", str(afile)), f"store {afile}: not a directory")
    _one_line(run_cli("ingest", str(CORPUS), "--store", str(afile / "sub")), "cannot create or open")
    _one_line(run_cli("ingest", str(CORPUS), "--store", "/proc/ct-store"), "store /proc/ct-store")
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "catalog.sqlite3").write_bytes(os.urandom(8192))
    _one_line(run_cli("ask", QUESTION, "--store", str(garbage)), "not a usable catalog", "file is not a database")
    truncated = tmp_path / "truncated"
    truncated.mkdir()
    data = (corpus_store / "catalog.sqlite3").read_bytes()
    (truncated / "catalog.sqlite3").write_bytes(data[: len(data) // 3])
    r = run_cli("docs", "list", "--store", str(truncated))
    _one_line(r, str(truncated))
    assert "malformed" in r.stderr or "not a usable catalog" in r.stderr


@pytest.mark.slow
def test_unwritable_store_directory_is_a_one_line_error(tmp_path: Path) -> None:
    """Defect 7, unwritable directory: as root permission bits do not stop writes, so the honest
    check runs on a read-only bind mount (EROFS) when it can."""
    if not _unshare_available():
        pytest.skip("needs `unshare -m` and `mount`")
    parent = tmp_path / "parent"
    parent.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))}
    script = (
        f"mount --bind {parent} {parent} && mount -o remount,bind,ro {parent} || exit 99\n"
        f"exec {sys.executable} -m assistant ingest {CORPUS} --store {parent}/store\n"
    )
    r = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    if r.returncode == 99:
        pytest.skip("cannot bind-mount read-only here")
    _one_line(r, f"store {parent}/store: cannot create or open: Read-only file system")


def test_serve_refuses_a_padded_host_and_a_busy_port(tmp_path: Path, corpus_store: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """Defect 7: `--host ' 127.0.0.1'` passed the loopback check then failed to bind; a busy port was a traceback."""
    from assistant.api import Assistant
    from assistant.config import Settings
    from assistant.ui.app import serve
    from assistant.ui.guard import check_bind

    with pytest.raises(ConfigError, match="host"):
        check_bind(" 127.0.0.1", [])
    with pytest.raises(ConfigError, match="host"):
        check_bind("127.0.0.1\n", [])
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        s = Settings(store=corpus_store, port=port)
        with pytest.raises(ConfigError, match=f"port={port}"):
            serve(s, Assistant(s, embedder), block=False, quiet=True, warm=False)


@pytest.mark.slow
def test_serve_on_a_corrupt_store_is_one_line(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "catalog.sqlite3").write_bytes(b"SQLite format 3\x00" + os.urandom(4000))
    _one_line(run_cli("serve", "--store", str(garbage), timeout=120), f"store {garbage}")


@pytest.mark.slow
def test_injection_notice_only_for_answers_citing_instructions(tmp_path: Path, make_assistant) -> None:  # type: ignore[no-untyped-def]
    """Defects 8 and 9: a clean answer has no notice even when the injected memo is in the store;
    an answer quoting the instructions is flagged, and --strict drops it (extractive mode)."""
    docs = tmp_path / "docs"
    shutil.copytree(CORPUS, docs)
    shutil.copy(DATA / "docs" / "injection.txt", docs)
    a = make_assistant()
    a.ingest([docs])
    clean = a.ask(QUESTION)
    assert not clean.refused and clean.notice is None
    hit = a.ask("What should I reply?")
    assert hit.notice and "instructions" in hit.notice
    assert any(not s.supported for s in hit.sentences) or hit.refused
    strict = make_assistant(strict=True)
    dropped = strict.ask("What should I reply?")
    assert all(s.supported for s in dropped.sentences)
    assert "PWNED" not in dropped.answer and "Ignore previous instructions" not in dropped.answer
    # issue 21: the instruction is never a candidate answer, so there is nothing left to remove; the notice stays
    assert dropped.notice and "instructions" in dropped.notice
    benign = strict.ask("What do the memo's training budgets concern?")
    for c in benign.citations:  # citing the memo's clean sentences is allowed, with the notice
        assert "PWNED" not in c.quote


@pytest.mark.slow
def test_cli_prints_the_notice_and_strips_control_characters(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(DATA / "docs" / "injection.txt", docs)
    store = str(tmp_path / "store")
    assert run_cli("ingest", str(docs), "--store", store).returncode == 0
    r = run_cli("ask", "What should I\x1b reply?\x07", "--store", store)
    assert r.returncode == 0, r.stderr
    assert "(note: a retrieved passage contains instructions; they were ignored)" in r.stdout
    assert "\x1b" not in r.stdout + r.stderr and "\x07" not in r.stdout + r.stderr


def test_control_characters_are_stripped_from_questions(corpus_assistant) -> None:  # type: ignore[no-untyped-def]
    from assistant.api import clean_question

    assert clean_question("Who\x00 heads\u200b NIFTAC?\x1b[0m") == "Who  heads NIFTAC? [0m"
    answer = corpus_assistant.ask("Why did NACTA\x07 struggle with\u202e CTD integration?\r\n")
    assert answer.question == "Why did NACTA  struggle with CTD integration?"
    assert not answer.refused


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts descriptors through /proc")
def test_closing_a_store_lets_go_of_its_files(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """A store opened, written and closed on a new path each time leaves no descriptor behind: the
    Chroma client is closed with the store (before, each kept its SQLite file and index files open,
    ~11 descriptors, those of deleted stores too)."""
    from assistant.api import Assistant
    from assistant.config import Settings

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "note.txt").write_text("The agency was set up in 2016. It employs forty analysts.", encoding="utf-8")

    def open_ingest_close(k: int) -> None:
        store = tmp_path / f"store{k}"
        a = Assistant(Settings(store=store), embedder)
        a.ingest([docs])
        assert not a.ask("How many analysts does the agency employ?").refused
        a.close()
        shutil.rmtree(store)

    open_ingest_close(0)  # models and caches load once
    before = len(os.listdir("/proc/self/fd"))
    for k in range(1, 6):
        open_ingest_close(k)
    assert len(os.listdir("/proc/self/fd")) <= before + 1
    # a closed assistant opens its store again when asked
    a = Assistant(Settings(store=tmp_path / "again"), embedder)
    a.ingest([docs])
    a.close()
    assert a.ask("How many analysts does the agency employ?").citations
    a.close()
