"""MiniLM as an ONNX graph: exported once from the packaged weights, run by ONNX Runtime.

* `ensure_model(model_path, precision)` returns the path of a cached `.onnx` file for the
  weights and precision, exporting it on first use. The fp32 graph is exported with
  `torch.onnx.export` (the TorchScript exporter, `dynamo=False`: it works offline and needs no
  `onnxscript`); mean pooling over the attention mask and L2 normalisation are inside the graph,
  so the output is the sentence-transformers vector. The int8 graph is made from the fp32 one by
  `onnxruntime.quantization.quantize_dynamic` (int8 weights, activations quantised per batch).
  Only the export imports torch; finding and running a cached graph needs onnxruntime, numpy
  and the tokenizer.
* The cache lives in `$CT_ASSISTANT_ONNX_CACHE`, else `$XDG_CACHE_HOME/ct-assistant/onnx`, else
  `~/.cache/ct-assistant/onnx`; where this user cannot create, read or write it (a service account
  serving a read-only store), a private temporary folder stands in, with one log line. Files are named by a fingerprint: sha256 of the weights file and of
  `EXPORT_RECIPE` (bumped whenever the export changes: opset, pooling, quantisation options), so
  other weights or another recipe never reuse a stale graph. The weights' sha256 is remembered per
  (path, size, mtime) in `fingerprints.json` so a cold start does not hash 90 MB. Writes are
  atomic (temporary file, then `os.replace`), so concurrent first uses are safe.
* `auto_precision()` picks the precision from the CPU's flags only (never by timing at start-up),
  by the table measured on SciFact and recorded in docs/performance.md.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
from functools import lru_cache
from pathlib import Path
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from assistant.errors import ConfigError, ModelNotFoundError

log = logging.getLogger(__name__)

#: identifies how the graph is made; part of the cache fingerprint
EXPORT_RECIPE = "minilm-meanpool-l2/opset17/torchscript-eager/int8-dynamic-matmul-qint8-per-channel/v1"
#: identifies how the int8 graph is made from the fp32 one; part of the int8 file's name
QUANT_RECIPE = "constb-only/ffn-output-fp32-layer0/v3"
OPSET = 17
#: layers whose FFN output projection stays fp32 in the int8 graph (see `quantize_int8`)
KEEP_FP32_LAYERS: tuple[int, ...] = (0,)
PRECISIONS = ("fp32", "int8")
#: CPU features that make ONNX Runtime's int8 kernels fast (VNNI dot products or AMX tiles)
INT8_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")
_export_lock = threading.RLock()  # reentrant: the int8 graph makes the fp32 one first


def configured_cache_dir() -> Path:
    """`$CT_ASSISTANT_ONNX_CACHE`, else `$XDG_CACHE_HOME/ct-assistant/onnx`, else `~/.cache/ct-assistant/onnx`."""
    env = os.environ.get("CT_ASSISTANT_ONNX_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ct-assistant" / "onnx"


def cache_dir() -> Path:
    """The configured cache folder when this user can read it (creating it if need be), else a
    private temporary one (one log line): a service account with no usable home still answers."""
    preferred = configured_cache_dir()
    try:
        preferred.mkdir(parents=True, exist_ok=True)
        if os.access(preferred, os.R_OK | os.X_OK):
            return preferred
        why = "not readable by this user"
    except OSError as exc:
        why = exc.strerror or str(exc)
    return private_cache(str(preferred), why)


_private: dict[str, Path] = {}  # unusable cache folder -> the temporary folder standing in for it
_private_lock = threading.Lock()


def private_cache(preferred: str, why: str) -> Path:
    """A temporary cache folder of this process (mode 700) standing in for `preferred`; logged once."""
    with _private_lock:
        if preferred not in _private:
            _private[preferred] = Path(tempfile.mkdtemp(prefix="ct-assistant-onnx-"))
            atexit.register(shutil.rmtree, _private[preferred], ignore_errors=True)
            log.warning("ONNX cache %s unusable (%s); using a private temporary cache for this process: %s", preferred, why, _private[preferred])
        return _private[preferred]


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where it cannot be read)."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="ignore")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def auto_precision(flags: frozenset[str] | None = None) -> str:
    """int8 where the CPU has VNNI/AMX-int8 (measured: faster, and within 0.005 nDCG@10 of fp32 on
    SciFact, docs/performance.md); fp32 elsewhere (int8 was not measured on such CPUs)."""
    flags = cpu_flags() if flags is None else flags
    return "int8" if any(f in flags for f in INT8_FLAGS) else "fp32"


def weights_file(model_path: Path) -> Path:
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (model_path / name).exists():
            return model_path / name
    raise ModelNotFoundError("model weights (model.safetensors)", str(model_path))


def _write_atomic(dest: Path, write: Any) -> None:
    """`write(tmp_path)` then rename over `dest` (same directory, so the rename is atomic)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def weights_sha256(model_path: Path, cache: Path | None = None) -> str:
    """sha256 of the weights file, remembered per (path, size, mtime) in the cache directory."""
    w = weights_file(model_path).resolve()
    st = w.stat()
    key = f"{w}:{st.st_size}:{st.st_mtime_ns}"
    index_path = (cache or cache_dir()) / "fingerprints.json"
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        index = {}
    if isinstance(index, dict) and isinstance(index.get(key), str):
        return str(index[key])
    h = hashlib.sha256()
    with w.open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    digest = h.hexdigest()
    index = index if isinstance(index, dict) else {}
    index[key] = digest
    try:
        _write_atomic(index_path, lambda p: p.write_text(json.dumps(index, indent=1), encoding="utf-8"))
    except OSError as exc:  # a read-only cache still works, it just hashes again next time
        log.info("cannot record the weights fingerprint in %s: %s", index_path, exc)
    return digest


