"""Ingest throughput, re-ingest and SciFact nDCG@10: the project vs LlamaIndex defaults, interleaved.

Both pipelines get the same documents (title, blank line, abstract) in the same order, in
`slices` interleaved slices (project slice 1, baseline slice 1, project slice 2, ...), so load
changes on a shared machine hit both alike. Model loading is outside the timed region for both.

Baseline = `VectorStoreIndex.from_documents(docs, storage_context=StorageContext.from_defaults(
vector_store=ChromaVectorStore(chroma_collection=...)), embed_model=HuggingFaceEmbedding(
model_name=str(minilm_path())))`: SentenceSplitter 1,024 tokens / 200 overlap, embed batch 10.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import SciDoc, Section, median, ndcg_at_10, scifact_subset

log = logging.getLogger(__name__)

CACHE_NAME = "real_chunks.npz"


def project_docs(docs: list[SciDoc]) -> list[Any]:
    from assistant.types import Document
    from ingest.pipeline import content_hash

    return [
        Document(doc_id=f"scifact-{d.sid}", source=f"scifact:{d.sid}", title=d.title, text=d.text, content_hash=content_hash(d.text, d.title, None))
        for d in docs
    ]


def baseline_docs(docs: list[SciDoc]) -> list[Any]:
    from llama_index.core import Document as LIDocument

    return [LIDocument(text=d.text, id_=f"scifact-{d.sid}") for d in docs]


class Baseline:
    """LlamaIndex defaults on a Chroma collection of its own."""

    def __init__(self, path: Path, collection: str = "li_baseline") -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding

        from assistant.encode.embed import minilm_path

        self.client = chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))
        self.collection = self.client.get_or_create_collection(collection)
        self.embed_model = HuggingFaceEmbedding(model_name=str(minilm_path()))
        self.embed_model.get_text_embedding("warm up")
        self.index: Any = None

    def ingest(self, docs: list[Any]) -> None:
        from llama_index.core import StorageContext, VectorStoreIndex
        from llama_index.vector_stores.chroma import ChromaVectorStore

        store = ChromaVectorStore(chroma_collection=self.collection)
        self.index = VectorStoreIndex.from_documents(
            docs, storage_context=StorageContext.from_defaults(vector_store=store), embed_model=self.embed_model
        )

    def open_index(self) -> Any:
        from llama_index.core import VectorStoreIndex
        from llama_index.vector_stores.chroma import ChromaVectorStore

        return VectorStoreIndex.from_vector_store(ChromaVectorStore(chroma_collection=self.collection), embed_model=self.embed_model)

    def ranked_docs(self, question: str, k: int = 20) -> list[str]:
        index = self.index or self.open_index()
        return [n.node.ref_doc_id or "" for n in index.as_retriever(similarity_top_k=k).retrieve(question)]


def baseline_token_counts(docs: list[Any]) -> tuple[int, int, int]:
    """(nodes, input tokens, embedded tokens) of what from_documents embeds: the default splitter's
    nodes, in embed mode, with MiniLM's truncation at 256 word pieces (incl. [CLS]/[SEP])."""
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.schema import MetadataMode

    from assistant.encode.embed import Embedder

    nodes = SentenceSplitter().get_nodes_from_documents(docs)
    counts = Embedder().count_tokens([n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes])
    return len(nodes), sum(c + 2 for c in counts), sum(min(c + 2, 256) for c in counts)


def embedded_tokens(assistant: Any) -> int:
    """Word pieces the project's encoder ran on: every stored sentence once, with [CLS]/[SEP],
    truncated at 256 (chunk vectors are composed from these, not embedded)."""
    db = assistant.store().catalog.db
    texts = dict(db.execute("SELECT doc_id, text FROM documents"))
    sents = [texts[d][a:b] for d, a, b in db.execute("SELECT doc_id, start, end FROM sentences")]
    return sum(min(n + 2, 256) for n in assistant.embedder.count_tokens(sents))


def cache_real_chunks(assistant: Any, out: Path) -> int:
    """Save the project's real chunks (texts, vectors) and their sentences (texts, vectors as
    stored at ingest): the seed of the synthetic stores."""
    from assistant.store.sentvec import chunk_spans

    store = assistant.store()
    ids = sorted(store.catalog.chunk_ids())
    chunks = store.catalog.chunks(ids)
    docs = store.catalog.documents_by_ids({c.doc_id for c in chunks.values()})
    vecs: dict[str, Any] = {}
    for i in range(0, len(ids), 2000):
        got = store.vectors.collection.get(ids=ids[i : i + 2000], include=["embeddings"])
        vecs.update(zip(got["ids"], got["embeddings"], strict=True))
    ids = [i for i in ids if i in vecs]
    sent_vecs = {d: store.catalog.sentence_vectors(d) for d in docs}
    s_texts, s_vecs, s_chunk = [], [], []
    for n, cid in enumerate(ids):
        c = chunks[cid]
        for sp in chunk_spans(docs[c.doc_id], c):
            v = sent_vecs[c.doc_id].get(sp)
            if v is not None:
                s_texts.append(docs[c.doc_id].text[sp[0] : sp[1]])
                s_vecs.append(v)
                s_chunk.append(n)
    np.savez_compressed(
        out,
        ids=np.array(ids),
        texts=np.array([chunks[i].text for i in ids], dtype=object),
        titles=np.array([docs[chunks[i].doc_id].title for i in ids], dtype=object),
        vecs=np.stack([np.asarray(vecs[i], dtype=np.float32) for i in ids]),
        sent_texts=np.array(s_texts, dtype=object),
        sent_vecs=np.stack(s_vecs).astype(np.float16) if s_vecs else np.zeros((0, 384), np.float16),
        sent_chunk=np.array(s_chunk, dtype=np.int32),
        precision=np.array(assistant.embedder.precision),
    )
    return len(ids)


