"""The numpy MiniLM (cold-start path of `ask`) computes the torch model's vectors, and the
benchmark helpers (SciFact parsing, nDCG, synthetic composition) do what docs/performance.md says."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.embed import Embedder, minilm_path
from assistant.npencoder import numpy_encoder

TEXTS = [
    "Provincial counter-terrorism departments lack capacity and funding.",
    "The cabinet authorised Rs567.7 million for police equipment purchases.",
    "What is the capital of France?",
    "NACTA",
    "word " * 400,  # longer than the 256 word-piece window: truncated like the torch model
]


@pytest.mark.slow
def test_numpy_encoder_matches_torch(embedder: Embedder) -> None:
    embedder._load()  # once torch is loaded, every batch goes through it
    torch_vecs = embedder.embed(TEXTS)
    np_vecs = numpy_encoder(minilm_path()).encode(TEXTS)
    cos = np.sum(np_vecs * torch_vecs, axis=1)
    assert cos.min() > 1 - 1e-4, cos
    assert np.allclose(np.linalg.norm(np_vecs, axis=1), 1.0, atol=1e-5)


def test_small_batches_skip_torch_until_it_is_loaded() -> None:
    e = Embedder(precision="fp32")
    v = e.embed_query("Why did NACTA struggle with CTD integration?")
    assert e._model is None and v.shape == (384,) and e.precision == "fp32"
    assert abs(float(np.linalg.norm(v)) - 1.0) < 1e-5
    # bf16 must go through torch autocast: never the numpy path
    assert not Embedder(precision="bf16")._numpy_ok(1)


def test_sentence_cache_returns_the_same_vectors() -> None:
    e = Embedder(precision="fp32")
    a = e.embed_cached(TEXTS[:3])
    b = e.embed_cached([TEXTS[2], TEXTS[0], TEXTS[2]])
    assert np.array_equal(b[0], a[2]) and np.array_equal(b[1], a[0]) and np.array_equal(b[2], a[2])
    assert e.embed_cached([]).shape == (0, 384)


def test_ndcg_and_scifact_parsing() -> None:
    from benchmarks.common import _sentences, ndcg_at_10

    assert ndcg_at_10(["a", "b"], {"a"}) == 1.0
    assert ndcg_at_10(["b", "a", "a"], {"a"}) == pytest.approx(1 / np.log2(3))
    assert ndcg_at_10(["x"], {"a"}) == 0.0
    assert _sentences("['First one.'\n 'It\\'s second.'\n \"Third's.\"]") == ["First one.", "It's second.", "Third's."]


def test_synthetic_chunks_have_unit_vectors_from_their_sources() -> None:
    from benchmarks.synth import compose

    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(4, 384)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    seed = {
        "texts": np.array([f"Sentence {i} one. Sentence {i} two. Sentence {i} three." for i in range(4)], dtype=object),
        "titles": np.array([f"T{i}" for i in range(4)], dtype=object),
        "vecs": vecs,
    }
    texts, out, titles = compose(seed, 50)
    assert texts[:4] == list(seed["texts"]) and np.array_equal(out[:4], vecs)
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    # each composed vector lies in the span of its sources: close to at least one real vector
    assert (out[4:] @ vecs.T).max(axis=1).min() > 0.3