def fingerprint(model_path: Path, cache: Path | None = None) -> str:
    return hashlib.sha256(f"{weights_sha256(model_path, cache)}|{EXPORT_RECIPE}".encode()).hexdigest()[:20]


def graph_file(stem: str, precision: str, cache: Path | None = None) -> Path:
    """Where the graph `stem` (a name carrying its fingerprint) is cached at this precision."""
    if precision not in PRECISIONS:
        raise ConfigError("embed_precision", precision, f"expected one of {', '.join(PRECISIONS)}")
    name = f"{stem}.{precision}.onnx"
    if precision == "int8":
        tag = hashlib.sha256(QUANT_RECIPE.encode()).hexdigest()[:8]
        name = name.replace(".int8.", f".int8-{tag}.")
    return (cache or cache_dir()) / name


def model_file(model_path: Path, precision: str, cache: Path | None = None) -> Path:
    """Where the embedding graph for these weights and precision is cached (it may not exist yet)."""
    cache = cache or cache_dir()
    return graph_file(f"minilm-{fingerprint(model_path, cache)}", precision, cache)


def ensure_graph(dest: Path, export: Callable[[Path], None], what: str) -> Path:
    """The cached graph `dest` (from `graph_file`), made if missing: fp32 by `export(path)`, int8 by
    quantising the fp32 graph of the same stem. Safe under concurrent first uses (lock + atomic rename)."""
    if dest.exists():
        return dest
    with _export_lock:
        if dest.exists():
            return dest
        try:
            if ".fp32." in dest.name:
                log.info("exporting %s to ONNX (first use; cached in %s)", what, dest.parent)
                _write_atomic(dest, export)
            else:
                src = ensure_graph(dest.with_name(dest.name.split(".int8")[0] + ".fp32.onnx"), export, what)
                log.info("quantising %s to int8", src.name)
                _write_atomic(dest, lambda p: quantize_int8(src, p))
        except OSError as exc:  # a cache this user may read but not write: build the graph in a private one
            if dest.parent in _private.values():
                raise ConfigError("CT_ASSISTANT_ONNX_CACHE", str(dest.parent), f"cannot write the ONNX model there ({exc})") from exc
            return ensure_graph(private_cache(str(dest.parent), exc.strerror or str(exc)) / dest.name, export, what)
        except ImportError as exc:  # torch/transformers (export) or onnx (quantisation) missing
            raise ModelNotFoundError(f"ONNX export of {what} (needs {exc.name or exc})", str(dest)) from exc
    return dest


def ensure_model(model_path: Path, precision: str, cache: Path | None = None) -> Path:
    """The cached embedding graph, exported (fp32) or quantised (int8, from the fp32 graph) if missing."""
    return ensure_graph(model_file(model_path, precision, cache), lambda p: export_fp32(model_path, p), str(model_path))


