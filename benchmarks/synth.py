"""Synthetic stores of 1k-100k chunks built from real SciFact chunks and their real MiniLM vectors.

Embedding 100k chunks would take hours on the 2-core machine, so the stores are composed:
  * seed: the project's real SciFact chunks and the vectors MiniLM gave them, cached by the
    ingest benchmark in `<work>/real_chunks.npz` (built on demand if missing);
  * the first chunks of a store are the real chunks themselves (text and vector as ingested);
  * every further chunk is composed of 2-4 sentences drawn from 2 or 3 random real chunks
    (seeded RNG), and its vector is the L2-normalised mean of those real chunks' vectors,
    weighted by how many characters each contributed. The vectors lie among real MiniLM
    vectors (so HNSW sees a realistic distribution); they are not MiniLM embeddings of the
    composed text, so these stores measure latency and memory, not answer quality;
  * chunks are grouped 10 per synthetic document (text = chunks joined by a blank line; exact
    offsets), and written through the project's real components: `Catalog.put_documents`
    (SQLite rows + FTS5 BM25) and `VectorIndex.upsert` (the Chroma collection), i.e. the same
    write calls `Store.write_documents` makes after embedding.
"""

from __future__ import annotations

import logging
import random
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.ingest import CACHE_NAME

log = logging.getLogger(__name__)

CHUNKS_PER_DOC = 10


def load_seed(work: Path) -> dict[str, Any]:
    path = work / CACHE_NAME
    if not path.exists():
        from benchmarks.ingest import run as run_ingest

        log.warning("no %s yet: ingesting 300 SciFact abstracts to make it", path)
        run_ingest(work, 300, slices=1, reingest_baseline=False)
    with np.load(path, allow_pickle=True) as z:
        return {k: z[k] for k in z.files}


def compose(seed: dict[str, Any], n: int, rng_seed: int = 7) -> tuple[list[str], np.ndarray, list[str]]:
    """n chunk texts, their vectors and a title per chunk (see module doc)."""
    from assistant.sentences import split_sentences

    texts = [str(t) for t in seed["texts"]]
    titles = [str(t) for t in seed["titles"]]
    vecs = seed["vecs"].astype(np.float32)
    sents = [[t[s:e] for s, e in split_sentences(t)] or [t] for t in texts]
    rng = random.Random(rng_seed)
    out_t, out_v, out_title = [], np.zeros((n, vecs.shape[1]), dtype=np.float32), []
    for i in range(n):
        if i < len(texts):
            out_t.append(texts[i])
            out_v[i] = vecs[i]
            out_title.append(titles[i])
            continue
        srcs = rng.sample(range(len(texts)), rng.choice((2, 2, 3)))
        parts, weights = [], []
        for j in srcs:
            k = rng.randint(1, 2)
            a = rng.randrange(max(1, len(sents[j]) - k + 1))
            piece = " ".join(sents[j][a : a + k])
            parts.append(piece)
            weights.append(len(piece))
        v = np.average(vecs[srcs], axis=0, weights=weights)
        out_v[i] = v / np.linalg.norm(v)
        out_t.append(" ".join(parts))
        out_title.append(titles[srcs[0]])
    return out_t, out_v, out_title


def build(work: Path, n_chunks: int, *, chroma_host: str | None = None, chroma_port: int = 8000, store: Path | None = None) -> Path:
    """A store of n_chunks synthetic chunks at <work>/synth-<n> (reused if already complete)."""
    from assistant.config import Settings
    from assistant.embed import Embedder
    from assistant.store import Store
    from assistant.types import Chunk, Document
    from ingest.chunk import chunk_id
    from ingest.pipeline import content_hash

    root = store or work / f"synth-{n_chunks}"
    settings = Settings(store=root, chroma_host=chroma_host, chroma_port=chroma_port)
    embedder = Embedder()
    st = Store(settings, embedder, create=True)
    if st.catalog.get_meta("synthetic_chunks") == str(n_chunks) and st.vectors.count() == n_chunks:
        st.close()
        return root
    seed = load_seed(work)
    t0 = time.perf_counter()
    texts, vecs, titles = compose(seed, n_chunks)
    counts = embedder.count_tokens(texts)
    log.warning("composed %d chunks in %.1fs; writing", n_chunks, time.perf_counter() - t0)
    st.begin_write()
    for d0 in range(0, n_chunks, CHUNKS_PER_DOC * 200):
        items, ids, metas, vs, ts = [], [], [], [], []
        for d in range(d0, min(n_chunks, d0 + CHUNKS_PER_DOC * 200), CHUNKS_PER_DOC):
            doc_id = f"syn-{d // CHUNKS_PER_DOC:06d}"
            body, chunks, pos = [], [], 0
            for i in range(d, min(n_chunks, d + CHUNKS_PER_DOC)):
                if body:
                    pos += 2
                start = pos
                body.append(texts[i])
                pos += len(texts[i])
                chunks.append(Chunk(chunk_id=chunk_id(doc_id, texts[i], i), doc_id=doc_id, ordinal=i - d, start=start, end=pos, text=texts[i], n_tokens=counts[i]))
            text = "\n\n".join(body)
            title = f"Synthetic {doc_id}: {titles[d]}"
            doc = Document(doc_id=doc_id, source=f"synthetic:{doc_id}", title=title, text=text, content_hash=content_hash(text, title, None))
            items.append((doc, chunks, ""))
            for c in chunks:
                ids.append(c.chunk_id)
                metas.append({"doc_id": doc_id, "ordinal": c.ordinal})
                ts.append(c.text)
            vs.append(vecs[d : d + len(chunks)])
        # the order of Store.write_documents: vectors first, then the catalog transaction
        st.vectors.upsert(ids, np.concatenate(vs), ts, metas)
        st.catalog.put_documents(items)
    st.end_write()
    st.catalog.set_meta("synthetic_chunks", str(n_chunks))
    log.warning("built %s (%d chunks) in %.1fs", root, n_chunks, time.perf_counter() - t0)
    st.close()
    return root
