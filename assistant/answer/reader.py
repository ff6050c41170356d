"""The span reader: where in a passage the answer to a question is, or that the passage has none.

The packaged all-MiniLM-L6-v2 with the usual SQuAD 2.0 head (a start and an end logit per token;
[CLS] stands for "no answer"), trained by `python -m evals.train_reader` on the reconstructed
SQuAD 2.0 train set. What ships is `data/reader.npz`: every trained tensor except the word
embeddings (which stay the installed ones) in float16, ~21 MB, with the training metadata and the
operating point (`min_prob`, chosen on the dev articles by `python -m evals.reader_eval
--operating-point`). On first use the tensors are put over the installed weights and the model is
exported to one ONNX graph (int8 or fp32 as `embed_precision` resolves), cached by a fingerprint of
the base weights, the parameter file and the recipe. A question then costs one ONNX Runtime call
over the windows of its passages; torch is imported only by the export.

Scores: for a window, `null` = start[CLS] + end[CLS]; a span's score is start[i] + end[j]
(i <= j < i + 30, both passage tokens). A span's *margin* is its score minus its window's null
score; `sigmoid(margin)` is the probability this module reports. A sentence's margin is that of the
best span inside it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answer import windows as W
from assistant.encode import onnxmodel
from assistant.encode.embed import load_tokenizer, minilm_path
from assistant.errors import AssistantError

log = logging.getLogger(__name__)

PARAMS = Path(__file__).parent / "data" / "reader.npz"
#: part of the graph's fingerprint: bump when the export changes
RECIPE = "minilm-qa-span/start-end-stacked/opset17/v1"
#: windows per ONNX Runtime call. One: the int8 graph quantises activations with one scale per
#: tensor, so in a batch a window's scores would move with its neighbours and their padding (6 of
#: 40 CT answers changed with the batch around them); one window per call is also faster here
#: (no padding: answer p50 145 ms against 198 ms with 16, AMD EPYC avx512_vnni, under load)
BATCH = 1


class ReaderParametersError(AssistantError):
    """The span reader's parameter file is missing, unreadable or does not fit the base model."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        super().__init__(f"{path}: {reason}")


def read_params(path: Path = PARAMS) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files if k != "meta"}
            meta = json.loads(str(z["meta"]))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise ReaderParametersError(path, f"cannot read the span reader's parameters ({exc}); rerun python -m evals.train_reader") from exc
    return arrays, meta


def read_meta(path: Path = PARAMS) -> tuple[dict[str, Any], str]:
    """The metadata and a digest of the tensors (names, CRC-32s and sizes of the zip members: no
    decompression, so opening costs milliseconds; the operating point beside them does not count)."""
    try:
        with zipfile.ZipFile(path) as z:
            h = hashlib.sha256()
            for info in sorted(z.infolist(), key=lambda i: i.filename):
                if info.filename != "meta.npy":
                    h.update(f"{info.filename}:{info.CRC}:{info.file_size};".encode())
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"]))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise ReaderParametersError(path, f"cannot read the span reader's parameters ({exc}); rerun python -m evals.train_reader") from exc
    return meta, h.hexdigest()


