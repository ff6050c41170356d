"""Trained models that ship as a small parameter file over the packaged MiniLM.

The answer scorers (the cross-encoder, the span reader) share one life cycle: a `.npz` of trained
tensors plus JSON metadata (training record, operating point) ships in the repository; on first
use the tensors are put over the installed weights by an `export` function (which imports torch)
and the model is traced to one ONNX graph, cached under a fingerprint of the base weights, the
parameter tensors and the export recipe; afterwards every call is ONNX Runtime. `TrainedGraph`
holds that life cycle; a scorer adds its own inputs and outputs.
"""

from __future__ import annotations

import hashlib
import json
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from assistant.encode import onnxmodel
from assistant.encode.embed import minilm_path
from assistant.errors import AssistantError

_UNREADABLE = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)


class ParametersError(AssistantError):
    """A parameter file is missing, unreadable or does not fit the base model."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        super().__init__(f"{path}: {reason}")


def read_params(path: Path, error: type[ParametersError], what: str, hint: str = "") -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The tensors and the metadata of a parameter file; `error` (naming the file) if unreadable."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files if k != "meta"}
            meta = json.loads(str(z["meta"]))
    except _UNREADABLE as exc:
        raise error(path, f"cannot read {what} ({exc}){'; ' + hint if hint else ''}") from exc
    return arrays, meta


def read_meta(path: Path, error: type[ParametersError], what: str, hint: str = "") -> tuple[dict[str, Any], str]:
    """The metadata and a digest of the tensors: names, CRC-32s and sizes of the zip members (no
    decompression, so opening costs milliseconds). The metadata (operating point) does not count."""
    try:
        with zipfile.ZipFile(path) as z:
            h = hashlib.sha256()
            for info in sorted(z.infolist(), key=lambda i: i.filename):
                if info.filename != "meta.npy":
                    h.update(f"{info.filename}:{info.CRC}:{info.file_size};".encode())
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"]))
    except _UNREADABLE as exc:
        raise error(path, f"cannot read {what} ({exc}){'; ' + hint if hint else ''}") from exc
    return meta, h.hexdigest()


def load_base(model_class: Any, model_path: Path, **kwargs: Any) -> Any:
    """The packaged MiniLM under a transformers head class, in eval mode, without transformers'
    report that the head is new (the head comes from the parameter file)."""
    import warnings

    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return model_class.from_pretrained(str(model_path), local_files_only=True, attn_implementation="eager", **kwargs).eval()
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


class TrainedGraph:
    """A parameter file over the packaged MiniLM, exported once to ONNX, run by ONNX Runtime.

    Subclasses set `STEM` (graph file name), `RECIPE` (bump when the export changes), `NAME` (for
    messages), `HINT` (how to rebuild the file), `ERROR` (their `ParametersError`) and implement
    `export(dest)`."""

    STEM = "trained"
    RECIPE = "v1"
    NAME = "the trained model"
    HINT = ""
    ERROR: type[ParametersError] = ParametersError

    def __init__(self, params: Path, precision: str = "auto", model_path: Path | None = None, cache_dir: Path | None = None, threads: int = 2) -> None:
        self.params = Path(params)
        self.model_path = Path(model_path) if model_path else minilm_path()
        self.precision = onnxmodel.auto_precision() if precision == "auto" else precision
        self.cache_dir = cache_dir
        self.threads = threads
        self.meta, self.weights_digest = read_meta(self.params, self.ERROR, f"{self.NAME}'s parameters", self.HINT)
        self.min_prob = float(self.meta.get("min_prob", 0.5))
        self._session: Any = None
        self._lock = threading.Lock()

    def arrays(self) -> dict[str, np.ndarray]:
        return read_params(self.params, self.ERROR, f"{self.NAME}'s parameters", self.HINT)[0]

    def export(self, dest: Path) -> None:
        raise NotImplementedError

    def graph(self) -> Path:
        """The ONNX graph, exported on first use; keyed by the base weights, the tensors and the recipe."""
        h = hashlib.sha256()
        h.update(onnxmodel.weights_sha256(self.model_path, self.cache_dir).encode())
        h.update(self.weights_digest.encode())
        h.update(self.RECIPE.encode())
        dest = onnxmodel.graph_file(f"{self.STEM}-{h.hexdigest()[:20]}", self.precision, self.cache_dir)
        return onnxmodel.ensure_graph(dest, self.export, self.NAME)

    def session(self) -> Any:
        with self._lock:
            if self._session is None:
                self._session = onnxmodel.make_session(self.graph(), self.threads)
            return self._session

    def run(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        return self.session().run(None, inputs)[0]

    def fit_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray], skip: Callable[[str], bool] = lambda k: False) -> None:
        """Put the file's tensors over `state` (torch tensors), each checked against the base model's shape."""
        import torch

        for key, a in arrays.items():
            if skip(key):
                continue
            if key not in state or tuple(state[key].shape) != a.shape:
                raise self.ERROR(self.params, f"parameter {key} does not fit the base model")
            state[key] = torch.from_numpy(a.astype(np.float32))
