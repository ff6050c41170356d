"""Sentences/s of each MiniLM encoder on the same SciFact sentences, and the share of the CPU's
peak FLOP/s the best one reaches.

Encoders: sentence-transformers (torch, fp32, its own length sorting, batch 64) and the project's
ONNX Runtime graph in fp32 and int8 (`assistant.encode`), each with one intra-op thread and with
all cores. Every encoder embeds the same sentences (those ingest embeds: the SciFact abstracts
split by `assistant.text.sentences`), after one warm-up pass on the first 64; the passes are
interleaved round by round (A B C ... A B C ...) and the median pass is reported, so load from
other jobs on the machine hits every encoder alike. Single-question latency: p50 of embedding one
claim at a time.

FLOPs: MiniLM-L6 (6 layers, hidden 384, FFN 1,536) does 2 x (4 x 384^2 + 2 x 384 x 1536) =
3.54 MFLOP per token per layer in its matmuls, plus attention 4 x L x 384 per token per layer
for a sequence of L tokens: 21.2 MFLOP per token plus 9.2 kFLOP x L. Peak FLOP/s = cores x clock
(cpu MHz in /proc/cpuinfo) x fp32 FLOPs per cycle per core for the widest FMA the flags show:
avx512f 2 FMA units x 16 lanes x 2 = 64, avx2+fma 32, else 8 (SSE) - the nominal figure; AMD Zen 4
executes 512-bit FMAs in two halves (32), Zen 5 in full. int8 (VNNI) peak is 4x the fp32 one.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import Section, machine, median, scifact_subset

LAYERS, HIDDEN, FFN = 6, 384, 1536


def flops_per_sequence(n_tokens: int) -> float:
    matmul = 2 * (4 * HIDDEN * HIDDEN + 2 * HIDDEN * FFN) * n_tokens
    attention = 4 * n_tokens * n_tokens * HIDDEN
    return float(LAYERS * (matmul + attention))


def peak_flops() -> tuple[float, str]:
    """(fp32 FLOP/s, how it was computed) from /proc/cpuinfo."""
    text = Path("/proc/cpuinfo").read_text(errors="ignore") if Path("/proc/cpuinfo").exists() else ""
    mhz = [float(m) for m in re.findall(r"cpu MHz\s*:\s*([\d.]+)", text)]
    ghz = (max(mhz) / 1000) if mhz else float("nan")
    flags = set(re.search(r"flags\s*:\s*(.*)", text).group(1).split()) if "flags" in text else set()  # type: ignore[union-attr]
    if "avx512f" in flags:
        per_cycle, isa = 64, "AVX-512 (2 FMA x 16 fp32 lanes x 2)"
    elif "avx2" in flags and "fma" in flags:
        per_cycle, isa = 32, "AVX2 (2 FMA x 8 fp32 lanes x 2)"
    else:
        per_cycle, isa = 8, "SSE (2 x 4 fp32 lanes)"
    cores = os.cpu_count() or 1
    return cores * ghz * 1e9 * per_cycle, f"{cores} cores x {ghz:.2f} GHz x {per_cycle} FLOP/cycle, {isa}"


def sentences(n_docs: int) -> list[str]:
    from assistant.text.sentences import split_sentences

    docs, _ = scifact_subset(n_docs)
    return [d.text[a:b] for d in docs for a, b in split_sentences(d.text, 0, len(d.text))]


def _encoders(threads: int) -> dict[str, Any]:
    from assistant.encode.embed import Embedder

    out: dict[str, Any] = {}

    def onnx(precision: str, n: int) -> Any:
        e = Embedder(precision=precision)
        e.threads = n
        e.multi_thread_min_batch = 1  # a single question too runs with n threads
        e.model_file()
        return e.embed

    for precision in ("fp32", "int8"):
        out[f"ONNX Runtime {precision}, 1 thread"] = onnx(precision, 1)
        if threads > 1:
            out[f"ONNX Runtime {precision}, {threads} threads"] = onnx(precision, threads)
    import torch
    from sentence_transformers import SentenceTransformer

    from assistant.encode.embed import minilm_path

    torch.set_num_threads(threads)
    st = SentenceTransformer(str(minilm_path()), device="cpu", local_files_only=True)

    def torch_encode(texts: list[str]) -> np.ndarray:
        with torch.inference_mode():
            return st.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)

    out[f"sentence-transformers (torch fp32, {threads} threads)"] = torch_encode
    return out


#: word pieces per batch tried by `batch_budget_sweep` (`embed.MAX_BATCH_TOKENS` is the default)
BUDGETS = (384, 768, 1536, 16384)


def batch_budget_sweep(texts: list[str], threads: int, rounds: int) -> dict[int, float]:
    """Sentences/s of the `auto` precision at several batch budgets: the best budget depends on the
    CPU's caches, so a new CPU shows here whether `MAX_BATCH_TOKENS` suits it."""
    from assistant.encode import embed

    e = embed.Embedder(precision="auto")
    e.threads = threads
    e.embed(texts[:64])
    saved, out = embed.MAX_BATCH_TOKENS, {}
    try:
        for budget in BUDGETS:
            embed.MAX_BATCH_TOKENS = budget
            secs = []
            for _ in range(rounds):
                t = time.perf_counter()
                e.embed(texts, batch_size=256)
                secs.append(time.perf_counter() - t)
            out[budget] = len(texts) / median(secs)
    finally:
        embed.MAX_BATCH_TOKENS = saved
    return out


