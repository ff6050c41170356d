"""The numpy MiniLM (cold-start path of `ask`) computes the torch model's vectors, and the
benchmark helpers (SciFact parsing, nDCG, synthetic composition) do what docs/performance.md says."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.encode.embed import Embedder, minilm_path
from assistant.encode.npencoder import numpy_encoder

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
    assert np.allclose(numpy_encoder(minilm_path()).encode(TEXTS * 30, batch_size=4, workers=2)[: len(TEXTS)], np_vecs, atol=1e-5)
    cos = np.sum(np_vecs * torch_vecs, axis=1)
    assert cos.min() > 1 - 1e-4, cos
    assert np.allclose(np.linalg.norm(np_vecs, axis=1), 1.0, atol=1e-5)


def test_fp32_skips_torch_until_it_is_loaded() -> None:
    e = Embedder(precision="fp32")
    v = e.embed_query("Why did NACTA struggle with CTD integration?")
    assert e._model is None and v.shape == (384,) and e.precision == "fp32"
    assert abs(float(np.linalg.norm(v)) - 1.0) < 1e-5
    # bf16 must go through torch autocast: never the numpy path
    assert not Embedder(precision="bf16")._numpy_ok()


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


def test_synthetic_chunks_compose_real_sentence_vectors() -> None:
    from assistant.store.sentvec import compose as compose_vec
    from benchmarks.synth import compose

    rng = np.random.default_rng(0)
    texts = [f"Sentence {i} one. Sentence {i} two. Sentence {i} three." for i in range(4)]
    s_texts = [f"Sentence {i} {w}." for i in range(4) for w in ("one", "two", "three")]
    s_vecs = rng.normal(size=(12, 384)).astype(np.float32)
    s_vecs /= np.linalg.norm(s_vecs, axis=1, keepdims=True)
    seed = {
        "texts": np.array(texts, dtype=object),
        "titles": np.array([f"T{i}" for i in range(4)], dtype=object),
        "vecs": np.stack([compose_vec(s_vecs[3 * i : 3 * i + 3], [1, 1, 1]) for i in range(4)]),
        "sent_texts": np.array(s_texts, dtype=object),
        "sent_vecs": s_vecs.astype(np.float16),
        "sent_chunk": np.repeat(np.arange(4), 3).astype(np.int32),
    }
    out = list(compose(seed, 50))
    assert [c[0] for c in out[:4]] == texts
    for text, vec, title, sents in out:
        assert title in {"T0", "T1", "T2", "T3"}
        assert abs(float(np.linalg.norm(vec)) - 1.0) < 1e-5
        # every sentence sits at its offsets and keeps its real vector
        assert sents and all(text[a:b] in s_texts for a, b, _ in sents)
        for a, b, v in sents:
            assert np.allclose(v, s_vecs[s_texts.index(text[a:b])], atol=1e-3)
        # the chunk vector is composed from its sentences' vectors
        m = np.mean([v for _, _, v in sents], axis=0).astype(np.float32)
        assert float(vec @ m) / float(np.linalg.norm(m)) > 0.95


def test_bench_table_prints_a_results_file_and_rejects_bad_ones(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from benchmarks.cli import main
    from benchmarks.common import Section

    s = Section("query")
    s.add("retrieval p50 @ 100k chunks", 30.2, 37.5, "ms", "<= 50 ms @100k", True, higher_is_better=False)
    good = tmp_path / "r.json"
    good.write_text(json.dumps({"sections": [s.to_dict()]}))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert main(["table", "--out", str(good)]) == 0
        assert main(["table", "--out", str(bad)]) == 2
        assert main(["plot", "--out", str(tmp_path / "missing.json")]) == 2
    assert "| query: retrieval p50 @ 100k chunks | 30.2 ms | 37.5 ms | 1.24x | <= 50 ms @100k | yes |" in out.getvalue()
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("error: cannot read benchmark results") for line in lines)
