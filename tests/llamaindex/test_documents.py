"""`Assistant.ingest_documents` takes LlamaIndex Documents (a reader's output) as well as ours."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest
from llama_index.core import Document as LIDocument
from llama_index.core import SimpleDirectoryReader

from assistant.errors import ReadError
from assistant.types import Document
from ingest.read import normalize
from tests.conftest import CORPUS, ROOT, run_cli


def test_a_readers_documents_are_ingested_and_cited(make_assistant) -> None:  # type: ignore[no-untyped-def]
    docs = SimpleDirectoryReader(input_files=sorted(CORPUS.glob("*.txt"))).load_data()
    a = make_assistant()
    report = a.ingest_documents(docs)
    assert report.added == len(docs) == report.documents and report.chunks > 0 and not report.failed
    infos = {i.source: i for i in a.documents()}
    for d in docs:
        info = infos[d.metadata["file_path"]]
        assert info.title == d.metadata["file_name"].removesuffix(".txt").replace("_", " ")
        assert a.document(info.doc_id).text == normalize(d.text)
    resp = a.as_query_engine().query("What is NIFTAC?")
    assert resp.source_nodes
    for n in resp.source_nodes:
        assert a.document(n.node.ref_doc_id).text[n.node.start_char_idx : n.node.end_char_idx] == n.node.get_content()
        assert n.node.metadata["source"] in {d.metadata["file_path"] for d in docs}
    # the same documents again: unchanged, nothing re-embedded
    again = a.ingest_documents(docs)
    assert (again.unchanged, again.added, again.embedded) == (len(docs), 0, 0)


def test_metadata_is_mapped_and_pages_are_their_own_documents(make_assistant) -> None:  # type: ignore[no-untyped-def]
    text = (CORPUS / "002_f76924cdbd8590c8.txt").read_text(encoding="utf-8")
    half = len(text) // 2
    cut = text.index(". ", half) + 1
    pages = [
        LIDocument(
            text=text[:cut],
            metadata={
                "file_path": "/reports/niftac.pdf",
                "file_name": "niftac.pdf",
                "page_label": "1",
                "title": "NIFTAC editorial",
                "date": "2024-05-02",
            },
        ),
        LIDocument(
            text=text[cut:],
            metadata={
                "file_path": "/reports/niftac.pdf",
                "file_name": "niftac.pdf",
                "page_label": "2",
                "title": "NIFTAC editorial",
                "date": dt.date(2024, 5, 2),
            },
        ),
        LIDocument(text="The committee met in Quetta on Tuesday.", id_="note-7"),
    ]
    a = make_assistant()
    a.ingest_documents(
        [*pages, Document(doc_id="ours", source="ours:1", title="Ours", text="NACTA was set up in 2009.", content_hash="x")]
    )
    infos = sorted(a.documents(), key=lambda i: i.source)
    assert [i.source for i in infos] == [
        "/reports/niftac.pdf#page=1",
        "/reports/niftac.pdf#page=2",
        "llamaindex:note-7",
        "ours:1",
    ]
    assert [i.title for i in infos] == ["NIFTAC editorial (page 1)", "NIFTAC editorial (page 2)", "note-7", "Ours"]
    assert [i.date for i in infos] == ["2024-05-02", "2024-05-02", None, None]
    assert infos[0].doc_id.startswith("niftac-p1-") and infos[1].doc_id.startswith("niftac-p2-")
    nodes = a.as_retriever(top_k=3).retrieve("Where did the committee meet?")
    assert nodes[0].node.metadata["source"] == "llamaindex:note-7"
    assert nodes[0].node.get_content() == "The committee met in Quetta on Tuesday."


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (LIDocument(text="   ", metadata={"file_path": "/x/empty.txt"}), "/x/empty.txt: LlamaIndex document has no text"),
        (
            LIDocument(text="Some text.", metadata={"file_path": "/x/a.txt", "date": "May 2024"}),
            "/x/a.txt: metadata date 'May 2024' is not an ISO date",
        ),
        ({"text": "a dict"}, "not a Document: builtins.dict"),
    ],
)
def test_bad_documents_are_named_and_leave_the_store_alone(make_assistant, doc, message: str) -> None:  # type: ignore[no-untyped-def]
    a = make_assistant()
    a.ingest_documents([Document(doc_id="ok", source="ok:1", title="OK", text="NACTA was set up in 2009.", content_hash="h")])
    good = LIDocument(text="NIFTAC was approved in May.", metadata={"file_path": "/x/good.txt"})
    with pytest.raises(ReadError, match=message.replace("(", r"\(").replace(")", r"\)")):
        a.ingest_documents([good, doc])  # checked before anything is written
    assert [i.doc_id for i in a.documents()] == ["ok"]


def test_extractive_ask_never_imports_llama_index(corpus_store) -> None:  # type: ignore[no-untyped-def]
    """The facade's LlamaIndex methods and the document intake import llama_index only when used."""
    code = (
        "import sys; from assistant import Assistant, Document\n"
        f"a = Assistant.open(store={str(corpus_store)!r})\n"
        "a.ask('What is NIFTAC?')\n"
        "a.retrieve('What is NIFTAC?')\n"
        "print(sorted(m for m in sys.modules if m.startswith('llama_index')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


def test_cli_ask_never_imports_llama_index(corpus_store) -> None:  # type: ignore[no-untyped-def]
    """`ct-assistant ask` (extractive) with Python's import log on: no llama_index module loads."""
    r = run_cli(
        "ask",
        "What is NIFTAC?",
        "--store",
        str(corpus_store),
        "--json",
        env={"PYTHONPROFILEIMPORTTIME": "1", "CT_ASSISTANT_LLM_BACKEND": "none"},
    )
    assert r.returncode == 0, r.stderr[-2000:]
    imported = [line.rsplit("|", 1)[-1].strip() for line in r.stderr.splitlines() if line.startswith("import time:")]
    assert "assistant.api" in imported and "assistant.answer.extract" in imported  # the log is real
    assert [m for m in imported if m.startswith(("llama_index", "assistant.llamaindex"))] == []
