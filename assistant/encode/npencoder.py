"""MiniLM (BERT) sentence encoder in plain numpy, from the same safetensors weights.

Used whenever the precision is fp32 and the torch model is not loaded: questions, and the
sentences ingest embeds (`assistant.store.sentvec`), so neither `ask` nor `ingest` imports torch
or sentence-transformers (about 10 s of imports on a loaded 2-core machine). It computes the
same function as the sentence-transformers pipeline (BERT -> mean pooling -> L2 normalise,
truncation at `max_seq_length` word pieces); tests check it against the torch model to
1e-4 cosine.

BLAS runs single-threaded: for these small matrices a second OpenBLAS thread gains little on
an idle machine and costs 20x on a busy one (measured on the shared 2-core box: one question
took a median 1,060 ms with 2 threads, 45 ms with 1). Large batches are instead split across
`workers` Python threads (BLAS releases the GIL), each single-threaded. Measured on 690
SciFact sentences, idle machine: 1 worker 9.4 s, 2 workers 6.2 s, torch with 2 threads 7.0 s.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU as in BERT; numpy has no erf, so Abramowitz & Stegun 7.1.26
    (|error| < 1.5e-7), computed in place to keep temporaries few."""
    y = x * np.float32(0.7071067811865476)
    a = np.abs(y)
    t = np.float32(1.0) / (np.float32(1.0) + np.float32(0.3275911) * a)
    p = t * np.float32(1.061405429)
    for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        p += np.float32(c)
        p *= t
    np.negative(a, out=a)
    a *= np.abs(y)
    np.exp(a, out=a)
    p *= a  # p = 1 - erf(|y|)
    np.subtract(np.float32(1.0), p, out=p)
    np.copysign(p, y, out=p)  # erf(y)
    p += np.float32(1.0)
    p *= x
    p *= np.float32(0.5)
    return p


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    xc = x - mu
    var = (xc * xc).mean(-1, keepdims=True)
    return xc / np.sqrt(var + eps) * w + b


