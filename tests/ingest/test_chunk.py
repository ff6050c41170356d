from __future__ import annotations

from assistant.encode.embed import load_tokenizer, minilm_path
from ingest.chunk import chunk_id, chunk_text
from ingest.read import read_file
from tests.conftest import CORPUS


def _counter():  # type: ignore[no-untyped-def]
    tok = load_tokenizer(minilm_path())

    def count(texts):  # type: ignore[no-untyped-def]
        return [len(e.ids) for e in tok.encode_batch(list(texts), add_special_tokens=False)]

    def offsets(text):  # type: ignore[no-untyped-def]
        return list(tok.encode(text, add_special_tokens=False).offsets)

    return tok, count, offsets


def test_corpus_chunks_are_exact_and_fit_the_model_window() -> None:
    tok, count, offsets = _counter()
    for path in sorted(CORPUS.glob("*.txt")):
        doc = read_file(path)
        chunks = chunk_text("d", doc.text, count, 200, 1, offsets)
        assert chunks
        for c in chunks:
            assert doc.text[c.start : c.end] == c.text
            real = len(tok.encode(c.text, add_special_tokens=False).ids)
            assert real <= 200, (real, c.text[:60])
        # every character of text is inside some chunk (no text lost between chunks)
        covered = set()
        for c in chunks:
            covered.update(range(c.start, c.end))
        assert all(i in covered or doc.text[i].isspace() for i in range(len(doc.text)))


def test_overlong_sentence_is_cut_at_word_boundaries() -> None:
    tok, count, offsets = _counter()
    text = " ".join(f"word{i}" for i in range(600)) + "."
    chunks = chunk_text("d", text, count, 100, 1, offsets)
    assert len(chunks) > 3
    for c in chunks:
        assert len(tok.encode(c.text, add_special_tokens=False).ids) <= 100
        assert text[c.start : c.end] == c.text
        assert not c.text.startswith(" ") and (c.end == len(text) or text[c.end] == " ")


def test_ids_are_stable_and_content_based() -> None:
    _, count, offsets = _counter()
    a = chunk_text("doc", "Alpha one. Beta two.", count, 200, 0, offsets)
    b = chunk_text("doc", "Alpha one. Beta two.", count, 200, 0, offsets)
    assert [c.chunk_id for c in a] == [c.chunk_id for c in b]
    assert chunk_id("doc", "x") != chunk_id("other", "x") != chunk_id("doc", "y")
    # repeated identical chunk text in one document still gets distinct ids
    rep = chunk_text("doc", "Same sentence here.\n\nSame sentence here.", count, 5, 0, offsets)
    assert len({c.chunk_id for c in rep}) == len(rep) == 2


def test_overlap_repeats_last_sentence() -> None:
    _, count, offsets = _counter()
    text = " ".join(f"Sentence number {i} is here." for i in range(30))
    chunks = chunk_text("d", text, count, 40, 1, offsets)
    assert len(chunks) > 2
    assert all(chunks[i + 1].start < chunks[i].end for i in range(len(chunks) - 1))