def export_reader(model_path: Path, params: Path, dest: Path) -> None:
    """Put the trained tensors over the packaged weights and trace start/end logits to ONNX (imports torch)."""
    import warnings

    import torch
    from transformers import AutoModelForQuestionAnswering
    from transformers.utils import logging as hf_logging

    arrays, _ = read_params(params)
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()  # its report that the head is new: the head comes from `params`
    hf_logging.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = AutoModelForQuestionAnswering.from_pretrained(str(model_path), local_files_only=True, attn_implementation="eager").eval()
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
    state = model.state_dict()
    for key, a in arrays.items():
        if key not in state or tuple(state[key].shape) != a.shape:
            raise ReaderParametersError(params, f"parameter {key} does not fit the base model")
        state[key] = torch.from_numpy(a.astype(np.float32))
    model.load_state_dict(state)

    class StartEnd(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return torch.stack([out.start_logits, out.end_logits], dim=-1)

    onnxmodel.trace_to_onnx(StartEnd(model), ["input_ids", "attention_mask", "token_type_ids"], "start_end", dest, {0: "batch", 1: "seq"})


@dataclass(frozen=True)
class Span:
    """A span of a passage (character offsets into it) and its margin over "no answer"."""

    start: int
    end: int
    margin: float

    @property
    def prob(self) -> float:
        return float(1.0 / (1.0 + np.exp(-np.clip(self.margin, -30, 30))))


@dataclass
class Reading:
    """One passage read: its windows and their start/end logits."""

    windows: list[W.Window]
    logits: list[np.ndarray]  # per window: (len(ids), 2)

    def best(self, lo: int = 0, hi: int | None = None) -> Span | None:
        """The best span inside passage characters [lo, hi) over every window, or None if no token is there."""
        best: Span | None = None
        for win, lg in zip(self.windows, self.logits, strict=True):
            toks = [k for k, (a, b) in enumerate(win.offsets) if a >= lo and (hi is None or b <= hi) and b > a]
            if not toks:
                continue
            i0, i1 = toks[0] + win.first, toks[-1] + win.first
            null = float(lg[0, 0] + lg[0, 1])
            score, i, j = W.best_pair(lg[i0 : i1 + 1, 0], lg[i0 : i1 + 1, 1])
            margin = score - null
            if best is None or margin > best.margin:
                a, b = win.char_span(i0 + i, i0 + j)
                best = Span(a, b, margin)
        return best


class SpanReader:
    """Reads (question, passage) pairs with the reader's ONNX graph."""

    def __init__(self, precision: str = "auto", params: Path = PARAMS, model_path: Path | None = None, cache_dir: Path | None = None, threads: int = 2) -> None:
        self.params = Path(params)
        self.model_path = Path(model_path) if model_path else minilm_path()
        self.precision = onnxmodel.auto_precision() if precision == "auto" else precision
        self.cache_dir = cache_dir
        self.threads = threads
        self.meta, self.weights_digest = read_meta(self.params)
        self.max_len = int(self.meta.get("max_len", W.MAX_LEN))
        self.stride = int(self.meta.get("stride", W.STRIDE))
        self.min_prob = float(self.meta.get("min_prob", 0.5))
        self._session: Any = None
        self._lock = threading.Lock()

    def graph(self) -> Path:
        h = hashlib.sha256()
        h.update(onnxmodel.weights_sha256(self.model_path, self.cache_dir).encode())
        h.update(self.weights_digest.encode())
        h.update(RECIPE.encode())
        dest = onnxmodel.graph_file(f"answer-reader-{h.hexdigest()[:20]}", self.precision, self.cache_dir)
        return onnxmodel.ensure_graph(dest, lambda p: export_reader(self.model_path, self.params, p), "the span reader")

    def session(self) -> Any:
        with self._lock:
            if self._session is None:
                self._session = onnxmodel.make_session(self.graph(), self.threads)
            return self._session

    def read(self, question: str, passages: list[str], needed: list[list[tuple[int, int]]] | None = None) -> list[Reading]:
        """Every passage cut into windows and read; one reading per passage. With `needed` (per
        passage, the character ranges whose spans will be asked for), a window holding no token of
        those ranges is not read: the spans asked for get exactly the margins of a full reading."""
        tok = load_tokenizer(self.model_path)
        q_ids = W.question_ids(tok, question)
        per = [W.windows(tok, q_ids, p, self.max_len, self.stride) for p in passages]
        if needed is not None:
            per = [[w for w in ws if w.overlaps(ranges)] for ws, ranges in zip(per, needed, strict=True)]
        flat = [w for ws in per for w in ws]
        order = sorted(range(len(flat)), key=lambda k: len(flat[k].ids))
        out: dict[int, np.ndarray] = {}
        for b in range(0, len(order), BATCH):
            idx = order[b : b + BATCH]
            inputs = onnxmodel.padded([flat[k].ids for k in idx], [flat[k].type_ids for k in idx])
            res = self.session().run(None, inputs)[0]
            for row, k in enumerate(idx):
                out[k] = res[row, : len(flat[k].ids)].astype(np.float32)
        logits = [out[k] for k in range(len(flat))]
        readings, pos = [], 0
        for ws in per:
            readings.append(Reading(ws, logits[pos : pos + len(ws)]))
            pos += len(ws)
        return readings


@lru_cache(maxsize=4)
def load_reader(precision: str = "auto", params: Path = PARAMS) -> SpanReader:
    return SpanReader(precision, params)
