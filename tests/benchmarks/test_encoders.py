"""The ONNX Runtime MiniLM computes the sentence-transformers vectors (fp32), int8 stays close,
batching keeps the caller's order, the graph cache is keyed by the weights, `ask`'s encoder path
imports no torch; and the benchmark helpers (SciFact parsing, nDCG, synthetic composition) do what
docs/performance.md says."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant.encode import onnxmodel
from assistant.encode.embed import Embedder, minilm_path
from assistant.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
TEXTS = [
    "Provincial counter-terrorism departments lack capacity and funding.",
    "The cabinet authorised Rs567.7 million for police equipment purchases.",
    "What is the capital of France?",
    "NACTA",
    "word " * 400,  # longer than the 256 word-piece window: truncated like the torch model
]


def _real_sentences(n: int = 120) -> list[str]:
    """Sentences of the shipped corpus, as ingest splits them."""
    from assistant.text.sentences import split_sentences

    out: list[str] = []
    for path in sorted((ROOT / "data" / "corpus").glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        out += [text[a:b] for a, b in split_sentences(text, 0, len(text))]
    assert len(out) >= 40, "the shipped corpus should give at least 40 sentences"
    return (out + TEXTS)[: n + len(TEXTS)]


@pytest.mark.slow
def test_onnx_vectors_equal_sentence_transformers_vectors() -> None:
    from sentence_transformers import SentenceTransformer

    texts = _real_sentences()
    st = SentenceTransformer(str(minilm_path()), device="cpu", local_files_only=True)
    ref = st.encode(texts, batch_size=16, normalize_embeddings=True, convert_to_numpy=True)
    fp32 = Embedder(precision="fp32").embed(texts)
    cos = np.sum(fp32 * ref, axis=1)
    assert cos.min() >= 0.9999, (cos.min(), texts[int(cos.argmin())])
    int8 = Embedder(precision="int8").embed(texts)
    cos8 = np.sum(int8 * ref, axis=1)
    assert cos8.mean() >= 0.99 and cos8.min() >= 0.97, (cos8.mean(), cos8.min())
    assert np.allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-5)


def test_length_buckets_restore_the_callers_order() -> None:
    texts = _real_sentences(40)
    e = Embedder(precision="fp32")
    one_by_one = np.stack([e.embed([t])[0] for t in texts])
    batched = e.embed(texts, batch_size=3)  # sorted by length, 3 per batch, padded to each batch's longest
    assert np.allclose(batched, one_by_one, atol=1e-5)
    assert np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    lengths = [len(t) for t in texts]
    batches = e._batches(lengths, 4)
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(texts)))
    assert all(len(b) <= 4 for b in batches)
    assert all(lengths[b[-1]] <= lengths[c[0]] for b, c in itertools.pairwise(batches))


def test_query_path_imports_no_torch(tmp_path: Path) -> None:
    Embedder(precision="fp32").model_file()  # exported (with torch) once, in this process
    code = (
        "import sys; from assistant.encode.embed import Embedder; e = Embedder(precision='fp32'); "
        "v = e.embed_query('Why did NACTA struggle?'); w = e.embed(['a b c'] * 20); "
        "print(v.shape, w.shape, sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(384,) (20, 384) []"


def test_graph_cache_is_named_by_the_weights_and_recipe(tmp_path: Path) -> None:
    model = tmp_path / "m"
    model.mkdir()
    (model / "model.safetensors").write_bytes(b"weights one")
    a = onnxmodel.model_file(model, "fp32", tmp_path / "cache")
    assert a.parent == tmp_path / "cache" and a.name.endswith(".fp32.onnx")
    assert onnxmodel.model_file(model, "int8", tmp_path / "cache").name.startswith(a.name.replace(".fp32.onnx", ".int8-"))
    os.utime(model / "model.safetensors", ns=(1, 1))
    (model / "model.safetensors").write_bytes(b"weights two")  # new weights: a new name, so a new export
    assert onnxmodel.model_file(model, "fp32", tmp_path / "cache") != a
    with pytest.raises(ConfigError):
        onnxmodel.model_file(model, "bf16", tmp_path / "cache")


def test_an_unusable_cache_falls_back_to_a_private_one(tmp_path: Path) -> None:
    """A cache folder that cannot be made (a file in its way) no longer fails: the model is exported
    into a private temporary cache (issue 20 defect 5; tests/assistant/test_onnx_cache.py)."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    vec = Embedder(precision="fp32", cache_dir=blocker / "onnx").embed(["a"])
    assert vec.shape == (1, 384) and blocker.read_text() == "x"


def test_auto_precision_comes_from_cpu_flags_only() -> None:
    assert onnxmodel.auto_precision(frozenset({"avx2", "fma", "avx512_vnni"})) == "int8"
    assert onnxmodel.auto_precision(frozenset({"avx2", "fma", "avx_vnni"})) == "int8"
    assert onnxmodel.auto_precision(frozenset({"avx2", "fma", "avx512_bf16"})) == "fp32"
    assert onnxmodel.auto_precision(frozenset()) == "fp32"
    assert Embedder().precision == onnxmodel.auto_precision()
    with pytest.raises(ConfigError):
        Embedder(precision="bf16")


def test_auto_adopts_a_stores_precision_an_explicit_one_is_refused() -> None:
    auto = Embedder()
    auto.adopt_precision("fp32")
    assert auto.precision == "fp32"
    with pytest.raises(ConfigError, match="made with int8"):
        Embedder(precision="fp32").adopt_precision("int8")
    Embedder(precision="int8").adopt_precision("int8")  # same precision: fine


def test_token_counts_are_memoised_and_right_past_the_cache_size(monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.encode import embed

    texts = _real_sentences(40)
    e = Embedder(precision="fp32")
    expected = [len(x.ids) for x in e.tokenizer.encode_batch(texts, add_special_tokens=False)]
    assert e.count_tokens(texts) == expected
    monkeypatch.setattr(embed, "SENTENCE_CACHE_SIZE", 7)  # a job larger than the cache: counted, not lost
    extra = "one more sentence here."
    assert e.count_tokens(texts[::-1] + [extra]) == expected[::-1] + [len(e.tokenizer.encode(extra, add_special_tokens=False).ids)]
    assert len(e._count_cache) <= 7
    assert e.count_tokens(texts[:3]) == expected[:3]


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
