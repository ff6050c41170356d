"""Access groups enforced in the store, before ranking (issue 21): a real store with the public
corpus and one restricted document, asked through the Python API, chat sessions, the LlamaIndex
retriever and engines, and the CLI, by a reader outside its group and by a member."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from assistant.errors import InvalidGroupError, UnknownDocumentError
from assistant.types import Filters
from tests.conftest import CORPUS, run_cli
from tests.security.conftest import ACCESS, GROUP, SECRET_ID, SPEC, answer_outputs, leaks, secret_source


def _open(store: Path, embedder: Any, groups: list[str] | None, **settings: Any):  # type: ignore[no-untyped-def]
    from assistant.api import Assistant
    from assistant.config import Settings

    return Assistant(Settings(store=store, **settings), embedder, groups=groups)


def _filters(p: dict[str, Any], store: Path) -> Filters | None:
    f = Filters(
        doc_ids=p.get("doc_ids", []), sources=[secret_source(store) if s == "SOURCE" else s for s in p.get("sources", [])],
        date_from=p.get("date_from"), date_to=p.get("date_to"),
    )
    return None if f.is_empty() else f


def _run_probe(a: Any, p: dict[str, Any], store: Path) -> tuple[list[Any], list[str]]:
    """(answers, outputs) of one probe: a question (with filters) or a conversation."""
    answers, outputs = [], []
    if "turns" in p:
        session = a.chat()
        for t in p["turns"]:
            ans = session.send(t)
            answers.append(ans)
            outputs += answer_outputs(ans)
        return answers, outputs
    try:
        ans = a.ask(p["q"], filters=_filters(p, store))
    except UnknownDocumentError as exc:
        return [], [str(exc)]
    return [ans], answer_outputs(ans)


def test_groups_are_stored_in_the_catalog_and_the_vectors(restricted_store: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    owner = _open(restricted_store, embedder, None)
    store = owner.store()
    assert store.catalog.access_of(SECRET_ID) == [GROUP]
    assert store.catalog.access_of("002_f76924cdbd8590c8") == ["all"]
    assert store.groups_synced()
    metas = store.vectors.collection.get(where={"doc_id": SECRET_ID}, include=["metadatas"])["metadatas"]
    assert metas and all(m.get("g:" + GROUP) is True and "g:all" not in m for m in metas)
    # dense search with the reader's `where`: no restricted chunk even when asking for every chunk
    vec = embedder.embed_query("Who heads the Kestrel cell?")
    hits = store.dense_search(vec, 100, None, ["all", "analysts"])
    chunks = store.catalog.chunks([c for c, _ in hits])
    assert hits and all(c.doc_id != SECRET_ID for c in chunks.values())
    assert {c.doc_id for c in store.catalog.chunks([c for c, _ in store.dense_search(vec, 100, None, ["all", GROUP])]).values()} >= {SECRET_ID}
    owner.close()


def test_an_outsider_sees_nothing_of_the_restricted_document(restricted_store: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    outsider = _open(restricted_store, embedder, ["analysts"])
    assert [d.doc_id for d in outsider.documents()] == sorted(p.stem for p in CORPUS.glob("*.txt"))
    with pytest.raises(UnknownDocumentError) as hidden:
        outsider.document(SECRET_ID)
    with pytest.raises(UnknownDocumentError) as unknown:
        outsider.document("no_such_doc")
    assert str(hidden.value) == str(unknown.value).replace("no_such_doc", SECRET_ID)  # exactly like an unknown id
    problems: list[str] = []
    for p in SPEC["probes"]:
        asked = p.get("turns") or [p["q"], *p.get("doc_ids", [])]
        answers, outputs = _run_probe(outsider, p, restricted_store)
        problems += leaks(outputs, asked)
        for ans in answers:
            problems += [f"cited {c.doc_id}" for c in ans.citations if c.doc_id == SECRET_ID]
            problems += [f"context {c.doc_id}" for c in ans.contexts if c.doc_id == SECRET_ID]
        for c in outsider.retrieve(p.get("q") or p["turns"][-1], top_k=20):
            assert c.doc_id != SECRET_ID
    assert len(SPEC["probes"]) >= 30
    assert problems == []
    outsider.close()


def test_a_member_gets_the_answers(restricted_store: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    member = _open(restricted_store, embedder, [GROUP])
    assert SECRET_ID in [d.doc_id for d in member.documents()]
    assert member.document(SECRET_ID).title == SPEC["title"]
    missed = []
    for p in SPEC["probes"]:
        if p.get("answer"):
            ans = member.ask(p["q"])
            if ans.refused or not any(p["answer"] in c.quote and c.doc_id == SECRET_ID for c in ans.citations):
                missed.append((p["q"], ans.answer))
    ans = member.ask("Who heads the Kestrel cell?", filters=Filters(doc_ids=[SECRET_ID]))
    assert not ans.refused and "Tariq Nadeem" in ans.citations[0].quote
    ans = member.ask("Who heads the Kestrel cell?", filters=Filters(sources=[secret_source(restricted_store)]))
    assert not ans.refused
    session = member.chat()
    session.send("Who heads the Kestrel cell?")
    follow = session.send("How much money did it receive?")
    assert any("84.3" in c.quote for c in follow.citations), follow.answer
    assert missed == []
    member.close()


def test_llamaindex_retriever_and_engines_obey_the_groups(restricted_store: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    outsider = _open(restricted_store, embedder, ["analysts"])
    nodes = outsider.as_retriever(top_k=20).retrieve("Who heads the Kestrel cell? Zarghun compound Blue Heron")
    assert nodes and all(n.node.metadata["doc_id"] != SECRET_ID for n in nodes)
    response = outsider.as_query_engine().query("How much did the Kestrel cell receive?")
    assert leaks([str(response), json.dumps(response.metadata, default=str)], ["How much did the Kestrel cell receive?"]) == []
    assert all(n.node.metadata["doc_id"] != SECRET_ID for n in response.source_nodes)
    chat = outsider.as_chat_engine()
    chat.chat("What is NIFTAC?")
    reply = chat.chat("Who is the informant codenamed Blue Heron?")
    assert all(n.node.metadata["doc_id"] != SECRET_ID for n in reply.source_nodes)
    follow = chat.chat("Where is its safe house?")
    asked = ["What is NIFTAC?", "Who is the informant codenamed Blue Heron?", "Where is its safe house?"]
    assert leaks([str(reply), str(follow), *(n.node.get_content() for n in [*reply.source_nodes, *follow.source_nodes])], asked) == []
    # a filter naming the hidden id: the same one-line error as an id nobody has
    from llama_index.core.vector_stores import ExactMatchFilter, MetadataFilters

    errors = []
    for doc_id in (SECRET_ID, "no_such_document"):
        with pytest.raises(UnknownDocumentError) as err:
            outsider.as_query_engine(filters=MetadataFilters(filters=[ExactMatchFilter(key="doc_id", value=doc_id)])).query("Who heads the Kestrel cell?")
        errors.append(str(err.value).replace(doc_id, "ID"))
    assert errors[0] == errors[1]
    member = _open(restricted_store, embedder, [GROUP])
    response = member.as_query_engine().query("Who heads the Kestrel cell?")
    assert any(n.node.metadata["doc_id"] == SECRET_ID for n in response.source_nodes)
    assert "Tariq Nadeem" in str(response)
    outsider.close()
    member.close()


def test_reingest_with_another_access_changes_it(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]

    store = tmp_path / "store"
    owner = _open(store, embedder, None)
    owner.ingest([CORPUS])
    owner.ingest([ACCESS], access="cell-k,legal")
    outsider = _open(store, embedder, ["analysts"])
    assert outsider.ask("Who heads the Kestrel cell?").refused
    owner.ingest([ACCESS], access="all")  # unchanged file, new groups
    assert owner.store().catalog.access_of(SECRET_ID) == ["all"]
    metas = owner.store().vectors.collection.get(where={"doc_id": SECRET_ID}, include=["metadatas"])["metadatas"]
    assert all(m.get("g:all") is True and "g:cell-k" not in m for m in metas)
    assert not outsider.ask("Who heads the Kestrel cell?").refused
    owner.ingest([ACCESS])  # no --access: the document keeps its groups
    assert owner.store().catalog.access_of(SECRET_ID) == ["all"]
    owner.ingest([ACCESS], access="legal")
    assert outsider.ask("Who heads the Kestrel cell?").refused
    assert not _open(store, embedder, ["legal"]).ask("Who heads the Kestrel cell?").refused
    with pytest.raises(InvalidGroupError, match="bad group"):
        owner.ingest([ACCESS], access="bad group")
    assert owner.store().catalog.access_of(SECRET_ID) == ["legal"]  # a bad name changed nothing
    for a in (owner, outsider):
        a.close()


def test_spelling_knows_only_the_readers_words(restricted_store: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """A word found only in the hidden document ("Pishin") is, for an outsider, a word no document
    has: corrected exactly as a speller over the public documents corrects it, so whether it is
    corrected says nothing of the hidden document. A member's spelling keeps it."""
    from assistant.retrieve.spelling import Speller, vocabulary

    question = "Who runs the informants in Pishin district?"
    public = [p.read_text(encoding="utf-8") for p in sorted(CORPUS.iterdir()) if p.suffix in {".md", ".txt"}]
    expected = Speller(vocabulary(public)).correct(question)
    assert expected[1]  # the public words alone would change it: the case that used to tell
    outsider = _open(restricted_store, embedder, ["analysts"])
    member = _open(restricted_store, embedder, [GROUP])
    owner = _open(restricted_store, embedder, None)
    assert outsider.correct_spelling(question) == expected
    assert member.correct_spelling(question) == (question, {})
    assert owner.correct_spelling(question) == (question, {})
    for a in (outsider, member, owner):
        a.close()