def run(n_docs: int, rounds: int = 3, n_queries: int = 40) -> list[Section]:
    from assistant.encode.embed import Embedder, _encoding_tokenizer

    texts = sentences(n_docs)
    e = Embedder(precision="fp32")
    tokens = [len(x.ids) for x in _encoding_tokenizer(e.model_path, e.max_tokens).encode_batch(texts)]
    flops = sum(flops_per_sequence(n) for n in tokens)
    threads = os.cpu_count() or 1
    encoders = _encoders(threads)
    before = machine()
    times: dict[str, list[float]] = {k: [] for k in encoders}
    ref = None
    agreement: dict[str, float] = {}
    for fn in encoders.values():
        fn(texts[:64])
    for _ in range(rounds):
        for name, fn in encoders.items():
            t = time.perf_counter()
            vecs = fn(texts)
            times[name].append(time.perf_counter() - t)
            if ref is None:
                ref = vecs  # ONNX fp32, 1 thread: the reference for cosines
            agreement[name] = float(np.min(np.sum(vecs * ref, axis=1)))
    _, queries = scifact_subset(n_docs)
    claims = [c for c, _ in list(queries.values())[:n_queries]]
    latency: dict[str, list[float]] = {}
    for name, fn in encoders.items():
        if "sentence-transformers" in name:
            continue
        latency[name] = []
        for c in claims:
            t = time.perf_counter()
            fn([c])
            latency[name].append((time.perf_counter() - t) * 1000)
    peak, how = peak_flops()
    s = Section("encoders")
    best_name, best = "", 0.0
    for name in encoders:
        sec = median(times[name])
        rate = len(texts) / sec
        if rate > best:
            best_name, best = name, rate
        s.add(f"{name}: sentences/s", rate, None, "sent/s")
        s.add(f"{name}: embedded tokens/s", sum(tokens) / sec, None, "tok/s")
        if name in latency:
            s.add(f"{name}: one question p50", median(latency[name]), None, "ms", higher_is_better=False)
        s.add(f"{name}: min cosine to ONNX fp32", agreement[name], None, "")
    sweep = batch_budget_sweep(texts, threads, rounds)
    for budget, rate in sweep.items():
        s.add(f"ONNX Runtime {Embedder(precision='auto').precision}, {threads} threads, <= {budget} tokens per batch: sentences/s", rate, None, "sent/s")
    best_flops = flops / (len(texts) / best)
    s.add(f"best ({best_name}): model GFLOP/s", best_flops / 1e9, None, "GFLOP/s")
    s.add(f"best: share of fp32 peak ({peak / 1e9:.0f} GFLOP/s)", 100 * best_flops / peak, None, "%")
    s.info = {
        "sentences": len(texts),
        "tokens_with_specials": sum(tokens),
        "model_flops": flops,
        "peak_fp32_flops": peak,
        "peak_how": how,
        "seconds": times,
        "question_ms": latency,
        "machine_before": before,
        "machine_after": machine(),
        "batch_budget_sweep": sweep,
        "cpu_flags": sorted(f for f in _flags() if f.startswith(("avx", "amx", "fma", "f16c"))),
    }
    return [s]


def _flags() -> set[str]:
    from assistant.encode.onnxmodel import cpu_flags

    return set(cpu_flags())