def run(work: Path, n_docs: int | None, slices: int = 4, reingest_baseline: bool = True) -> list[Section]:
    from assistant.api import Assistant
    from assistant.config import Settings
    from assistant.retrieve.hybrid import HybridRetriever

    docs, queries = scifact_subset(n_docs)
    tag = f"{len(docs)}"
    root = work / f"ingest-{tag}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    pdocs, bdocs = project_docs(docs), baseline_docs(docs)

    # --- models loaded outside the timed region ------------------------------------
    t = time.perf_counter()
    a = Assistant(Settings(store=root / "project"))
    a.embedder.embed(["warm up"] * 16)  # creates the ONNX Runtime session ingest uses (graph exported on first use)
    load_project = time.perf_counter() - t
    t = time.perf_counter()
    base = Baseline(root / "baseline-chroma")
    load_baseline = time.perf_counter() - t

    # --- first ingest, interleaved slices ---------------------------------------------
    bounds = np.linspace(0, len(docs), slices + 1).astype(int)
    tp, tb = [], []
    for i in range(slices):
        lo, hi = bounds[i], bounds[i + 1]
        t = time.perf_counter()
        a.ingest_documents(pdocs[lo:hi])
        tp.append(time.perf_counter() - t)
        t = time.perf_counter()
        base.ingest(bdocs[lo:hi])
        tb.append(time.perf_counter() - t)
        log.warning("slice %d/%d: project %.1fs baseline %.1fs", i + 1, slices, tp[-1], tb[-1])
    n_docs_real, n_chunks = a.store().catalog.counts()
    emb_tokens = embedded_tokens(a)
    b_nodes, b_in_tokens, b_tokens = baseline_token_counts(bdocs)
    t_p, t_b = sum(tp), sum(tb)

    # --- quality: SciFact nDCG@10 --------------------------------------------------------
    retr = HybridRetriever(a.store(), candidates=a.settings.candidates, rrf_k=a.settings.rrf_k)
    base.index = base.open_index()  # before the baseline's re-ingest (which duplicates every node)
    nd_h, nd_d, nd_b = [], [], []
    for claim, rel in queries.values():
        rel_ids = {f"scifact-{r}" for r in rel}
        nd_h.append(ndcg_at_10([c.doc_id for c in retr.retrieve(claim, 40)], rel_ids))
        nd_d.append(ndcg_at_10([c.doc_id for c in retr.retrieve(claim, 40, mode="dense")], rel_ids))
        nd_b.append(ndcg_at_10(base.ranked_docs(claim), rel_ids))

    # --- re-ingest of the unchanged corpus --------------------------------------------
    t = time.perf_counter()
    rep = a.ingest_documents(pdocs)
    t_p_re = time.perf_counter() - t
    t_b_re = None
    if reingest_baseline:
        t = time.perf_counter()
        base.ingest(bdocs)
        t_b_re = time.perf_counter() - t
    b_count_after = base.collection.count()

    cached = cache_real_chunks(a, work / CACHE_NAME) if n_docs is None or not (work / CACHE_NAME).exists() or len(docs) >= _cached_docs(work) else None
    a.close()

    s = Section("ingest")
    s.info = {
        "docs": len(docs),
        "queries": len(queries),
        "project_chunks": n_chunks,
        "baseline_nodes": b_nodes,
        "baseline_input_tokens": b_in_tokens,
        "baseline_embedded_tokens_after_truncation": b_tokens,
        "project_embedded_tokens": int(emb_tokens),
        "slices_s": {"project": tp, "baseline": tb},
        "model_load_s": {"project": load_project, "baseline": load_baseline},
        "project_precision": a.embedder.precision,
        "real_chunks_cached": cached,
        "baseline_chroma_entries_after_reingest": b_count_after,
        "reingest_unchanged": rep.unchanged,
        "reingest_embedded": rep.embedded,
    }
    s.add("documents/s", len(docs) / t_p, len(docs) / t_b, "docs/s", ">= 2x", (len(docs) / t_p) / (len(docs) / t_b) >= 2, note=f"embed_precision {a.embedder.precision}")
    s.add("embedded tokens/s", emb_tokens / t_p, b_tokens / t_b, "tok/s")
    s.add("wall time", t_p, t_b, "s", higher_is_better=False)
    s.add("SciFact nDCG@10 (project hybrid)", float(np.mean(nd_h)), float(np.mean(nd_b)), "", ">= baseline", float(np.mean(nd_h)) >= float(np.mean(nd_b)))
    s.add("SciFact nDCG@10 (project dense only)", float(np.mean(nd_d)), float(np.mean(nd_b)), "")
    r = Section("re-ingest")
    r.add("re-ingest unchanged corpus", t_p_re, t_b_re, "s", higher_is_better=False, note=f"baseline re-adds: {b_count_after} entries")
    r.add("first ingest / re-ingest (project)", t_p / t_p_re, None, "x", ">= 50x", t_p / t_p_re >= 50)
    r.info = {"project_first_s": t_p, "project_reingest_s": t_p_re, "baseline_first_s": t_b, "baseline_reingest_s": t_b_re}
    return [s, r]


def _cached_docs(work: Path) -> int:
    try:
        with np.load(work / CACHE_NAME, allow_pickle=True) as z:
            return len({str(t) for t in z["titles"]})
    except (OSError, KeyError, ValueError):
        return 0


def median_or_none(v: list[float]) -> float | None:
    return median(v) if v else None
