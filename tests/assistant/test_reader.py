"""The span reader: windows over long passages, the shipped parameters in ONNX Runtime, the short
answer inside the quoted sentence (JSON, CLI), and sources that disagree, on real files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from assistant.answer import windows as W
from assistant.encode.embed import load_tokenizer, minilm_path

EVERYDAY = Path(__file__).resolve().parents[2] / "evals" / "datasets" / "everyday"


def test_windows_cover_a_long_passage_with_overlap_and_exact_offsets() -> None:
    tok = load_tokenizer(minilm_path())
    passage = " ".join(f"Sentence number {i} names the officer Amara Osei." for i in range(60))
    q = W.question_ids(tok, "Who is the officer?")
    wins = W.windows(tok, q, passage)
    assert len(wins) > 2
    for w in wins:
        assert len(w.ids) <= W.MAX_LEN and w.ids[w.first - 1] == tok.token_to_id("[SEP]")
        assert len(w.ids) == len(w.type_ids) and w.type_ids[w.first] == 1
    # consecutive windows overlap by STRIDE tokens and together reach the passage's end
    assert wins[0].offsets[-W.STRIDE] == wins[1].offsets[0]
    assert wins[-1].offsets[-1][1] == len(passage)
    # a character span maps to tokens and back to the same characters
    start = passage.index("Amara Osei", 300)
    span = next(w.token_of(start, start + len("Amara Osei")) for w in wins if w.token_of(start, start + len("Amara Osei")))
    w = next(w for w in wins if w.token_of(start, start + len("Amara Osei")))
    assert passage[slice(*w.char_span(*span))] == "Amara Osei"


def test_reading_only_the_needed_windows_gives_the_same_margins() -> None:
    """Each sentence that can still pass the gates is read once, in the window where it has most
    context; the other windows are not read, and the windows read give exactly the scores they give
    in a full reading (one window per ONNX call, so no batch changes them)."""
    from assistant.answer.reader import Reading, load_reader
    from assistant.answer.windows import max_context

    text = (EVERYDAY / "veloria_ct_review.txt").read_text(encoding="utf-8")
    passage = (text + "\n") * 4  # ~4,000 characters: several windows
    reader = load_reader("int8")
    question = "How many regional units are there now?"
    full = reader.read(question, [passage])[0]
    ranges = [(1100, 1300), (3000, 3200)]
    part = reader.read(question, [passage], [ranges])[0]
    assert 0 < len(part.windows) <= len(ranges) < len(full.windows)
    assert part.windows == max_context(full.windows, ranges)
    same = Reading([w for w in full.windows if w in part.windows], [lg for w, lg in zip(full.windows, full.logits) if w in part.windows])
    for lo, hi in ranges:
        a, b = same.best(lo, hi), part.best(lo, hi)
        assert a is not None and b is not None and (a.start, a.end) == (b.start, b.end)
        assert abs(a.margin - b.margin) < 1e-5
        # the window chosen holds the range with at least as much context as any other
        chosen = next(w for w in part.windows if w.context_around(lo, hi) is not None)
        assert chosen.context_around(lo, hi) == max(c for w in full.windows if (c := w.context_around(lo, hi)) is not None)
    assert reader.read(question, [passage], [[]])[0].windows == []


def test_bad_parameter_file_is_a_one_line_error(tmp_path: Path) -> None:
    from assistant.answer.reader import ReaderParametersError, SpanReader

    bad = tmp_path / "reader.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ReaderParametersError, match="reader.npz: cannot read"):
        SpanReader("fp32", bad)


@pytest.fixture(scope="module")
def everyday_store(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:  # type: ignore[no-untyped-def]
    from assistant.api import Assistant
    from assistant.config import Settings

    store = tmp_path_factory.mktemp("everyday") / "store"
    a = Assistant(Settings(store=store), embedder)
    assert a.ingest([EVERYDAY]).documents == 2
    a.close()
    return store


@pytest.fixture
def reader_assistant(everyday_store: Path, embedder):  # type: ignore[no-untyped-def]
    from assistant.api import Assistant
    from assistant.config import Settings

    a = Assistant(Settings(store=everyday_store, answer_scorer="reader"), embedder)
    yield a
    a.close()


def test_acronym_answered_with_its_expansion_marked_inside_the_quote(reader_assistant) -> None:  # type: ignore[no-untyped-def]
    a = reader_assistant.ask("What does JICC stand for?")
    assert not a.refused
    c = a.citations[0]
    assert "Joint Intelligence Coordination Cell (JICC)" in c.quote
    assert c.short_answer is not None and "Joint Intelligence Coordination Cell" in c.short_answer
    d = a.to_dict()["citations"][0]
    assert d["quote"][d["answer_start"] : d["answer_end"]] == c.short_answer


def test_how_many_now_answered_with_the_number(reader_assistant) -> None:  # type: ignore[no-untyped-def]
    a = reader_assistant.ask("How many provincial counter-terrorism units are there now?")
    assert not a.refused and "reduced to fourteen" in a.citations[0].quote
    assert a.citations[0].short_answer and "fourteen" in a.citations[0].short_answer


def test_misspelled_question_answered(reader_assistant) -> None:  # type: ignore[no-untyped-def]
    a = reader_assistant.ask("How many transactions did the Finacial Monitoring Unit flag?")
    assert a.spelling == {"Finacial": "Financial"}
    # "It flagged 312 ..." brings the sentence it points back at along as citation [1]
    assert not a.refused and any("312" in (c.short_answer or "") for c in a.citations)


def _sentences_read(a: Any, q: str) -> list[tuple[str, str]]:
    """(doc id, sentence) of every sentence the span reader is asked to read for `q` (spying on the
    one reader of the process for this call only)."""
    contexts = a.retrieve(q)
    documents, idf, ext = a.prepare(q, contexts)
    reader, read = ext.reader, []

    def spy(question, passages, needed=None):  # type: ignore[no-untyped-def]
        read.extend((ctx.doc_id, documents[ctx.doc_id].text[ctx.start + lo : ctx.start + hi]) for ctx, rs in zip(contexts, needed) for lo, hi in rs)
        return type(reader).read(reader, question, passages, needed)

    reader.read = spy
    try:
        ext.rank_reader(q, contexts, documents, idf)
    finally:
        del reader.read
    return read


def test_the_reader_reads_only_the_most_promising_sentences(everyday_store: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """`answer_reader_sentences` bounds what the reader reads (cosine + term coverage pick them);
    the answer of the shipped setting is kept with fewer sentences read."""
    from assistant.api import Assistant
    from assistant.config import Settings

    q = "How many provincial counter-terrorism units are there now?"
    read = {}
    for n in (1, 6, 200):
        a = Assistant(Settings(store=everyday_store, answer_scorer="reader", answer_reader_sentences=n), embedder)
        read[n] = [text for _, text in _sentences_read(a, q)]
        assert "fourteen" in a.ask(q).citations[0].quote
        a.close()
    assert len(read[1]) == 1 < len(read[200]) and len(read[6]) == min(6, len(read[200]))
    assert "fourteen" in read[1][0]


def test_a_question_over_several_documents_reads_that_many_from_each(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """"How do the two reviews ...": the sentence budget applies per document, so the best
    sentences of one document cannot crowd out the other's."""
    from assistant.answer.extract import _first_per_document, asks_several_documents
    from assistant.api import Assistant
    from assistant.config import Settings

    assert asks_several_documents("How do the two editorials see the role of the police?")
    assert asks_several_documents("What do the three reports say about funding?")
    assert not asks_several_documents("Who heads the two agencies?")  # two of something else: one answer may do
    assert asks_several_documents("What changes to NACTA are discussed across the two editorials?")
    assert asks_several_documents("How do the reports differ on funding?")
    assert not asks_several_documents("What church was widespread across Europe at this time?")
    assert not asks_several_documents("How much does each unit spend?")

    class C:
        def __init__(self, doc_id: str) -> None:
            self.doc_id = doc_id

    ranked = [C(d) for d in "aaaab"]
    assert [c.doc_id for c in _first_per_document(ranked, 2)] == ["a", "a", "b"]  # type: ignore[arg-type]

    docs = tmp_path / "docs"
    docs.mkdir()
    src = (EVERYDAY / "border_strategy.txt").read_text(encoding="utf-8")
    (docs / "review_a.txt").write_text(src, encoding="utf-8")
    (docs / "review_b.txt").write_text((EVERYDAY / "veloria_ct_review.txt").read_text(encoding="utf-8"), encoding="utf-8")
    a = Assistant(Settings(store=tmp_path / "store", answer_scorer="reader", answer_reader_sentences=1), embedder)
    a.ingest([docs])
    q = "What do the two reports say about the agency and the cell?"  # "the two reports say" is cut from the analysed question: the original decides
    seen = [doc_id for doc_id, _ in _sentences_read(a, q)]
    retrieved = {c.doc_id for c in a.retrieve(q)}
    a.close()
    assert sorted(seen) == sorted(retrieved) == ["review_a", "review_b"]


