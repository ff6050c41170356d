"""The cross-encoder answer scorer: P(this sentence answers the question), reading both together.

The packaged all-MiniLM-L6-v2 with low-rank adapters (LoRA) on its linear layers and a
classification head, trained by `python -m evals.train_crossencoder` on public QA data. What ships
is `data/crossenc.npz`: the adapters (float16) and the head, about 1.2 MB, plus the training
metadata and the operating point (`min_prob`, chosen on the SQuAD dev split). On first use the
adapters are merged into the installed weights (W + alpha/r * B @ A) and the model is exported
to one ONNX graph (int8 or fp32 as `embed_precision` resolves), cached like the embedding graph
under a fingerprint of the base weights, the adapter file and the recipe. Afterwards a question
costs one ONNX Runtime call over its candidate sentences; torch is imported only by the export.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from assistant.encode import onnxmodel
from assistant.encode.embed import _encoding_tokenizer, minilm_path
from assistant.errors import AssistantError

log = logging.getLogger(__name__)

PARAMS = Path(__file__).parent / "data" / "crossenc.npz"
#: part of the graph's fingerprint: bump when the export changes
RECIPE = "minilm-seqcls-lora-merged/logit/opset17/v1"


class CrossEncoderParametersError(AssistantError):
    """The cross-encoder's adapter file is missing, unreadable or does not fit the base model."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        super().__init__(f"{path}: {reason}")


def read_params(path: Path = PARAMS) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files if k != "meta"}
            meta = json.loads(str(z["meta"]))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise CrossEncoderParametersError(path, f"cannot read the cross-encoder parameters ({exc}); rerun python -m evals.train_crossencoder") from exc
    return arrays, meta


def export_merged(model_path: Path, params: Path, dest: Path) -> None:
    """Merge the adapters into the packaged weights and trace the classifier to ONNX (imports torch)."""
    import warnings

    import torch
    from transformers import AutoModelForSequenceClassification

    arrays, meta = read_params(params)
    scale = float(meta["alpha"]) / float(meta["rank"])
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()  # its report that the head is new: the head comes from `params`
    hf_logging.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = AutoModelForSequenceClassification.from_pretrained(
                str(model_path), num_labels=1, local_files_only=True, attn_implementation="eager"
            ).eval()
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
    state = model.state_dict()
    merged = 0
    for key, a in arrays.items():
        if ".lora_A." in key:
            base = key.replace(".lora_A.weight", ".weight")
            b = arrays[key.replace(".lora_A.", ".lora_B.")]
            if base not in state:
                raise CrossEncoderParametersError(params, f"adapter for {base}, which the base model lacks")
            state[base] += scale * torch.from_numpy(b.astype(np.float32) @ a.astype(np.float32))
            merged += 1
        elif ".lora_B." not in key:
            if key not in state or tuple(state[key].shape) != a.shape:
                raise CrossEncoderParametersError(params, f"parameter {key} does not fit the base model")
            state[key] = torch.from_numpy(a.astype(np.float32))
    model.load_state_dict(state)
    log.info("merged %d adapters into %s", merged, model_path)

    class Logit(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).logits[:, 0]

    onnxmodel.trace_to_onnx(Logit(model), ["input_ids", "attention_mask", "token_type_ids"], "logit", dest)


class CrossEncoder:
    """Scores (question, sentence) pairs with the merged cross-encoder graph in ONNX Runtime."""

    def __init__(self, precision: str = "auto", params: Path = PARAMS, model_path: Path | None = None, cache_dir: Path | None = None, threads: int = 2) -> None:
        self.params = Path(params)
        self.model_path = Path(model_path) if model_path else minilm_path()
        self.precision = onnxmodel.auto_precision() if precision == "auto" else precision
        self.cache_dir = cache_dir
        self.threads = threads
        arrays, self.meta = read_params(self.params)
        # the graph depends on the weights only (not on the operating point kept beside them)
        h = hashlib.sha256()
        for k in sorted(arrays):
            h.update(k.encode())
            h.update(np.ascontiguousarray(arrays[k]).tobytes())
        self.weights_digest = h.hexdigest()
        self.max_tokens = int(self.meta.get("max_tokens", 128))
        self.min_prob = float(self.meta.get("min_prob", 0.5))
        self._session: Any = None
        self._lock = threading.Lock()

    def graph(self) -> Path:
        h = hashlib.sha256()
        h.update(onnxmodel.weights_sha256(self.model_path, self.cache_dir).encode())
        h.update(self.weights_digest.encode())
        h.update(RECIPE.encode())
        stem = f"answer-crossenc-{h.hexdigest()[:20]}"
        dest = onnxmodel.graph_file(stem, self.precision, self.cache_dir)
        return onnxmodel.ensure_graph(dest, lambda p: export_merged(self.model_path, self.params, p), "the cross-encoder")

    def session(self) -> Any:
        with self._lock:
            if self._session is None:
                self._session = onnxmodel.make_session(self.graph(), self.threads)
            return self._session

    def logits(self, question: str, sentences: list[str]) -> np.ndarray:
        if not sentences:
            return np.zeros(0, dtype=np.float32)
        encs = _encoding_tokenizer(self.model_path, self.max_tokens).encode_batch([(question, s) for s in sentences])
        inputs = onnxmodel.padded([e.ids for e in encs], [e.type_ids for e in encs])
        return self.session().run(None, inputs)[0].astype(np.float32)

    def probabilities(self, question: str, sentences: list[str]) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-np.clip(self.logits(question, sentences), -30, 30)))


@lru_cache(maxsize=4)
def load_cross_encoder(precision: str = "auto", params: Path = PARAMS) -> CrossEncoder:
    return CrossEncoder(precision, params)
