"""Synthetic stores of 1k-100k chunks built from real SciFact chunks and their real MiniLM vectors.

Embedding 100k chunks would take hours on the 2-core machine, so the stores are composed:
  * seed: the project's real SciFact chunks and the vectors MiniLM gave them, cached by the
    ingest benchmark in `<work>/real_chunks.npz` (built on demand if missing);
  * the first chunks of a store are the real chunks themselves (text and vector as ingested);
  * every further chunk is composed of 2-6 sentences drawn from 2 or 3 random real chunks
    (seeded RNG); its sentences keep the vectors MiniLM gave them at ingest, and its vector is
    composed from them exactly as ingest composes chunk vectors (`assistant.store.sentvec`). So the
    vectors are real MiniLM sentence vectors and the project's own chunk rule, and the answer
    path finds the sentence vectors it would find in a real store;
  * chunks are grouped 10 per synthetic document (text = chunks joined by a blank line; exact
    offsets), and written through the project's real components: `Catalog.put_documents`
    (SQLite rows + FTS5 BM25) and `VectorIndex.upsert` (the Chroma collection), i.e. the same
    write calls `Store.write_documents` makes after embedding.
"""

from __future__ import annotations

import itertools
import logging
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.ingest import CACHE_NAME

log = logging.getLogger(__name__)

CHUNKS_PER_DOC = 10


def load_seed(work: Path) -> dict[str, Any]:
    path = work / CACHE_NAME
    if path.exists():
        with np.load(path, allow_pickle=True) as z:
            seed = {k: z[k] for k in z.files}
        if "sent_texts" in seed:
            return seed
        log.warning("%s predates sentence vectors: rebuilding it", path)
    from benchmarks.ingest import run as run_ingest

    log.warning("no usable %s: ingesting 300 SciFact abstracts to make it", path)
    run_ingest(work, 300, slices=1, reingest_baseline=False)
    with np.load(path, allow_pickle=True) as z:
        return {k: z[k] for k in z.files}


#: a composed chunk: text, vector, title, and its sentences as (start, end, vector) within the text
Composed = tuple[str, np.ndarray, str, list[tuple[int, int, np.ndarray]]]


def compose(seed: dict[str, Any], n: int, rng_seed: int = 7) -> Iterator[Composed]:
    """n chunks (see module doc): the real ones, then mixtures of their sentences; generated one
    at a time, so a 100k store is written in batches without holding all of it in memory."""
    from assistant.encode.embed import Embedder
    from assistant.store.sentvec import compose as compose_vec

    texts = [str(t) for t in seed["texts"]]
    titles = [str(t) for t in seed["titles"]]
    vecs = seed["vecs"].astype(np.float32)
    s_texts = [str(t) for t in seed["sent_texts"]]
    s_vecs = seed["sent_vecs"]  # float16 rows, viewed (not copied) by every chunk that uses them
    s_tokens = Embedder().count_tokens(s_texts)
    sents: list[list[int]] = [[] for _ in texts]
    for j, c in enumerate(seed["sent_chunk"]):
        sents[int(c)].append(j)

    def located(text: str, idx: list[int]) -> list[tuple[int, int, np.ndarray]]:
        out, pos = [], 0
        for j in idx:
            a = text.index(s_texts[j], pos)
            out.append((a, a + len(s_texts[j]), s_vecs[j]))
            pos = a + len(s_texts[j])
        return out

    rng = random.Random(rng_seed)
    usable = [i for i in range(len(texts)) if sents[i]]
    for i in range(n):
        if i < len(texts):
            yield texts[i], vecs[i], titles[i], located(texts[i], sents[i])
            continue
        picked: list[int] = []
        for src in rng.sample(usable, rng.choice((2, 2, 3))):
            k = rng.randint(1, 2)
            a = rng.randrange(max(1, len(sents[src]) - k + 1))
            picked += sents[src][a : a + k]
        text = " ".join(s_texts[j] for j in picked)
        vec = compose_vec(s_vecs[picked], [max(s_tokens[j], 1) for j in picked])  # the project's rule for chunk vectors
        yield text, vec, titles[int(seed["sent_chunk"][picked[0]])], located(text, picked)


def build(
    work: Path, n_chunks: int, *, chroma_host: str | None = None, chroma_port: int = 8000, store: Path | None = None, settings: Any = None
) -> Path:
    """A store of n_chunks synthetic chunks at <work>/synth-<n> (reused if already complete);
    `settings` (e.g. a catalog_url) replace the ones made from the other arguments."""
    from assistant.config import Settings
    from assistant.encode.embed import Embedder
    from assistant.store.store import Store
    from assistant.types import Chunk, Document
    from ingest.chunk import chunk_id
    from ingest.pipeline import content_hash

    root = store or work / f"synth-{n_chunks}"
    settings = settings or Settings(store=root, chroma_host=chroma_host, chroma_port=chroma_port)
    embedder = Embedder()
    st = Store(settings, embedder, create=True)
    if st.catalog.get_meta("synthetic_chunks") == str(n_chunks) and st.vectors.count() == n_chunks:
        st.close()
        return root
    seed = load_seed(work)
    # the store holds the seed's vectors: record their precision (seeds from before it was saved are fp32)
    st.catalog.set_meta("embed_precision", str(seed["precision"]) if "precision" in seed else "fp32")
    t0 = time.perf_counter()
    chunks_in = compose(seed, n_chunks)
    st.begin_write()
    for d0 in range(0, n_chunks, CHUNKS_PER_DOC * 200):
        batch = list(itertools.islice(chunks_in, min(n_chunks, d0 + CHUNKS_PER_DOC * 200) - d0))
        counts = embedder.count_tokens([c[0] for c in batch])
        items, ids, metas, vs, ts = [], [], [], [], []
        sentences: dict[str, dict[tuple[int, int], np.ndarray]] = {}
        for d in range(0, len(batch), CHUNKS_PER_DOC):
            doc_id = f"syn-{(d0 + d) // CHUNKS_PER_DOC:06d}"
            body, chunks, pos, sent = [], [], 0, {}
            for i in range(d, min(len(batch), d + CHUNKS_PER_DOC)):
                if body:
                    pos += 2
                start = pos
                text = batch[i][0]
                body.append(text)
                pos += len(text)
                chunks.append(Chunk(chunk_id=chunk_id(doc_id, text, d0 + i), doc_id=doc_id, ordinal=i - d, start=start, end=pos, text=text, n_tokens=counts[i]))
                sent.update(((start + a, start + b), v) for a, b, v in batch[i][3])
            text = "\n\n".join(body)
            title = f"Synthetic {doc_id}: {batch[d][2]}"
            doc = Document(doc_id=doc_id, source=f"synthetic:{doc_id}", title=title, text=text, content_hash=content_hash(text, title, None))
            items.append((doc, chunks, ""))
            sentences[doc_id] = sent
            for c in chunks:
                ids.append(c.chunk_id)
                metas.append({"doc_id": doc_id, "ordinal": c.ordinal})
                ts.append(c.text)
            vs.append(np.stack([batch[i][1] for i in range(d, d + len(chunks))]))
        # the order of Store.write_documents: vectors first, then the catalog transaction
        st.vectors.upsert(ids, np.concatenate(vs), ts, metas)
        st.catalog.put_documents(items, sentences)
    st.end_write()
    st.catalog.set_meta("synthetic_chunks", str(n_chunks))
    log.warning("built %s (%d chunks) in %.1fs", root, n_chunks, time.perf_counter() - t0)
    st.close()
    return root