def test_fact_the_documents_do_not_give_is_refused(reader_assistant) -> None:  # type: ignore[no-untyped-def]
    for q in ("When was the Provincial Security Board dissolved?", "What does PTA stand for?"):
        a = reader_assistant.ask(q)
        assert a.refused, (q, a.answer)


def test_cli_marks_the_short_answer(everyday_store: Path) -> None:
    from tests.conftest import run_cli

    out = run_cli("ask", "Who heads the JICC?", "--store", str(everyday_store), env={"CT_ASSISTANT_ANSWER_SCORER": "reader"})
    assert out.returncode == 0, out.stderr
    js = run_cli("ask", "Who heads the JICC?", "--store", str(everyday_store), "--json", env={"CT_ASSISTANT_ANSWER_SCORER": "reader"})
    d = json.loads(js.stdout)
    c = d["citations"][0]
    short = c["quote"][c["answer_start"] : c["answer_end"]]
    assert "Amara Osei" in short
    # the text output shows the quote with the short answer marked inside it
    assert short in out.stdout and out.stdout.count(short) >= 1


def _strategy_and_copy(folder: Path, assistant, old: str, new: str):  # type: ignore[no-untyped-def]
    """`assistant` with the border strategy (strategy_a) and a copy where `old` reads `new` (strategy_b) ingested from `folder`."""
    src = (EVERYDAY / "border_strategy.txt").read_text(encoding="utf-8")
    folder.mkdir()
    (folder / "strategy_a.txt").write_text(src, encoding="utf-8")
    (folder / "strategy_b.txt").write_text(src.replace(old, new), encoding="utf-8")
    assistant.ingest([folder])
    return assistant


