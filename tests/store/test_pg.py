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
        # re-ingested from the writer host with other groups: the reader host sees the change at
        # its next question, with no restart; then restricted again
        writer = Assistant(archive.settings(tmp_path / "writer"), embedder)
        writer.ingest([restricted], access="analysts")
        assert analyst.store().catalog.access_of("fusion_cell") == ["analysts"]
        assert not analyst.ask(FACT_Q).refused and lawyer.ask(FACT_Q).refused
        writer.ingest([restricted], access="legal")
        writer.close()
        assert analyst.ask(FACT_Q).refused and not lawyer.ask(FACT_Q).refused
    finally:
        analyst.close()
        lawyer.close()


def test_a_database_from_before_access_groups_is_migrated(archive, tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """A schema-1 database holding documents (no `access` column, as the version before issue 21
    left it): the next host to open it adds the column, every stored document reads `all`, and
    groups set afterwards are enforced."""
    import psycopg

    from assistant.api import Assistant

    host = Assistant(archive.settings(tmp_path / "old"), embedder)
    host.ingest([CORPUS])
    host.close()
    with psycopg.connect(archive.url, autocommit=True) as conn:  # back to schema 1
        conn.execute("DROP TABLE IF EXISTS feedback")
        conn.execute("ALTER TABLE documents DROP COLUMN access")
        conn.execute("DELETE FROM schema_migrations WHERE version >= 2")
    restricted = tmp_path / "restricted"
    restricted.mkdir()
    (restricted / "fusion_cell.txt").write_text(FACT)
    owner = Assistant(archive.settings(tmp_path / "new"), embedder)
    analyst = Assistant(archive.settings(tmp_path / "reader"), embedder, groups="analysts")
    try:
        assert sorted({owner.store().catalog.access_of(d.doc_id)[0] for d in owner.documents()}) == ["all"]
        assert len(analyst.documents()) == 2 and not analyst.ask(CORPUS_Q).refused
        owner.ingest([restricted], access="legal")
        assert analyst.ask(FACT_Q).refused and "fusion_cell" not in [d.doc_id for d in analyst.documents()]
        with psycopg.connect(archive.url, autocommit=True) as conn:
            assert 2 in conn.execute("SELECT array_agg(version) FROM schema_migrations").fetchone()[0]
    finally:
        owner.close()
        analyst.close()


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


def _rated(ui, answer, filters: dict | None = None):  # type: ignore[no-untyped-def]
    """A browser session of `ui` whose latest answer is `answer` (what the chat holds after a question)."""
    from assistant.ui.handlers import UiSession

    state = UiSession()
    state.answers.append(answer)
    state.filters.append(filters or {})
    return state


def test_feedback_given_on_one_host_is_exported_from_another(archive, pg_cluster, tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """Web-UI feedback lives in the catalog database (issue 19): given through host A's chat, it is
    read and exported on host B (another store dir, another process), `--groups` leaves out rows
    about documents outside the exporter's groups, and no host keeps a feedback file. With the
    database down, feedback and export are one-line errors; after it restarts, feedback works again."""
    from assistant.api import Assistant
    from assistant.ui.feedback import PostgresFeedback, open_feedback
    from assistant.ui.viewers import Viewers

    host_a, host_b = tmp_path / "host-a", tmp_path / "host-b"
    restricted = tmp_path / "restricted"
    restricted.mkdir()
    (restricted / "fusion_cell.txt").write_text(FACT)
    settings_a = archive.settings(host_a)
    a = Assistant(settings_a, embedder)
    try:
        a.ingest([CORPUS])
        a.ingest([restricted], access="legal")
        ui = Viewers(a, settings_a).ui(None)  # what `serve` builds on host A
        assert isinstance(ui.feedback, PostgresFeedback)
        public, secret = a.ask(CORPUS_Q), a.ask(FACT_Q)
        assert not public.refused and secret.citations[0].doc_id == "fusion_cell"
        assert ui.rate("helpful", "", _rated(ui, public))[0] == "Thanks: feedback #1 recorded (helpful)."
        assert ui.rate("not_helpful", "wrong\x00 year", _rated(ui, secret, {"doc_ids": ["fusion_cell"]}))[0].startswith("Thanks: feedback #2")

        on_b = open_feedback(archive.settings(host_b))
        try:
            rows = on_b.rows()
        finally:
            on_b.close()
        assert [(r["id"], r["rating"], r["question"], r["comment"]) for r in rows] == [
            (1, "helpful", CORPUS_Q, ""), (2, "not_helpful", FACT_Q, "wrong year"),
        ]  # fmt: skip
        assert rows[1]["citations"][0]["quote"] == secret.citations[0].quote and rows[1]["filters"] == {"doc_ids": ["fusion_cell"]}
        assert rows[0]["refused"] is False and rows[0]["created_at"].endswith("+00:00")

        def export(*flags: str) -> list[dict]:
            p = run_cli("feedback", "export", *flags, env=archive.env(host_b))
            assert p.returncode == 0, p.stderr
            return [json.loads(line) for line in p.stdout.splitlines()]

        assert [r["question"] for r in export()] == [CORPUS_Q, FACT_Q]
        assert export() == rows
        assert [r["question"] for r in export("--groups", "analysts")] == [CORPUS_Q]
        assert [r["question"] for r in export("--groups", "legal")] == [CORPUS_Q, FACT_Q]
        out = tmp_path / "fb.csv"
        assert run_cli("feedback", "export", "--format", "csv", "--out", str(out), env=archive.env(host_b)).returncode == 0
        assert out.read_text().startswith("id,created_at,") and out.read_text().count("\n") >= 3
        for host in (host_a, host_b):
            assert not (host / "feedback.sqlite3").exists()

        pg_cluster.stop()
        try:
            status, comment = ui.rate("helpful", "kept", _rated(ui, public))
            assert status.startswith("Feedback not saved") and "\n" not in status and comment == "kept"
            p = run_cli("feedback", "export", env=archive.env(host_b))
            assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr
            assert "127.0.0.1" in p.stderr and "ct-secret" not in p.stderr
        finally:
            pg_cluster.start()
        assert ui.rate("helpful", "kept", _rated(ui, public))[0].startswith("Thanks: feedback #")
        ui.feedback.close()
    finally:
        a.close()


@pytest.mark.parametrize("first", ["feedback", "catalog"])
def test_a_database_of_the_previous_schema_is_migrated(archive, tmp_path: Path, embedder, monkeypatch, first: str) -> None:  # type: ignore[no-untyped-def]
    """A database an older version set up (schema 2: no feedback table) keeps its documents and
    gets the feedback table from whichever opens it first: a host giving feedback, or a host
    opening the catalog. Reading feedback never migrates: export says there is no table yet."""
    import psycopg

    from assistant.api import Assistant
    from assistant.store import pg_schema
    from assistant.store.pg_catalog import PostgresCatalog
    from assistant.ui.feedback import open_feedback

    def versions() -> list[int]:
        with psycopg.connect(archive.url, autocommit=True) as conn:
            return conn.execute("SELECT array_agg(version ORDER BY version) FROM schema_migrations").fetchone()[0]

    previous = [m for m in pg_schema.MIGRATIONS if m[0] < 3]
    monkeypatch.setattr(pg_schema, "MIGRATIONS", previous)  # the code before feedback moved to PostgreSQL
    old = Assistant(archive.settings(tmp_path / "old-host"), embedder)
    try:
        old.ingest([CORPUS])
    finally:
        old.close()
    monkeypatch.undo()
    assert versions() == [1, 2]
    n_chunks = len(archive.chroma_ids())

    fb = open_feedback(archive.settings(tmp_path / "new-host"))
    try:
        assert not fb.exists() and fb.rows() == []
        p = run_cli("feedback", "export", env=archive.env(tmp_path / "new-host"))
        assert p.returncode == 2 and p.stderr.strip().splitlines() == [
            f"ct-assistant: error: no feedback table at {fb.where}"
        ] and "ct-secret" not in p.stderr  # fmt: skip
        assert versions() == [1, 2]
        if first == "feedback":
            assert fb.add(rating="helpful", question=CORPUS_Q, answer="Rs567.7 million [1].", citations=[{"doc_id": "002"}]) == 1
        else:
            PostgresCatalog(archive.url).close()  # what every ask/serve/ingest does at open
        assert versions() == list(range(1, pg_schema.SCHEMA_VERSION + 1)) and fb.exists()
        assert len(fb.rows()) == (1 if first == "feedback" else 0)
    finally:
        fb.close()
    catalog = archive.catalog()
    try:
        assert catalog.counts() == (2, n_chunks)
    finally:
        catalog.close()
    new = Assistant(archive.settings(tmp_path / "new-host"), embedder)
    try:
        assert "Rs567.7 million" in new.ask(CORPUS_Q).answer
    finally:
        new.close()
