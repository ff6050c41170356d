"""Eval reports: JSON (everything), Markdown (summary, per-item table, plots) and `compare`.

    write_reports(result, out_dir) -> {"json": ..., "markdown": ..., "plots": [...]}

Plots are PNGs drawn with matplotlib's Agg backend (no display needed), imported lazily.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evals.metrics import METRICS

log = logging.getLogger(__name__)

#: per-item booleans whose flips `compare` lists
FLIP_KEYS = ("correct", "refusal_correct", "citation_valid")


class ReportError(ValueError):
    """A report file given to `compare` is unreadable or not an eval report."""


def fmt(value: Any, name: str = "") -> str:
    if value is None:
        return "-"
    if name.startswith("latency"):
        return f"{value:.0f} ms"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def metrics_table(metrics: Mapping[str, Any]) -> str:
    lines = ["| metric | value | what |", "|---|---|---|"]
    for name, (_, what) in METRICS.items():
        if name in metrics:
            lines.append(f"| `{name}` | {fmt(metrics[name], name)} | {what} |")
    counts = ", ".join(f"{k} {metrics[k]}" for k in ("items", "answerable", "unanswerable", "off_topic", "refused") if k in metrics)
    return "\n".join(lines) + f"\n\n{counts}\n"


def _cell(text: Any, width: int = 90) -> str:
    s = " ".join(str(text if text is not None else "").split()).replace("|", "\\|")
    return s if len(s) <= width else s[: width - 1] + "…"


def item_table(rows: Sequence[Mapping[str, Any]]) -> str:
    lines = [
        "| id | kind | refused | ok | facts | valid | R@5 | RR | faith | ms | question | answer / reason |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ret = r.get("retrieval") or {}
        ok = r.get("correct") if r["kind"] == "answerable" else r.get("refusal_correct")
        answer = f"REFUSED: {r.get('refusal_reason') or r.get('error') or ''}" if r["refused"] else r.get("answer", "")
        if r.get("missing_facts") and not r["refused"]:
            answer += f" (missing: {', '.join(r['missing_facts'])})"
        lines.append(
            "| {id} | {kind} | {refused} | {ok} | {facts} | {valid} | {r5} | {rr} | {faith} | {ms} | {q} | {a} |".format(
                id=r["id"],
                kind=r["kind"],
                refused="yes" if r["refused"] else "",
                ok="✔" if ok else "✘",
                facts=fmt(r.get("key_fact_coverage")),
                valid="" if r.get("citation_valid", True) else "✘ " + _cell("; ".join(r.get("citation_problems", [])), 40),
                r5=fmt(ret.get("recall@5")),
                rr=fmt(ret.get("mrr")),
                faith=fmt(r.get("faithfulness")),
                ms=fmt(r.get("latency_ms") and round(r["latency_ms"])),
                q=_cell(r.get("standalone") or r.get("question"), 70),
                a=_cell(answer, 200),
            )
        )
    return "\n".join(lines) + "\n"


def plot(result: Mapping[str, Any], out_dir: Path) -> list[Path]:
    """Histograms: judge support scores of answer sentences, latency, key-fact coverage."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["items"]
    out: list[Path] = []

    def hist(values: Sequence[float], name: str, title: str, xlabel: str, ylabel: str, color: str, *,
             bins: Any = 20, value_range: tuple[float, float] | None = None, marks: Sequence[tuple[float | None, str, str]] = ()) -> None:
        """One histogram with optional dashed vertical marks (value, label, colour), saved as `name`."""
        if not values:
            return
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.hist(values, bins=bins, range=value_range, color=color)
        shown = [(v, label, c) for v, label, c in marks if v is not None]
        for v, label, c in shown:
            ax.axvline(v, color=c, linestyle="--", label=label)
        if shown:
            ax.legend()
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        fig.tight_layout()
        path = out_dir / name
        fig.savefig(path, dpi=100)
        plt.close(fig)
        out.append(path)

    meta, metrics = result["metadata"], result["metrics"]
    thr = meta.get("judge_threshold")
    hist(
        result.get("judge_scores") or [], "judge_scores.png", "Judge support scores of answer sentences (cited chunks)",
        f"support score ({meta.get('judge')})", "answer sentences", "#4878a8",
        value_range=(0, 1), marks=[(thr, f"threshold {thr:.2f}" if thr is not None else "", "#c44")],
    )
    p50, p95 = metrics.get("latency_p50_ms"), metrics.get("latency_p95_ms")
    hist(
        [r["latency_ms"] for r in rows if r.get("latency_ms") is not None], "latency.png", "Latency",
        "answer latency (ms, Answer.timings_ms.total)", "items", "#6a9f58",
        marks=[(p50, f"p50 {p50:.0f} ms" if p50 is not None else "", "#333"), (p95, f"p95 {p95:.0f} ms" if p95 is not None else "", "#c44")],
    )
    hist(
        [r["key_fact_coverage"] for r in rows if r.get("key_fact_coverage") is not None], "key_fact_coverage.png",
        "Answer correctness distribution", "key-fact coverage (answerable items; refused = 0)", "items", "#b8860b",
        bins=[0, 0.01, 0.34, 0.51, 0.67, 0.99, 1.0001],
    )
    return out