def test_two_people_of_the_same_rank_disagree(tmp_path: Path, make_assistant) -> None:  # type: ignore[no-untyped-def]
    """Short answers sharing a title ("Colonel ...") are compared by what is not shared: two
    colonels are two answers; the name and a shorter form of it are one."""
    q = "Who is the chief of the National Border Management Agency?"
    a = _strategy_and_copy(tmp_path / "docs", make_assistant(answer_scorer="reader"), "Colonel Lina Farouk", "Colonel Omar Haddad")
    ans = a.ask(q)
    assert ans.conflicts and "Lina Farouk" in ans.conflicts[0] and "Omar Haddad" in ans.conflicts[0]
    assert {c.doc_id for c in ans.citations} == {"strategy_a", "strategy_b"}
    b = _strategy_and_copy(tmp_path / "same", make_assistant(store=tmp_path / "store2", answer_scorer="reader"), "Colonel Lina Farouk", "Farouk")
    assert not b.ask(q).conflicts


def test_sources_that_disagree_are_named_and_cited(tmp_path: Path, make_assistant) -> None:  # type: ignore[no-untyped-def]
    docs = tmp_path / "docs"
    a = _strategy_and_copy(docs, make_assistant(answer_scorer="reader"), "23 crossing points", "31 crossing points")
    ans = a.ask("How many crossing points does the border agency operate?")
    assert ans.conflicts and "Sources disagree" in ans.conflicts[0]
    assert "23" in ans.conflicts[0] and "31" in ans.conflicts[0]
    assert {c.doc_id for c in ans.citations} == {"strategy_a", "strategy_b"}
    # streamed, the note comes first and the pieces make the same answer
    *pieces, final = list(a.ask_stream("How many crossing points does the border agency operate?"))
    assert pieces[0] == ans.conflicts[0] and "".join(pieces) == final.answer == ans.answer
    # a question over both documents asks what they say, not one value: no note
    assert not a.ask("What do both strategies say about crossing points?").conflicts
    # the same text twice is no conflict
    twin = tmp_path / "twin"
    twin.mkdir()
    for name in ("copy_a.txt", "copy_b.txt"):
        shutil.copy(docs / "strategy_a.txt", twin / name)
    b = make_assistant(store=tmp_path / "store2", answer_scorer="reader")
    b.ingest([twin])
    assert not b.ask("How many crossing points does the border agency operate?").conflicts
