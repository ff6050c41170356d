"""Paged documents through the LlamaIndex adapter: nodes of a PDF carry the page (real PDFs, MiniLM, Chroma)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import DATA


@pytest.mark.slow
def test_pdf_nodes_carry_their_page(make_assistant, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "pdfs"
    folder.mkdir()
    shutil.copy(DATA / "pdf" / "security_report.pdf", folder / "security_report.pdf")
    a = make_assistant()
    report = a.ingest([folder])
    assert report.documents == 1 and not report.failed
    doc = a.document("security_report")
    question = "How many terrorist attacks were recorded in 2024?"

    nodes = a.as_retriever(top_k=3).retrieve(question)
    assert nodes
    for n in nodes:
        start, end = n.node.start_char_idx, n.node.end_char_idx
        first = doc.pages_of(start, end)[0]
        assert (n.node.metadata["page"], n.node.metadata["page_label"]) == (first.n, first.label)

    response = a.as_query_engine().query(question)
    cited = [n for n in response.source_nodes if "521" in n.node.get_content()]
    assert cited, [n.node.get_content() for n in response.source_nodes]
    meta = cited[0].node.metadata
    assert (meta["page"], meta["page_label"]) == (2, "ii")
