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

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answer import windows as W
from assistant.encode import onnxmodel, trained
from assistant.encode.embed import load_tokenizer
from assistant.encode.trained import ParametersError, TrainedGraph

log = logging.getLogger(__name__)

PARAMS = Path(__file__).parent / "data" / "reader.npz"
#: part of the graph's fingerprint: bump when the export changes
RECIPE = "minilm-qa-span/start-end-stacked/opset17/v1"
#: windows per ONNX Runtime call. One: the int8 graph quantises activations with one scale per
#: tensor, so in a batch a window's scores would move with its neighbours and their padding (6 of
#: 40 CT answers changed with the batch around them); one window per call is also faster here
#: (no padding: answer p50 145 ms against 198 ms with 16, AMD EPYC avx512_vnni, under load)
BATCH = 1


class ReaderParametersError(ParametersError):
    """The span reader's parameter file is missing, unreadable or does not fit the base model."""


HINT = "rerun python -m evals.train_reader"


def read_params(path: Path = PARAMS) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    return trained.read_params(path, ReaderParametersError, "the span reader's parameters", HINT)


def read_meta(path: Path = PARAMS) -> tuple[dict[str, Any], str]:
    return trained.read_meta(path, ReaderParametersError, "the span reader's parameters", HINT)


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


class SpanReader(TrainedGraph):
    """Reads (question, passage) pairs with the reader's ONNX graph."""

    STEM = "answer-reader"
    RECIPE = RECIPE
    NAME = "the span reader"
    HINT = HINT
    ERROR = ReaderParametersError

    def __init__(self, precision: str = "auto", params: Path = PARAMS, model_path: Path | None = None, cache_dir: Path | None = None, threads: int = 2) -> None:
        super().__init__(params, precision, model_path, cache_dir, threads)
        self.max_len = int(self.meta.get("max_len", W.MAX_LEN))
        self.stride = int(self.meta.get("stride", W.STRIDE))
        #: the floor for questions answered by a clause or a sentence (`question.explanatory`), chosen
        #: on the CT dev set (`python -m evals.reader_eval --explain-point`)
        self.explain_min_prob = float(self.meta.get("explain_min_prob", self.min_prob))

    def export(self, dest: Path) -> None:
        """Put the trained tensors over the packaged weights and trace start/end logits to ONNX (imports torch)."""
        import torch
        from transformers import AutoModelForQuestionAnswering

        model = trained.load_base(AutoModelForQuestionAnswering, self.model_path)
        state = model.state_dict()
        self.fit_state(state, self.arrays())
        model.load_state_dict(state)

        class StartEnd(torch.nn.Module):
            def __init__(self, inner: Any) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                out = self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
                return torch.stack([out.start_logits, out.end_logits], dim=-1)

        onnxmodel.trace_to_onnx(StartEnd(model), ["input_ids", "attention_mask", "token_type_ids"], "start_end", dest, {0: "batch", 1: "seq"})

    def read(self, question: str, passages: list[str], needed: list[list[tuple[int, int]]] | None = None) -> list[Reading]:
        """Every passage cut into windows and read; one reading per passage. With `needed` (per
        passage, the character ranges whose spans will be asked for), each range is read once, in
        the window where it has most context (`windows.max_context`); other windows are not read."""
        tok = load_tokenizer(self.model_path)
        q_ids = W.question_ids(tok, question)
        per = [W.windows(tok, q_ids, p, self.max_len, self.stride) for p in passages]
        if needed is not None:
            per = [W.max_context(ws, ranges) for ws, ranges in zip(per, needed, strict=True)]
        flat = [w for ws in per for w in ws]
        order = sorted(range(len(flat)), key=lambda k: len(flat[k].ids))
        out: dict[int, np.ndarray] = {}
        for b in range(0, len(order), BATCH):
            idx = order[b : b + BATCH]
            inputs = onnxmodel.padded([flat[k].ids for k in idx], [flat[k].type_ids for k in idx])
            res = self.run(inputs)
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