def export_fp32(model_path: Path, dest: Path) -> None:
    """Trace the transformer + mean pooling + L2 normalisation into one ONNX graph (imports torch)."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_path), local_files_only=True, attn_implementation="eager").eval()

    class Pooled(torch.nn.Module):
        def __init__(self, encoder: Any) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=1)

    trace_to_onnx(Pooled(model), ["input_ids", "attention_mask"], "embedding", dest)


def trace_to_onnx(module: Any, input_names: list[str], output_name: str, dest: Path, output_axes: dict[int, str] | None = None) -> None:
    """`torch.onnx.export` of a BERT-style module taking (input_ids, attention_mask[, token_type_ids])
    with batch and sequence length dynamic; the one export setting used by every graph here."""
    import warnings

    import torch

    ids = torch.ones((2, 8), dtype=torch.long)
    examples = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "token_type_ids": torch.zeros_like(ids)}
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes on transformers' mask code: checked by the equality tests
        torch.onnx.export(
            module,
            tuple(examples[n] for n in input_names),
            str(dest),
            input_names=input_names,
            output_names=[output_name],
            dynamic_axes={n: {0: "batch", 1: "seq"} for n in input_names} | {output_name: output_axes or {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )


def padded(ids: Sequence[Sequence[int]], type_ids: Sequence[Sequence[int]] | None = None) -> dict[str, np.ndarray]:
    """The model inputs for a batch of token id lists, zero-padded to the longest."""
    width = max(len(i) for i in ids)
    out = {"input_ids": np.zeros((len(ids), width), dtype=np.int64), "attention_mask": np.zeros((len(ids), width), dtype=np.int64)}
    if type_ids is not None:
        out["token_type_ids"] = np.zeros((len(ids), width), dtype=np.int64)
    for row, seq in enumerate(ids):
        out["input_ids"][row, : len(seq)] = seq
        out["attention_mask"][row, : len(seq)] = 1
        if type_ids is not None:
            out["token_type_ids"][row, : len(seq)] = type_ids[row]
    return out


def quantize_int8(src: Path, dest: Path) -> None:
    """Dynamic int8 quantisation of the weight MatMuls: weights int8 per output channel,
    activations quantised per batch at run time. The FFN output projection (the MatMul after GELU,
    whose inputs have the widest range) of the layers in `KEEP_FP32_LAYERS` stays fp32.

    Measured on SciFact (full corpus, `eval scifact`, nDCG@10 dense / hybrid; speed on the same
    600 sentences, 2 threads, Zen 5 with VNNI): fp32 0.690 / 0.731; every weight MatMul int8
    0.685 / 0.723 (outside the 0.005 budget), 664 sent/s; FFN output fp32 in all six layers (v2)
    0.688 / 0.731, 482 sent/s; **in layer 0 only (v3, adopted) 0.691 / 0.728, 626 sent/s**; in
    layers 0-1 0.689 / 0.726. Layer 0 is the sensitive one (cosine to fp32 on 600 sentences: mean
    0.99467 with it kept, 0.99331 with layer 5 kept instead, 0.99325 with none).
    Per tensor, or with the embedding Gather quantised too, vectors drift further (cosine to fp32
    0.95 mean / 0.91 min on SciFact sentences)."""
    import re

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(src), load_external_data=False).graph
    keep_fp32 = [
        n.name for n in graph.node
        if n.op_type == "MatMul" and (m := re.search(r"layer\.(\d+)/output/dense/MatMul$", n.name)) and int(m.group(1)) in KEEP_FP32_LAYERS
    ]
    logging.getLogger().disabled, was = True, logging.getLogger().disabled  # its "consider pre-processing" warning
    try:
        quantize_dynamic(
            str(src),
            str(dest),
            op_types_to_quantize=["MatMul"],
            weight_type=QuantType.QInt8,
            per_channel=True,
            nodes_to_exclude=keep_fp32,
            extra_options={"MatMulConstBOnly": True},
        )
    finally:
        logging.getLogger().disabled = was


def make_session(path: Path, threads: int) -> Any:
    """An ONNX Runtime CPU session with every graph optimisation and `threads` intra-op threads."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = max(1, threads)
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = 3
    if threads > 1:
        # idle intra-op threads sleep instead of spinning: on a shared 2-core machine (load 10) spinning
        # made 2 threads 0.6x one thread in one run; without it 2 threads were 1.14x (docs/performance.md)
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
