"""docs/img/perf_*.png from a benchmark results JSON (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot(results: dict[str, Any], out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    sections = {s["name"]: s for s in results.get("sections", [])}
    mode = results.get("mode", "")
    made: list[Path] = []
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ing = sections.get("ingest")
    if ing:
        r = {row["metric"]: row for row in ing["rows"]}
        names = ["documents/s", "SciFact nDCG@10 (project hybrid)"]
        ax = axes[0]
        vals = [(r[n]["project"], r[n]["baseline"]) for n in names if n in r]
        x = range(len(vals))
        ax.bar([i - 0.2 for i in x], [v[0] for v in vals], 0.4, label="project")
        ax.bar([i + 0.2 for i in x], [v[1] for v in vals], 0.4, label="LlamaIndex defaults")
        ax.set_xticks(list(x), ["ingest docs/s", "nDCG@10"])
        ax.set_title(f"SciFact ingest ({ing['info'].get('docs')} abstracts)")
        ax.legend()
    q = sections.get("query")
    if q:
        sizes = sorted(int(k) for k in q["info"])
        ax = axes[1]
        from statistics import median

        for key, label in (("retrieve", "project retrieval"), ("answer", "project extractive answer"), ("baseline_retrieve", "LlamaIndex retriever")):
            ys = [median(q["info"][str(n)][key]) if q["info"][str(n)][key] else float("nan") for n in sizes]
            ax.plot(sizes, ys, marker="o", label=label)
        ax.axhline(50, ls="--", c="grey", lw=0.8)
        ax.axhline(150, ls=":", c="grey", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("chunks in store")
        ax.set_ylabel("p50 latency (ms)")
        ax.set_title("query latency (targets: 50 / 150 ms)")
        ax.legend(fontsize=8)
    ax = axes[2]
    bars = []
    cs = sections.get("cold start")
    if cs:
        row = cs["rows"][0]
        bars.append(("ask cold start (s)", row["project"], row["baseline"]))
    mem = sections.get("memory")
    if mem:
        for row in mem["rows"]:
            if "questions" in row["metric"]:
                bars.append(("query peak RSS (GB)", row["project"] / 1024, (row["baseline"] or 0) / 1024))
            elif "ingest" in row["metric"]:
                bars.append(("ingest peak RSS (GB)", row["project"] / 1024, 0))
    if bars:
        x = range(len(bars))
        ax.bar([i - 0.2 for i in x], [b[1] for b in bars], 0.4, label="project")
        ax.bar([i + 0.2 for i in x], [b[2] for b in bars], 0.4, label="LlamaIndex defaults")
        ax.set_xticks(list(x), [b[0] for b in bars], fontsize=8)
        ax.set_title("cold start (target 4 s) and memory (target 2 GB)")
        ax.legend(fontsize=8)
    fig.suptitle(f"ct-assistant vs LlamaIndex defaults ({mode} run, 2 shared CPU cores)")
    fig.tight_layout()
    path = out_dir / f"perf_{mode or 'run'}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    made.append(path)
    return made
