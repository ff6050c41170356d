"""Shared pieces of the benchmarks: SciFact loading, nDCG@10, timing statistics, the table, JSON."""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import random
import re
import statistics
import time
import tokenize
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = Path(os.environ.get("CT_BENCH_SCIFACT", ROOT.parent / "shared" / "benchmarks" / "scifact"))
DEFAULT_WORK = Path(os.environ.get("CT_BENCH_WORK", "/tmp/ct-bench"))

def quiet_env() -> None:
    """The project's offline environment (no hub, no telemetry) for benchmark processes."""
    from assistant.config import apply_offline_env

    apply_offline_env()


@dataclass
class SciDoc:
    sid: str
    title: str
    text: str  # title, blank line, abstract sentences joined by spaces


def _sentences(abstract: str) -> list[str]:
    """The abstract column is a numpy-style list repr (`['a'\\n 'b']`): read its string literals one by one."""
    import ast

    out = []
    for tok in tokenize.generate_tokens(io.StringIO(abstract).readline):
        if tok.type == tokenize.STRING:
            out.append(str(ast.literal_eval(tok.string)))
    return out or [abstract]


def load_corpus() -> list[SciDoc]:
    with (SCIFACT / "corpus_train.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    return [SciDoc(r["doc_id"], r["title"].strip(), r["title"].strip() + "\n\n" + " ".join(s.strip() for s in _sentences(r["abstract"]))) for r in rows]


def load_queries() -> dict[str, tuple[str, set[str]]]:
    """claim id -> (claim, relevant doc ids) for claims with at least one cited document."""
    out: dict[str, tuple[str, set[str]]] = {}
    with (SCIFACT / "claims_validation.csv").open(newline="") as f:
        for r in csv.DictReader(f):
            cited = set(re.findall(r"\d+", r["cited_doc_ids"] or ""))
            if not cited:
                continue
            claim, rel = out.get(r["id"], (r["claim"], set()))
            out[r["id"]] = (claim, rel | cited)
    return out


def scifact_subset(n_docs: int | None, seed: int = 13) -> tuple[list[SciDoc], dict[str, tuple[str, set[str]]]]:
    """All of SciFact, or `n_docs` of it: half cited by some claim, half not (seeded); with the claims
    whose relevant documents are all in the subset."""
    docs = load_corpus()
    queries = load_queries()
    if n_docs is None or n_docs >= len(docs):
        known = {d.sid for d in docs}
        return docs, {q: (c, r & known) for q, (c, r) in queries.items() if r & known}
    rng = random.Random(seed)
    relevant = sorted({d for _, r in queries.values() for d in r})
    by_id = {d.sid: d for d in docs}
    rel_docs = [by_id[s] for s in relevant if s in by_id]
    rng.shuffle(rel_docs)
    chosen = rel_docs[: n_docs // 2]
    chosen_ids = {d.sid for d in chosen}
    others = [d for d in docs if d.sid not in chosen_ids and d.sid not in set(relevant)]
    rng.shuffle(others)
    chosen += others[: n_docs - len(chosen)]
    ids = {d.sid for d in chosen}
    qs = {q: (c, r) for q, (c, r) in queries.items() if r and r <= ids}
    chosen.sort(key=lambda d: int(d.sid))
    return chosen, qs


def ndcg_at_10(ranked: list[str], relevant: set[str]) -> float:
    import math

    seen: list[str] = []
    for d in ranked:
        if d not in seen:
            seen.append(d)
        if len(seen) == 10:
            break
    dcg = sum(1.0 / math.log2(i + 2) for i, d in enumerate(seen) if d in relevant)
    idcg = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), 10)))
    return dcg / idcg if idcg else 0.0


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    k = (len(v) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


@dataclass
class Row:
    metric: str
    project: float | None
    baseline: float | None = None
    unit: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""
    higher_is_better: bool = True

    @property
    def ratio(self) -> float | None:
        if self.project is None or self.baseline is None or not self.project or not self.baseline:
            return None
        return self.project / self.baseline if self.higher_is_better else self.baseline / self.project

    def to_dict(self) -> dict[str, Any]:
        d = self.__dict__.copy()
        d["ratio"] = self.ratio
        return d


@dataclass
class Section:
    name: str
    rows: list[Row] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    def add(self, *args: Any, **kwargs: Any) -> Row:
        row = Row(*args, **kwargs)
        self.rows.append(row)
        return row

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "rows": [r.to_dict() for r in self.rows], "info": self.info}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Section:
        fields = set(Row.__dataclass_fields__)
        return cls(d["name"], [Row(**{k: v for k, v in r.items() if k in fields}) for r in d["rows"]], d.get("info", {}))


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and v != v:
        return "nan"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


def table(sections: Iterable[Section]) -> str:
    lines = ["| metric | project | baseline (LlamaIndex defaults) | ratio (x better) | target | met |", "|---|---|---|---|---|---|"]
    for s in sections:
        for r in s.rows:
            ratio = r.ratio
            met = "" if r.met is None else ("yes" if r.met else "**no**")
            unit = f" {r.unit}" if r.unit else ""
            lines.append(
                f"| {s.name}: {r.metric} | {_fmt(r.project)}{unit} | {_fmt(r.baseline)}{unit if r.baseline is not None else ''} | "
                f"{'-' if ratio is None else f'{ratio:.2f}x'} | {r.target} | {met} |"
            )
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    flags = Path("/proc/cpuinfo").read_text(errors="ignore") if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"model name\s*:\s*(.*)", flags)
    return {
        "cpus": os.cpu_count(),
        "cpu": model.group(1) if model else platform.processor(),
        "avx2": " avx2" in flags,
        "avx512_bf16": "avx512_bf16" in flags,
        "loadavg": load,
        "python": platform.python_version(),
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def write_json(path: Path | None, payload: dict[str, Any]) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    old: dict[str, Any] = {}
    if path.exists():
        try:
            old = json.loads(path.read_text())
        except json.JSONDecodeError:
            old = {}
    # several sub-benchmarks may write into one file: merge their sections
    sections = {s["name"]: s for s in old.get("sections", [])}
    sections.update({s["name"]: s for s in payload.get("sections", [])})
    merged = {**old, **payload, "sections": list(sections.values())}
    path.write_text(json.dumps(merged, indent=2, default=str))