def test_assistant_open_takes_the_readers_groups(restricted_store: Path) -> None:
    """`Assistant.open(store, groups=...)`, the call the README shows, with the embedder it loads itself."""
    from assistant.api import Assistant

    outsider = Assistant.open(restricted_store, groups=["analysts"])
    member = Assistant.open(restricted_store, groups=[GROUP])
    try:
        assert SECRET_ID not in {d.doc_id for d in outsider.documents()}
        with pytest.raises(UnknownDocumentError):
            outsider.document(SECRET_ID)
        ans = outsider.ask("Who heads the Kestrel cell?")
        assert ans.refused and leaks(answer_outputs(ans), ["Who heads the Kestrel cell?"]) == []
        assert any("Tariq Nadeem" in c.quote for c in member.ask("Who heads the Kestrel cell?").citations)
    finally:
        outsider.close()
        member.close()


def test_a_store_from_before_access_groups_opens_and_is_migrated(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    store = tmp_path / "store"
    owner = _open(store, embedder, None)
    owner.ingest([CORPUS])
    owner.close()
    db = sqlite3.connect(store / "catalog.sqlite3")  # as an older version left it: no column, vectors without groups
    db.execute("ALTER TABLE documents DROP COLUMN access")
    db.execute("DELETE FROM meta WHERE key='vector_groups'")
    db.commit()
    db.close()
    reader = _open(store, embedder, ["analysts"])
    assert reader.store().catalog.access_of("002_f76924cdbd8590c8") == ["all"]  # the column came back with its default
    assert not reader.store().groups_synced()
    assert not reader.ask("How much did the KP cabinet authorize for police equipment?").refused  # dense by doc ids meanwhile
    reader.close()
    owner = _open(store, embedder, None)
    owner.ingest([CORPUS])  # the next ingest writes the groups into the vectors
    assert owner.store().groups_synced()
    metas = owner.store().vectors.collection.get(include=["metadatas"])["metadatas"]
    assert metas and all(m.get("g:all") is True for m in metas)
    owner.close()


@pytest.mark.slow
def test_cli_access_and_groups(restricted_store: Path, tmp_path: Path) -> None:
    store = str(restricted_store)
    r = run_cli("ask", "Who heads the Kestrel cell?", "--store", store, "--groups", "analysts", "--json")
    assert r.returncode == 0, r.stderr
    assert leaks([r.stdout], ["Who heads the Kestrel cell?"]) == [] and json.loads(r.stdout)["refused"]
    r = run_cli("ask", "Who heads the Kestrel cell?", "--store", store, "--groups", "analysts", "--doc", SECRET_ID)
    assert r.returncode == 2 and r.stderr.strip() == f"ct-assistant: error: unknown document id: '{SECRET_ID}' (see `ct-assistant docs list`)"
    r = run_cli("docs", "list", "--store", store, "--groups", "analysts")
    assert r.returncode == 0 and SECRET_ID not in r.stdout and "Kestrel" not in r.stdout and "NIFTAC" in r.stdout
    r = run_cli("docs", "show", SECRET_ID, "--store", store, "--groups", "analysts")
    assert r.returncode == 2 and "unknown document id" in r.stderr
    r = run_cli("ask", "Who heads the Kestrel cell?", "--store", store, "--groups", GROUP)
    assert r.returncode == 0 and "Tariq Nadeem" in r.stdout
    r = run_cli("ingest", str(CORPUS), "--store", store, "--access", "a b")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "access group 'a b'" in r.stderr


@pytest.mark.slow
def test_feedback_export_obeys_the_groups(restricted_store: Path, tmp_path: Path) -> None:
    from assistant.ui.feedback import FeedbackStore

    db = tmp_path / "feedback.sqlite3"
    fb = FeedbackStore(db)
    fb.add(rating="helpful", comment="", question="Who heads the Kestrel cell?", standalone_question=None, answer="Major Tariq Nadeem ...",
           citations=[{"doc_id": SECRET_ID, "quote": "Major Tariq Nadeem heads the Kestrel cell"}], refused=False, mode="extractive", filters={}, session_id="s1")
    fb.add(rating="helpful", comment="", question="What is NIFTAC?", standalone_question=None, answer="NIFTAC is ...",
           citations=[{"doc_id": "002_f76924cdbd8590c8", "quote": "NIFTAC"}], refused=False, mode="extractive", filters={}, session_id="s2")
    fb.add(rating="not_helpful", comment="", question="Who?", standalone_question=None, answer="The documents don't say.",
           citations=[], refused=True, mode="extractive", filters={"doc_ids": [SECRET_ID]}, session_id="s1")
    base = ["feedback", "export", "--store", str(restricted_store), "--feedback-db", str(db)]
    outsider = run_cli(*base, "--groups", "analysts")
    assert outsider.returncode == 0, outsider.stderr
    assert [json.loads(x)["question"] for x in outsider.stdout.splitlines()] == ["What is NIFTAC?"]
    assert leaks([outsider.stdout], []) == []
    member = run_cli(*base, "--groups", GROUP)
    assert len(member.stdout.splitlines()) == 3


@pytest.mark.slow
def test_groups_with_a_chroma_server(tmp_path: Path, embedder, chroma_server: tuple[str, int]) -> None:  # type: ignore[no-untyped-def]
    """The same `where` filter on a `chroma run` server (the vectors live outside the store)."""

    host, port = chroma_server
    store = tmp_path / "store"
    owner = _open(store, embedder, None, chroma_host=host, chroma_port=port)
    owner.ingest([CORPUS])
    owner.ingest([ACCESS], access=GROUP)
    outsider = _open(store, embedder, ["analysts"], chroma_host=host, chroma_port=port)
    vec = embedder.embed_query("Who heads the Kestrel cell?")
    hits = outsider.store().dense_search(vec, 50, None, outsider.groups)
    assert hits and all(c.doc_id != SECRET_ID for c in outsider.store().catalog.chunks([h for h, _ in hits]).values())
    ans = outsider.ask("Who heads the Kestrel cell?")
    assert leaks(answer_outputs(ans), ["Who heads the Kestrel cell?"]) == []
    member = _open(store, embedder, [GROUP], chroma_host=host, chroma_port=port)
    assert not member.ask("Who heads the Kestrel cell?").refused
    for a in (owner, outsider, member):
        a.close()


@pytest.mark.slow
def test_audit_log_and_export(restricted_store: Path, tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    env = {"CT_ASSISTANT_AUDIT_LOG": str(log)}
    store = str(restricted_store)
    assert run_cli("ask", "Who heads the Kestrel cell?", "--store", store, "--groups", GROUP, env=env).returncode == 0
    assert run_cli("ask", "Who heads the Kestrel cell?", "--store", store, "--groups", "analysts", env=env).returncode == 0
    lines = [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines()]
    assert [(e["kind"], e["refused"], e["cited"]) for e in lines] == [("question", False, [SECRET_ID]), ("question", True, [])]
    assert all(set(e) == {"time", "kind", "user", "question", "standalone_question", "refused", "cited"} for e in lines)
    assert "Tariq Nadeem" not in log.read_text(encoding="utf-8")  # no answer text unless asked for
    r = run_cli("ask", "Who heads the Kestrel cell?", "--store", store, "--groups", GROUP, env={**env, "CT_ASSISTANT_AUDIT_ANSWERS": "true"})
    assert r.returncode == 0 and "Tariq Nadeem" in json.loads(log.read_text(encoding="utf-8").splitlines()[-1])["answer"]
    out = run_cli("audit", "export", "--kind", "question", env=env)
    assert out.returncode == 0 and len(out.stdout.splitlines()) == 3
    out = run_cli("audit", "export", "--audit-log", str(log), "--since", "2999-01-01")
    assert out.returncode == 0 and out.stdout == ""
    missing = run_cli("audit", "export", "--audit-log", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and "no audit log at" in missing.stderr
    # an ingest through the CLI with --access: the groups are stored and the run is logged
    fresh = tmp_path / "fresh-store"
    r = run_cli("ingest", str(ACCESS), "--store", str(fresh), "--access", GROUP, env=env)
    assert r.returncode == 0, r.stderr
    r = run_cli("docs", "list", "--store", str(fresh), "--groups", "analysts")
    assert r.returncode == 0 and SECRET_ID not in r.stdout
    r = run_cli("docs", "list", "--store", str(fresh), "--groups", GROUP)
    assert r.returncode == 0 and SECRET_ID in r.stdout
    ingests = [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines() if json.loads(x)["kind"] == "ingest"]
    assert len(ingests) == 1 and ingests[0]["access"] == [GROUP] and ingests[0]["added"] == 1 and ingests[0]["user"].startswith("local:")
    # a chat through the CLI logs each turn as the local user, with its groups applied
    r = run_cli("chat", "--store", store, "--groups", "analysts", "--json", env=env, input="Who heads the Kestrel cell?\n")
    assert r.returncode == 0 and leaks([r.stdout], ["Who heads the Kestrel cell?"]) == []
    last = json.loads(log.read_text(encoding="utf-8").splitlines()[-1])
    assert last["kind"] == "question" and last["user"].startswith("local:") and last["refused"] and last["cited"] == []
    # export by user, to a file
    out_file = tmp_path / "export.jsonl"
    r = run_cli("audit", "export", "--audit-log", str(log), "--user", last["user"], "--kind", "ingest", "--out", str(out_file))
    assert r.returncode == 0, r.stderr
    assert [json.loads(x)["kind"] for x in out_file.read_text(encoding="utf-8").splitlines()] == ["ingest"]
    r = run_cli("audit", "export", "--audit-log", str(log), "--user", "nobody")
    assert r.returncode == 0 and r.stdout == ""


def test_a_hidden_document_that_disagrees_makes_no_conflict_note(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """A restricted copy that says 31 where the public document says 23: the member is told the
    sources disagree; the outsider gets the public answer with no note, no 31, no hidden id."""
    src = (Path(__file__).resolve().parents[2] / "evals" / "datasets" / "everyday" / "border_strategy.txt").read_text(encoding="utf-8")
    public, hidden = tmp_path / "public", tmp_path / "hidden"
    public.mkdir()
    hidden.mkdir()
    (public / "strategy_a.txt").write_text(src, encoding="utf-8")
    (hidden / "strategy_b.txt").write_text(src.replace("23 crossing points", "31 crossing points"), encoding="utf-8")
    owner = _open(tmp_path / "store", embedder, None)
    owner.ingest([public])
    owner.ingest([hidden], access=GROUP)
    q = "How many crossing points does the border agency operate?"
    member = _open(tmp_path / "store", embedder, [GROUP])
    ans = member.ask(q)
    assert ans.conflicts and "31" in ans.conflicts[0]
    outsider = _open(tmp_path / "store", embedder, ["analysts"])
    ans = outsider.ask(q)
    out = json.dumps(ans.to_dict(), ensure_ascii=False)
    assert not ans.conflicts and not ans.refused and "23 crossing points" in ans.answer
    assert "31 crossing" not in out and "strategy_b" not in out and {c.doc_id for c in ans.citations} == {"strategy_a"}
    for a in (owner, member, outsider):
        a.close()
