"""Sentence vectors embedded once at ingest: stored, reused, composed into chunk vectors, used by answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.store.sentvec import chunk_spans, compose
from tests.conftest import CORPUS

QUESTION = "How much did the KP cabinet authorize for police equipment?"


def test_every_chunk_sentence_is_stored_and_equals_a_live_embedding(fresh_corpus) -> None:  # type: ignore[no-untyped-def]
    store = fresh_corpus.store()
    cat = store.catalog
    chunks = cat.chunks(sorted(cat.chunk_ids()))
    docs = cat.documents_by_ids({c.doc_id for c in chunks.values()})
    got = store.vectors.collection.get(ids=list(chunks), include=["embeddings"])
    in_chroma = dict(zip(got["ids"], got["embeddings"], strict=True))
    for c in chunks.values():
        doc = docs[c.doc_id]
        spans = chunk_spans(doc, c)
        stored = cat.sentence_vectors(c.doc_id, spans)
        assert set(stored) == set(spans)
        texts = [doc.text[a:b] for a, b in spans]
        live = fresh_corpus.embedder.embed(texts)
        vecs = np.stack([stored[sp] for sp in spans])
        # float16 storage; int8 quantises activations per batch, so a sentence's vector depends a little on its batch
        assert np.min(np.sum(live * vecs, axis=1)) > (0.999 if fresh_corpus.embedder.precision == "fp32" else 0.98)
        # the chunk's vector in Chroma is composed from them (token-weighted mean)
        expected = compose(vecs, fresh_corpus.embedder.count_tokens(texts))
        assert float(np.asarray(in_chroma[c.chunk_id]) @ expected) > 0.999


def test_answers_use_stored_vectors_without_embedding_sentences(fresh_corpus, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    before = fresh_corpus.ask(QUESTION)
    assert not before.refused and "Rs567.7 million" in before.answer

    def no_live(texts):  # type: ignore[no-untyped-def]
        raise AssertionError(f"embedded at answer time: {list(texts)[:2]}")

    monkeypatch.setattr(fresh_corpus.embedder, "embed_cached", no_live)
    after = fresh_corpus.ask(QUESTION)
    assert after.answer == before.answer


def test_store_without_sentence_vectors_still_answers_the_same(fresh_corpus) -> None:  # type: ignore[no-untyped-def]
    before = fresh_corpus.ask(QUESTION)
    fresh_corpus.store().catalog.db.execute("DELETE FROM sentences")  # a store written before sentence vectors
    fresh_corpus.embedder._sentence_cache.clear()
    after = fresh_corpus.ask(QUESTION)
    assert after.answer == before.answer
    assert [c.quote for c in after.citations] == [c.quote for c in before.citations]


def test_changed_document_embeds_only_its_new_sentences(make_assistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "docs"
    folder.mkdir()
    f = folder / "brief.txt"
    body = [
        "The provincial CTD opened a forensic laboratory in March.",
        "It trained two hundred investigators in evidence handling.",
        "The federal government promised additional funding next year.",
    ]
    f.write_text(" ".join(body) + "\n")
    a = make_assistant()
    a.ingest([folder])
    embedded: list[str] = []
    real = a.embedder.embed

    def spy(texts, *args, **kw):  # type: ignore[no-untyped-def]
        embedded.extend(texts)
        return real(texts, *args, **kw)

    monkeypatch.setattr(a.embedder, "embed", spy)
    body[1] = "It trained three hundred investigators in evidence handling."
    f.write_text(" ".join(body) + "\n")
    report = a.ingest([folder])
    assert report.updated == 1
    assert embedded == [body[1]]
    doc_id = a.documents()[0].doc_id
    stored = a.store().catalog.sentence_vectors(doc_id)
    text = a.document(doc_id).text
    assert sorted(text[s:e] for s, e in stored) == sorted(body)
    a.store().remove_documents([doc_id])
    assert a.store().catalog.db.execute("SELECT count(*) FROM sentences").fetchone()[0] == 0


def test_dense_search_ranks_chunks_by_their_best_sentence(fresh_corpus) -> None:  # type: ignore[no-untyped-def]
    store = fresh_corpus.store()
    qv = fresh_corpus.embedder.embed_query(QUESTION)
    hits = store.dense_search(qv, 8, None)
    assert len(hits) == 8 and [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    sents = store.catalog.chunk_sentence_vectors([c for c, _ in hits])
    for cid, score in hits:
        assert score == pytest.approx(float(np.max(sents[cid] @ qv)), abs=1e-6)
    assert "Rs567.7 million" in store.catalog.chunks([hits[0][0]])[hits[0][0]].text
    # a store without sentence vectors keeps the chunk vectors' order and cosines
    store.catalog.db.execute("DELETE FROM sentences")
    assert store.dense_search(qv, 8, None) == store.vectors.query(qv, 8, None)