def markdown(result: Mapping[str, Any], plots: Sequence[Path], gates: Sequence[str] = ()) -> str:
    m = result["metadata"]
    lines = [
        f"# Eval report: {m['dataset_name']}",
        "",
        f"- dataset: `{m['dataset']}` (sha256 `{m['dataset_sha256'][:16]}`, {m['dataset_kind']})",
        f"- git commit: `{m.get('git_commit')}`; settings fingerprint `{m['settings_fingerprint']}`",
        f"- models: embeddings `{m['embedding_model']}`, answers `{m['llm']}` ({', '.join(m.get('answer_modes') or [])}), "
        f"judge `{m.get('judge')}` (threshold {m.get('judge_threshold')})",
        f"- run: {m['started']}, {m['seconds']} s; top_k {m['top_k']}, retrieval metrics @ {m['retrieval_k']}"
        + (f"; conversations: {m['conversation_mode']}" if m.get("conversation_mode") else ""),
        "",
        "## Metrics",
        "",
        metrics_table(result["metrics"]),
    ]
    if gates:
        lines += ["## Gates", ""] + [f"- {g}" for g in gates] + [""]
    if m.get("evidence_not_located"):
        lines += ["**Gold evidence not found in the store** (retrieval metrics undercount):", ""]
        lines += [f"- {e}" for e in m["evidence_not_located"]] + [""]
    if plots:
        lines += ["## Distributions", ""] + [f"![{p.stem}]({p.name})" for p in plots] + [""]
    failing = [r for r in result["items"] if not (r.get("correct") if r["kind"] == "answerable" else r.get("refusal_correct"))]
    lines += [f"## Items ({len(failing)} wrong of {len(result['items'])})", "", item_table(result["items"])]
    return "\n".join(lines)