class NumpyMiniLM:
    """A BERT encoder + mean pooling + normalisation; `encode(texts)` -> (n, dim) unit float32 vectors."""

    def __init__(self, model_path: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        cfg = json.loads((model_path / "config.json").read_text())
        if cfg.get("model_type") != "bert" or cfg.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"{model_path}: not a BERT/gelu model")
        st_cfg = model_path / "sentence_bert_config.json"
        self.max_len = int(json.loads(st_cfg.read_text()).get("max_seq_length", 256)) if st_cfg.exists() else 256
        pooling = model_path / "1_Pooling" / "config.json"
        if pooling.exists() and not json.loads(pooling.read_text()).get("pooling_mode_mean_tokens", False):
            raise ValueError(f"{model_path}: only mean pooling is supported")
        self.heads = int(cfg["num_attention_heads"])
        self.eps = float(cfg.get("layer_norm_eps", 1e-12))
        w = load_file(str(model_path / "model.safetensors"))
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in w else ""

        def get(name: str) -> np.ndarray:
            return np.ascontiguousarray(w[prefix + name], dtype=np.float32)

        self.word = get("embeddings.word_embeddings.weight")
        self.pos = get("embeddings.position_embeddings.weight")
        self.type0 = get("embeddings.token_type_embeddings.weight")[0]
        self.emb_ln = (get("embeddings.LayerNorm.weight"), get("embeddings.LayerNorm.bias"))
        self.layers = []
        for i in range(int(cfg["num_hidden_layers"])):
            p = f"encoder.layer.{i}."
            qkv_w = np.concatenate([get(p + f"attention.self.{n}.weight") for n in ("query", "key", "value")]).T.copy()
            qkv_b = np.concatenate([get(p + f"attention.self.{n}.bias") for n in ("query", "key", "value")])
            self.layers.append(
                (
                    qkv_w,
                    qkv_b,
                    get(p + "attention.output.dense.weight").T.copy(),
                    get(p + "attention.output.dense.bias"),
                    (get(p + "attention.output.LayerNorm.weight"), get(p + "attention.output.LayerNorm.bias")),
                    get(p + "intermediate.dense.weight").T.copy(),
                    get(p + "intermediate.dense.bias"),
                    get(p + "output.dense.weight").T.copy(),
                    get(p + "output.dense.bias"),
                    (get(p + "output.LayerNorm.weight"), get(p + "output.LayerNorm.bias")),
                )
            )
        self.dim = self.word.shape[1]
        tok = Tokenizer.from_file(str(model_path / "tokenizer.json"))
        tok.no_padding()
        tok.enable_truncation(max_length=self.max_len)
        self.tokenizer = tok

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        b, n = ids.shape
        h, d = self.heads, self.dim // self.heads
        x = self.word[ids] + self.pos[:n] + self.type0
        x = _layer_norm(x, *self.emb_ln, self.eps)
        bias = ((1.0 - mask) * np.float32(-1e9)).astype(np.float32)[:, None, None, :]
        scale = np.float32(1.0 / np.sqrt(d))
        for qkv_w, qkv_b, o_w, o_b, ln1, i_w, i_b, f_w, f_b, ln2 in self.layers:
            qkv = (x.reshape(b * n, -1) @ qkv_w + qkv_b).reshape(b, n, 3, h, d)
            # contiguous copies: numpy's batched matmul only uses BLAS on contiguous stacks
            q = np.ascontiguousarray(qkv[:, :, 0].transpose(0, 2, 1, 3))
            k = np.ascontiguousarray(qkv[:, :, 1].transpose(0, 2, 3, 1))
            v = np.ascontiguousarray(qkv[:, :, 2].transpose(0, 2, 1, 3))
            s = (q @ k) * scale + bias
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            ctx = (s @ v).transpose(0, 2, 1, 3).reshape(b * n, h * d)
            x = _layer_norm((ctx @ o_w + o_b).reshape(b, n, -1) + x, *ln1, self.eps)
            inter = _gelu(x.reshape(b * n, -1) @ i_w + i_b)
            x = _layer_norm((inter @ f_w + f_b).reshape(b, n, -1) + x, *ln2, self.eps)
        m = mask[:, :, None]
        pooled = (x * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        return pooled

    def encode(self, texts: Sequence[str], batch_size: int = 32, workers: int = 1) -> np.ndarray:
        texts = list(texts)
        with _one_blas_thread():
            if workers <= 1 or len(texts) < 2 * batch_size:
                return self._encode(texts, batch_size)
            # deal texts out by length so every worker gets a similar share of tokens
            lengths = [len(t) for t in texts]
            order = sorted(range(len(texts)), key=lengths.__getitem__)
            shards = [order[w::workers] for w in range(workers)]
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(workers, thread_name_prefix="minilm") as ex:
                parts = list(ex.map(lambda idx: self._encode([texts[i] for i in idx], batch_size), shards))
            out = np.zeros((len(texts), self.dim), dtype=np.float32)
            for idx, part in zip(shards, parts, strict=True):
                out[idx] = part
            return out

    def _encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encs = self.tokenizer.encode_batch(texts, add_special_tokens=True)
        order = sorted(range(len(texts)), key=lambda i: len(encs[i].ids))  # similar lengths share a batch
        for s in range(0, len(order), batch_size):
            part = order[s : s + batch_size]
            n = max(len(encs[i].ids) for i in part)
            ids = np.zeros((len(part), n), dtype=np.int64)
            mask = np.zeros((len(part), n), dtype=np.float32)
            for r, i in enumerate(part):
                e = encs[i].ids
                ids[r, : len(e)] = e
                mask[r, : len(e)] = 1.0
            out[part] = self._forward(ids, mask)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.maximum(norms, 1e-12)).astype(np.float32)


_lock = threading.Lock()
_blas: list[object] = []


def _one_blas_thread() -> contextlib.AbstractContextManager[object]:
    """Limit BLAS to one thread for the duration (threadpoolctl, if installed)."""
    with _lock:
        if not _blas:
            try:
                from threadpoolctl import ThreadpoolController

                _blas.append(ThreadpoolController())
            except ImportError:
                _blas.append(None)
    ctl = _blas[0]
    return ctl.limit(limits=1, user_api="blas") if ctl is not None else contextlib.nullcontext()  # type: ignore[attr-defined]


@lru_cache(maxsize=2)
def _load(model_path: Path) -> NumpyMiniLM:
    return NumpyMiniLM(model_path)


def numpy_encoder(model_path: Path) -> NumpyMiniLM:
    with _lock:
        return _load(Path(model_path))
