"""The catalog in PostgreSQL, vectors in a Chroma server, hosts that share no disk (issue 19).

Real servers: a throwaway PostgreSQL 15 cluster and `chroma run` (tests/store/conftest.py); hosts
are separate store directories, and where it matters separate processes (`python -m assistant`).
"""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest

from tests.conftest import CORPUS, DATA, ROOT, run_cli

pytestmark = pytest.mark.slow

FACT = (
    "The Provincial Counter-Terrorism Fusion Cell was established in Quetta in March 2021.\n\n"
    "The annual budget of the Provincial Counter-Terrorism Fusion Cell is Rs412.5 million, which funds forty-two analysts. "
    "The cell reports weekly to the provincial home department."
)
FACT_Q = "What is the annual budget of the Provincial Counter-Terrorism Fusion Cell?"
CORPUS_Q = "How much did the KP cabinet authorize for police equipment?"


def _answer(proc) -> dict:  # type: ignore[no-untyped-def]
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _exact(answer: dict, catalog) -> None:  # type: ignore[no-untyped-def]
    assert not answer["refused"] and answer["citations"], answer
    for c in answer["citations"]:
        assert catalog.document(c["doc_id"]).text[c["start"] : c["end"]] == c["quote"]


def test_two_hosts_answer_from_each_others_ingest(archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Host A ingests the corpus, host B a new file (separate processes, separate store dirs);
    each answers from the other's ingest with exact quotes, and neither dir holds a catalog or vectors."""
    host_a, host_b = tmp_path / "host-a", tmp_path / "host-b"
    incoming = tmp_path / "incoming-b"
    incoming.mkdir()
    (incoming / "fusion_cell.txt").write_text(FACT)

    a = _answer(run_cli("ingest", str(CORPUS), "--json", env=archive.env(host_a)))
    assert a["added"] == 2 and a["documents"] == 2
    b = _answer(run_cli("ingest", str(incoming), "--json", env=archive.env(host_b)))
    assert b["added"] == 1 and b["documents"] == 3 and b["embedded"] >= 1

    catalog = archive.catalog()
    try:
        from_b = _answer(run_cli("ask", FACT_Q, "--json", env=archive.env(host_a)))
        _exact(from_b, catalog)
        assert "Rs412.5 million" in from_b["answer"] and from_b["citations"][0]["doc_id"] == "fusion_cell"
        from_a = _answer(run_cli("ask", CORPUS_Q, "--json", env=archive.env(host_b)))
        _exact(from_a, catalog)
        assert "Rs567.7 million" in from_a["answer"]
        assert catalog.counts() == (3, len(archive.chroma_ids()))
    finally:
        catalog.close()
    for host in (host_a, host_b):  # caches only: the BM25 snapshot (no catalog, no local Chroma)
        assert not (host / "catalog.sqlite3").exists() and not (host / "chroma").exists()
        assert list((host / "bm25").glob("gen-*"))


def test_same_answers_as_a_single_host_store(archive, tmp_path: Path, corpus_store: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """The CT question sets answered through PostgreSQL + the Chroma server match the SQLite store."""
    from assistant.api import Assistant
    from assistant.config import Settings

    shared = Assistant(archive.settings(tmp_path / "host"), embedder)
    local = Assistant(Settings(store=corpus_store), embedder)
    try:
        assert shared.ingest([CORPUS]).documents == 2
        questions = []
        for name in ("ct_editorials.jsonl", "ct_dev.jsonl"):
            lines = (ROOT / "evals" / "datasets" / name).read_text().splitlines()
            questions += [json.loads(line)["question"] for line in lines if line.strip()]
        differ = []
        for q in questions:
            x, y = shared.ask(q), local.ask(q)
            same = (x.refused, x.answer, [(c.doc_id, c.start, c.end) for c in x.citations]) == (
                y.refused, y.answer, [(c.doc_id, c.start, c.end) for c in y.citations]
            )  # fmt: skip
            if not same:
                differ.append(q)
        assert len(questions) == 103 and differ == []
    finally:
        shared.close()
        local.close()


def test_readers_see_a_writer_at_their_next_question(archive, tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """A reader host opened before another host's ingest answers from it at its next question,
    building its own BM25 snapshot of the new generation; a removal is seen the same way."""
    from assistant.api import Assistant

    writer = Assistant(archive.settings(tmp_path / "writer"), embedder)
    writer.ingest([CORPUS])
    reader = Assistant(archive.settings(tmp_path / "reader"), embedder)
    try:
        assert reader.ask(FACT_Q).refused
        gen = reader.store().catalog.lexical_generation()
        incoming = tmp_path / "incoming"
        incoming.mkdir()
        (incoming / "fusion_cell.txt").write_text(FACT)
        writer.ingest([incoming])
        got = reader.ask(FACT_Q)
        assert not got.refused and got.citations[0].quote in FACT
        assert (tmp_path / "reader" / "bm25" / f"gen-{gen + 1}").is_dir()
        (incoming / "fusion_cell.txt").unlink()
        assert writer.ingest([incoming], prune=True).removed == 1
        assert reader.ask(FACT_Q).refused
        assert [d.doc_id for d in reader.documents()] == [d.doc_id for d in writer.documents()]
    finally:
        writer.close()
        reader.close()


def test_pdf_pages_and_docx_sections_on_a_host_without_the_files(archive, tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """Page maps, section titles and the PDF file itself live in PostgreSQL: a host that never saw
    the files cites pages and sections and renders the cited page (the web UI's page view)."""
    import docx

    from assistant.api import Assistant
    from assistant.ui.handlers import ChatUI
    from assistant.ui.pages import page_view

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "security_report.pdf").write_bytes((DATA / "pdf" / "security_report.pdf").read_bytes())
    d = docx.Document()
    d.add_heading("Provincial counter-terrorism review", level=0)
    d.add_paragraph("This review covers the counter-terrorism departments of the provinces.")
    d.add_heading("Funding", level=1)
    d.add_paragraph("The provincial cabinet allocated Rs 2.4 billion to the department for new forensic laboratories.")
    d.save(str(folder / "policy.docx"))
    writer = Assistant(archive.settings(tmp_path / "writer"), embedder)
    writer.ingest([folder])
    writer.close()
    pdf_bytes = (folder / "security_report.pdf").read_bytes()
    for f in folder.iterdir():
        f.unlink()
    reader = Assistant(archive.settings(tmp_path / "reader"), embedder)
    try:
        assert [x.title for x in reader.document("policy").sections or []] == ["Provincial counter-terrorism review", "Funding"]
        assert reader.original_file("security_report") == pdf_bytes and reader.original_file("policy") is None
        ans = reader.ask("How many terrorist attacks were recorded in 2024?")
        cit = next(c for c in ans.citations if c.doc_id == "security_report")
        assert cit.page is not None and cit.page_label
        doc = reader.document("security_report")
        assert page_view(doc, cit, tmp_path / "reader") is None  # without the catalog's copy: the file is gone
        view = page_view(doc, cit, tmp_path / "reader", original=lambda: reader.original_file(doc.doc_id))
        assert view is not None and view.png.stat().st_size > 1000 and view.pdf.read_bytes() == pdf_bytes
        assert view.boxes  # the quote was found on the rendered page
        # the web app's page and PDF routes (assistant.ui.files) on this host, from an empty page cache
        shutil.rmtree(tmp_path / "reader" / "page_cache")
        ui = ChatUI(reader, reader.settings)
        copy, name = ui.original_pdf("security_report")
        assert copy.read_bytes() == pdf_bytes and name == "security_report.pdf"
        assert ui.page_image("security_report", 2).read_bytes()[:4] == b"\x89PNG"
        assert ui.page_image("policy", 1) is None and ui.original_pdf("policy") is None  # not a PDF: the routes' 404
    finally:
        reader.close()


def test_access_groups_are_kept_and_enforced_in_postgresql(archive, tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """Issue 21's access groups through the shared catalog: a document ingested for `legal` on one
    host is invisible to an `analysts` reader on another host, and visible to a `legal` reader."""
    from assistant.api import Assistant

    restricted = tmp_path / "restricted"
    restricted.mkdir()
    (restricted / "fusion_cell.txt").write_text(FACT)
    writer = Assistant(archive.settings(tmp_path / "writer"), embedder)
    writer.ingest([CORPUS])
    writer.ingest([restricted], access="legal")
    writer.close()
    analyst = Assistant(archive.settings(tmp_path / "reader"), embedder, groups="analysts")
    lawyer = Assistant(archive.settings(tmp_path / "reader2"), embedder, groups="legal")
    try:
        assert analyst.store().catalog.access_of("fusion_cell") == ["legal"]
        assert "fusion_cell" not in [d.doc_id for d in analyst.documents()] and len(analyst.documents()) == 2
        assert analyst.ask(FACT_Q).refused and not analyst.ask(CORPUS_Q).refused
        got = lawyer.ask(FACT_Q)
        assert not got.refused and got.citations[0].doc_id == "fusion_cell"
    finally:
        analyst.close()
        lawyer.close()


def test_a_document_postgresql_cannot_store_is_refused_and_repaired(archive, tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """Text with a NUL (SQLite stores it, PostgreSQL text cannot): a ReadError naming the source,
    nothing half-written in the catalog; the next ingest leaves Chroma equal to the catalog."""
    from assistant.api import Assistant
    from assistant.errors import ReadError
    from assistant.types import Document

    a = Assistant(archive.settings(tmp_path / "host"), embedder)
    try:
        bad = Document(doc_id="bad", source="api:bad-source", title="Bad", text="The cell met in Quetta.\x00 It reported weekly.")
        with pytest.raises(ReadError) as err:
            a.ingest_documents([bad])
        assert "api:bad-source" in str(err.value) and "NUL" in str(err.value)
        assert a.store().catalog.counts() == (0, 0)
        a.ingest([CORPUS])
        catalog = archive.catalog()
        try:
            assert catalog.chunk_ids() == archive.chroma_ids() and catalog.counts()[0] == 2
        finally:
            catalog.close()
    finally:
        a.close()


def test_bad_catalog_urls_are_one_line_errors(archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A wrong password, a port nobody listens on, and a shared catalog with a local Chroma."""
    from benchmarks.servers import free_port

    env = archive.env(tmp_path / "host")
    wrong = {**env, "CT_ASSISTANT_CATALOG_URL": archive.url.replace(":ct-secret@", ":wrong@")}
    p = run_cli("ask", CORPUS_Q, env=wrong)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "127.0.0.1" in p.stderr and "password authentication failed" in p.stderr and "wrong" not in p.stderr

    closed = {**env, "CT_ASSISTANT_CATALOG_URL": f"postgresql://ct:pw@127.0.0.1:{free_port()}/db"}
    p = run_cli("docs", "list", env=closed)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "catalog postgresql://ct@127.0.0.1:" in p.stderr and "Connection refused" in p.stderr

    no_server = {k: v for k, v in env.items() if k != "CT_ASSISTANT_CHROMA_HOST"}
    p = run_cli("ingest", str(CORPUS), env=no_server)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "catalog_url" in p.stderr and "Chroma server" in p.stderr

    empty = run_cli("ask", CORPUS_Q, env=env)  # a database nobody has ingested into
    assert empty.returncode == 2 and "no store at postgresql://ct@127.0.0.1" in empty.stderr and "ct-secret" not in empty.stderr


def test_schema_is_versioned_and_migrated_once(archive) -> None:  # type: ignore[no-untyped-def]
    """Eight hosts opening a new database at once: one migration, applied once, then no-ops."""
    import psycopg

    from assistant.store.pg_catalog import PostgresCatalog
    from assistant.store.pg_schema import SCHEMA_VERSION, migrate

    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            PostgresCatalog(archive.url, create=True).close()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with psycopg.connect(archive.url, autocommit=True) as conn:
        assert conn.execute("SELECT array_agg(version) FROM schema_migrations").fetchone()[0] == list(range(1, SCHEMA_VERSION + 1))
        assert migrate(conn) == []


def test_database_restart_under_a_running_host(archive, pg_cluster, tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """While PostgreSQL is down a question is a one-line CatalogUnavailableError naming the server;
    after it restarts the same Assistant (what `serve` holds) answers again, with no restart."""
    from assistant.api import Assistant
    from assistant.errors import CatalogUnavailableError

    a = Assistant(archive.settings(tmp_path / "host"), embedder)
    try:
        a.ingest([CORPUS])
        assert not a.ask(CORPUS_Q).refused
        pg_cluster.stop()
        try:
            with pytest.raises(CatalogUnavailableError) as err:
                a.ask(CORPUS_Q)
            assert "127.0.0.1" in str(err.value) and "\n" not in str(err.value) and "ct-secret" not in str(err.value)
        finally:
            pg_cluster.start()
        got = a.ask(CORPUS_Q)
        assert not got.refused and "Rs567.7 million" in got.answer
    finally:
        a.close()
