"""The cross-encoder answer scorer: P(this sentence answers the question), reading both together.

The packaged all-MiniLM-L6-v2 with low-rank adapters (LoRA) on its linear layers and a
classification head, trained by `python -m evals.train_crossencoder` on public QA data. What ships
is `data/crossenc.npz`: the adapters (float16) and the head, about 1.2 MB, plus the training
metadata and the operating point (`min_prob`, chosen on the SQuAD dev split). On first use the
adapters are merged into the installed weights (W + alpha/r * B @ A) and the model is exported
to one ONNX graph (int8 or fp32 as `embed_precision` resolves; `assistant.encode.trained`, shared
with the span reader). Afterwards a question costs one ONNX Runtime call over its candidate
sentences; torch is imported only by the export.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from assistant.encode import onnxmodel, trained
from assistant.encode.embed import _encoding_tokenizer
from assistant.encode.trained import ParametersError, TrainedGraph

log = logging.getLogger(__name__)

PARAMS = Path(__file__).parent / "data" / "crossenc.npz"
#: part of the graph's fingerprint: bump when the export changes
RECIPE = "minilm-seqcls-lora-merged/logit/opset17/v1"


class CrossEncoderParametersError(ParametersError):
    """The cross-encoder's adapter file is missing, unreadable or does not fit the base model."""


HINT = "rerun python -m evals.train_crossencoder"


def read_params(path: Path = PARAMS) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    return trained.read_params(path, CrossEncoderParametersError, "the cross-encoder's parameters", HINT)


class CrossEncoder(TrainedGraph):
    """Scores (question, sentence) pairs with the merged cross-encoder graph in ONNX Runtime."""

    STEM = "answer-crossenc"
    RECIPE = RECIPE
    NAME = "the cross-encoder"
    HINT = HINT
    ERROR = CrossEncoderParametersError

    def __init__(self, precision: str = "auto", params: Path = PARAMS, model_path: Path | None = None, cache_dir: Path | None = None, threads: int = 2) -> None:
        super().__init__(params, precision, model_path, cache_dir, threads)
        self.max_tokens = int(self.meta.get("max_tokens", 128))

    def export(self, dest: Path) -> None:
        """Merge the adapters into the packaged weights (W + alpha/r * B @ A) and trace the classifier to ONNX (imports torch)."""
        import torch
        from transformers import AutoModelForSequenceClassification

        arrays = self.arrays()
        scale = float(self.meta["alpha"]) / float(self.meta["rank"])
        model = trained.load_base(AutoModelForSequenceClassification, self.model_path, num_labels=1)
        state = model.state_dict()
        merged = 0
        for key, a in arrays.items():
            if ".lora_A." in key:
                base = key.replace(".lora_A.weight", ".weight")
                if base not in state:
                    raise CrossEncoderParametersError(self.params, f"adapter for {base}, which the base model lacks")
                b = arrays[key.replace(".lora_A.", ".lora_B.")]
                state[base] += scale * torch.from_numpy(b.astype(np.float32) @ a.astype(np.float32))
                merged += 1
        self.fit_state(state, arrays, skip=lambda k: ".lora_A." in k or ".lora_B." in k)
        model.load_state_dict(state)
        log.info("merged %d adapters into %s", merged, self.model_path)

        class Logit(torch.nn.Module):
            def __init__(self, inner: Any) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                return self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).logits[:, 0]

        onnxmodel.trace_to_onnx(Logit(model), ["input_ids", "attention_mask", "token_type_ids"], "logit", dest)

    def logits(self, question: str, sentences: list[str]) -> np.ndarray:
        if not sentences:
            return np.zeros(0, dtype=np.float32)
        encs = _encoding_tokenizer(self.model_path, self.max_tokens).encode_batch([(question, s) for s in sentences])
        inputs = onnxmodel.padded([e.ids for e in encs], [e.type_ids for e in encs])
        return self.run(inputs).astype(np.float32)

    def probabilities(self, question: str, sentences: list[str]) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-np.clip(self.logits(question, sentences), -30, 30)))


@lru_cache(maxsize=4)
def load_cross_encoder(precision: str = "auto", params: Path = PARAMS) -> CrossEncoder:
    return CrossEncoder(precision, params)
