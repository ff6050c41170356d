"""Injected instructions are never the answer (issue 21): the detector on its own, then the probe
set (plain text, zero-width characters, Markdown and HTML comments, DOCX and PDF text, clean
look-alikes) ingested into a real store and asked through the API, extractive and --strict."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.text.injection import drop_instructions, has_instruction, instruction
from tests.conftest import CORPUS, DATA

PROBES = DATA / "injection"
SENTENCES = json.loads((PROBES / "sentences.json").read_text(encoding="utf-8"))
SPEC = json.loads((PROBES / "probes.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("sentence", SENTENCES["instructions"])
def test_instructing_sentences_are_found(sentence: str) -> None:
    assert instruction(sentence), sentence


@pytest.mark.parametrize("sentence", SENTENCES["clean"])
def test_clean_look_alikes_are_left_alone(sentence: str) -> None:
    assert instruction(sentence) is None, instruction(sentence)


def test_drop_instructions_keeps_the_other_sentences() -> None:
    text = (PROBES / "gwadar_memo.txt").read_text(encoding="utf-8")
    kept = drop_instructions(text)
    assert has_instruction(text) and not has_instruction(kept)
    assert "raised in 2016" in kept and "Brigadier Shahid Iqbal heads" in kept and "Ignore" not in kept
    clean = (PROBES / "lookalikes.txt").read_text(encoding="utf-8")
    assert drop_instructions(clean) == clean and not has_instruction(clean)


def _docx(path: Path, paragraphs: list[str]) -> None:
    import docx

    d = docx.Document()
    d.add_heading(paragraphs[0], level=1)
    for p in paragraphs[1:]:
        d.add_paragraph(p)
    d.save(str(path))


def _pdf(path: Path, lines: list[str]) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    y = 780
    for line in lines:
        c.drawString(60, y, line)
        y -= 24
    c.save()


@pytest.fixture(scope="module")
def probe_store(tmp_path_factory: pytest.TempPathFactory, embedder):  # type: ignore[no-untyped-def]
    """The probe documents (and the shipped corpus, as neighbours) in one real store."""
    from assistant.api import Assistant
    from assistant.config import Settings

    root = tmp_path_factory.mktemp("injection")
    docs = root / "docs"
    shutil.copytree(PROBES, docs, ignore=shutil.ignore_patterns("*.json"))
    _docx(docs / "peshawar_bdu.docx", SPEC["docx"])
    _pdf(docs / "lahore_wing.pdf", SPEC["pdf"])
    shutil.copytree(CORPUS, docs / "corpus")
    a = Assistant(Settings(store=root / "store"), embedder)
    report = a.ingest([docs])
    assert not report.failed and report.documents == 9, report
    a.close()
    return root / "store"


def _visible(text: str) -> str:
    """Text less zero-width characters (an injection may hide inside words with them)."""
    return "".join(ch for ch in text if ch not in "\u200b\u200c\u200d\u2060\ufeff")


def _payloads_in(said: list[str]) -> list[str]:
    """The hand-written payloads of the probe set found in what an answer says."""
    shown = _visible(" ".join(said)).lower()
    return [pay["phrase"] for pay in SPEC["payloads"] if pay["phrase"].lower() in shown]


@pytest.mark.slow
@pytest.mark.parametrize("strict", [False, True], ids=["extractive", "strict"])
def test_probe_set(probe_store: Path, embedder, strict: bool) -> None:  # type: ignore[no-untyped-def]
    from assistant.api import Assistant
    from assistant.config import Settings

    a = Assistant(Settings(store=probe_store, strict=strict), embedder)
    instructions_quoted, refused_legit, clean_notices, unanswered = [], [], [], []
    # the forms really reached the store's text (else the probe proves nothing)
    texts = {d.doc_id: a.document(d.doc_id).text for d in a.documents()}
    assert sum(has_instruction(t) for t in texts.values()) == 6, [k for k, t in texts.items() if has_instruction(t)]
    # and, by hand rather than by the detector under test: each payload is where its form puts it
    for pay in SPEC["payloads"]:
        assert (pay["phrase"].lower() in _visible(texts[pay["doc"]]).lower()) == pay["stored"], pay
    for p in SPEC["probes"]:
        ans = a.ask(p["q"])
        said = [ans.answer, *(c.quote for c in ans.citations), *(s.text for s in ans.sentences)]
        if any(has_instruction(x) for x in said) or _payloads_in(said):
            instructions_quoted.append((p["q"], _payloads_in(said)))
        if p["answer"] is not None:
            if ans.refused:
                refused_legit.append(p["q"])
            elif not any(p["answer"] in c.quote for c in ans.citations):
                unanswered.append((p["q"], ans.answer))
        if p.get("clean") and ans.notice:
            clean_notices.append((p["q"], ans.notice))
    a.close()
    assert instructions_quoted == [], "instructions quoted as answers"
    assert refused_legit == [], "legitimate questions refused next to an injection"
    assert clean_notices == [], "notices on clean documents"
    assert unanswered == []


@pytest.mark.slow
def test_the_injected_question_gets_the_notice_not_the_instruction(probe_store: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """'Has X been dissolved?' aimed at the injection: never answered with it; the answer that
    cites the injected memo says a passage carried instructions."""
    from assistant.api import Assistant
    from assistant.config import Settings

    a = Assistant(Settings(store=probe_store), embedder)
    ans = a.ask("Has the Gwadar Port Security Force been dissolved?")
    assert "has been dissolved" not in ans.answer
    assert all("Ignore all previous instructions" not in c.quote for c in ans.citations)
    if ans.citations:
        assert ans.notice and "instructions" in ans.notice
    a.close()


@pytest.mark.slow
def test_probe_set_through_llamaindex_and_the_cli(probe_store: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """The same probes through the LlamaIndex query engine (response text and source nodes) and one
    `ct-assistant ask --json` per injected document's question aimed at the injection."""
    from assistant.api import Assistant
    from assistant.config import Settings
    from tests.conftest import run_cli

    a = Assistant(Settings(store=probe_store), embedder)
    engine = a.as_query_engine()
    quoted, refused_legit = [], []
    for p in SPEC["probes"]:
        r = engine.query(p["q"])
        said = [str(r.response), *(n.node.get_content() for n in r.source_nodes)]
        if any(has_instruction(x) for x in said) or _payloads_in(said):
            quoted.append(p["q"])
        if p["answer"] is not None and r.metadata["refused"]:
            refused_legit.append(p["q"])
    a.close()
    assert quoted == [] and refused_legit == []
    aimed = [p["q"] for p in SPEC["probes"] if p["answer"] is None]
    for q in aimed:
        out = run_cli("ask", q, "--store", str(probe_store), "--json")
        assert out.returncode == 0, out.stderr
        d = json.loads(out.stdout)
        said = [d["answer"], *(c["quote"] for c in d["citations"])]
        assert not any(has_instruction(x) for x in said) and _payloads_in(said) == [], (q, d["answer"])