def write_reports(result: Any, out_dir: str | Path, gates: Sequence[str] = ()) -> dict[str, Any]:
    """report.json + report.md + PNG plots into out_dir (created)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = result.to_dict() if hasattr(result, "to_dict") else dict(result)
    data["gates_failed"] = list(gates)
    json_path = out / "report.json"
    json_path.write_text(json.dumps(data, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    plots = plot(data, out)
    md_path = out / "report.md"
    md_path.write_text(markdown(data, plots, gates), encoding="utf-8")
    return {"json": str(json_path), "markdown": str(md_path), "plots": [str(p) for p in plots]}


# --- compare ----------------------------------------------------------------------------------
def load_report(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportError(f"{p}: cannot read: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise ReportError(f"{p}: not JSON: {exc.msg} at line {exc.lineno}") from exc
    if not isinstance(data, dict) or "metrics" not in data or "items" not in data:
        raise ReportError(f"{p}: not an eval report (want the report.json of `eval run`)")
    return data


def compare(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """B relative to A: per-metric deltas (better/worse by the metric's direction) and flipped items."""
    deltas: dict[str, Any] = {}
    for name, (higher_better, _) in METRICS.items():
        va, vb = a["metrics"].get(name), b["metrics"].get(name)
        if va is None and vb is None:
            continue
        entry: dict[str, Any] = {"a": va, "b": vb, "delta": None, "change": "n/a"}
        if va is not None and vb is not None:
            d = vb - va
            entry["delta"] = d
            tol = 1e-9 if not name.startswith("latency") else 0.0
            if abs(d) <= tol:
                entry["change"] = "same"
            else:
                entry["change"] = "better" if (d > 0) == higher_better else "worse"
        deltas[name] = entry
    items_a = {r["id"]: r for r in a["items"]}
    items_b = {r["id"]: r for r in b["items"]}
    flips: dict[str, dict[str, list[str]]] = {}
    for key in FLIP_KEYS:
        fixed, broken = [], []
        for item_id in items_a.keys() & items_b.keys():
            x, y = items_a[item_id].get(key), items_b[item_id].get(key)
            if x is None or y is None or bool(x) == bool(y):
                continue
            (fixed if y else broken).append(item_id)
        flips[key] = {"fixed": sorted(fixed), "broken": sorted(broken)}
    refusals = {
        "now_refused": sorted(i for i in items_a.keys() & items_b.keys() if not items_a[i]["refused"] and items_b[i]["refused"]),
        "now_answered": sorted(i for i in items_a.keys() & items_b.keys() if items_a[i]["refused"] and not items_b[i]["refused"]),
    }
    meta_keys = ("dataset_sha256", "settings_fingerprint", "git_commit", "llm", "judge", "embedding_model")
    ma, mb = a.get("metadata", {}), b.get("metadata", {})
    return {
        "metrics": deltas,
        "flips": flips,
        "refusals": refusals,
        "only_in_a": sorted(items_a.keys() - items_b.keys()),
        "only_in_b": sorted(items_b.keys() - items_a.keys()),
        "metadata_changed": {k: {"a": ma.get(k), "b": mb.get(k)} for k in meta_keys if ma.get(k) != mb.get(k)},
    }


def format_compare(c: Mapping[str, Any], name_a: str = "A", name_b: str = "B") -> str:
    lines = [f"{name_b} vs {name_a}", ""]
    for k, v in c["metadata_changed"].items():
        lines.append(f"  {k}: {v['a']} -> {v['b']}")
    if c["metadata_changed"]:
        lines.append("")
    width = max((len(n) for n in c["metrics"]), default=10)
    for name, e in c["metrics"].items():
        d = e["delta"]
        ds = "" if d is None else (f"{d:+.1f} ms" if name.startswith("latency") else f"{d:+.3f}")
        lines.append(f"  {name:<{width}}  {fmt(e['a'], name):>9} -> {fmt(e['b'], name):>9}  {ds:>10}  {e['change']}")
    lines.append("")
    for key, f in c["flips"].items():
        if f["fixed"]:
            lines.append(f"  {key}: fixed   {', '.join(f['fixed'])}")
        if f["broken"]:
            lines.append(f"  {key}: broken  {', '.join(f['broken'])}")
    for key in ("now_refused", "now_answered"):
        if c["refusals"][key]:
            lines.append(f"  {key.replace('_', ' ')}: {', '.join(c['refusals'][key])}")
    for key in ("only_in_a", "only_in_b"):
        if c[key]:
            lines.append(f"  {key.replace('_', ' ')}: {', '.join(c[key])}")
    return "\n".join(lines)
