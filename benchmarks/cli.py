"""`ct-assistant bench ...` / `python -m benchmarks ...`: side-by-side benchmarks vs LlamaIndex defaults.

  bench ingest     ingest docs/s + tokens/s + SciFact nDCG@10, and re-ingest of the unchanged corpus
  bench query      retrieval / extractive-answer latency p50/p95 at 1k, 10k, 100k chunks
  bench memory     peak RSS (child processes) writing, ingesting into and querying a 100k store
  bench cold       `ct-assistant ask` process start -> first printed answer
  bench server     query latency against a `chroma run` server vs the local PersistentClient
  bench encoders   sentences/s of torch, ONNX fp32, ONNX int8 (1 thread / all cores) on the same sentences; share of peak FLOP/s
  bench catalog    the PostgreSQL catalog (catalog_url) vs SQLite: ingest docs/s, SciFact nDCG@10, ask p50/p95 at 10k/100k
  bench lexical    BM25 engines on the same terms: bm25.py vs bm25s (SciFact nDCG@10, p50/p95 at 5k and 100k rows)
  bench stages     per-stage latency (embedding, HNSW, BM25 snapshot vs FTS5, answer) at the largest size
  bench all        all of the above; `--quick` for the CI-sized run
  bench plot       docs/img/perf*.png from a results JSON
  bench table      the markdown table of a results JSON (--out FILE)

Module top is cheap (argparse only): `ct-assistant --help` imports this.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

QUICK = {"encoder_docs": 60, "docs": 300, "sizes": [1000, 10000, 100000], "questions": 20, "cold_runs": 5, "server_chunks": 10000}
FULL = {"encoder_docs": 300, "docs": None, "sizes": [1000, 10000, 100000], "questions": 100, "cold_runs": 10, "server_chunks": 10000}
KINDS = ("encoders", "ingest", "query", "memory", "cold", "server", "stages", "catalog", "lexical", "all", "plot", "table")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", choices=KINDS)
    p.add_argument("--quick", action="store_true", help="CI-sized run (300 SciFact abstracts, 20 questions per size)")
    p.add_argument("--out", type=Path, default=None, help="write results JSON here (sections are merged into an existing file)")
    p.add_argument("--work", type=Path, default=None, help="scratch dir for stores and caches (default /tmp/ct-bench)")
    p.add_argument("--docs", type=int, default=None, help="SciFact abstracts to ingest (default: 300 quick, all 5,183 full)")
    p.add_argument("--sizes", default=None, help="comma-separated store sizes in chunks for `query` (default 1000,10000,100000)")
    p.add_argument("--questions", type=int, default=None, help="timed questions per store size")
    p.add_argument("--slices", type=int, default=4, help="interleaved project/baseline slices for `ingest`")
    p.add_argument("--no-baseline-reingest", action="store_true", help="skip timing the baseline's re-ingest")
    p.add_argument("--runs", type=int, default=None, help="cold-start runs (median reported)")
    p.add_argument("--plot-dir", type=Path, default=None, help="for `plot` (default docs/img)")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("bench", help="benchmarks side by side with LlamaIndex defaults (see docs/performance.md)")
    add_arguments(p)
    p.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    from benchmarks.common import DEFAULT_WORK, Section, machine, quiet_env, table, write_json

    quiet_env()
    logging.getLogger("benchmarks").setLevel(logging.WARNING)
    cfg = dict(QUICK if args.quick else FULL)
    if args.kind in ("table", "plot"):
        src = args.out or Path("reports/bench.json")
        try:
            results = json.loads(src.read_text())
            sections = [Section.from_dict(d) for d in results["sections"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"error: cannot read benchmark results {src}: {exc}", file=sys.stderr)
            return 2
        if args.kind == "table":
            print(table(sections))
            return 0
        from benchmarks.plot import plot

        for f in plot(results, args.plot_dir or Path(__file__).resolve().parents[1] / "docs" / "img"):
            print(f)
        return 0
    work = args.work or DEFAULT_WORK / ("quick" if args.quick else "full")
    work.mkdir(parents=True, exist_ok=True)
    docs = args.docs if args.docs is not None else cfg["docs"]
    sizes = [int(x) for x in args.sizes.split(",")] if args.sizes else cfg["sizes"]
    nq = args.questions or cfg["questions"]
    # memory before query: its child process builds the 100k store, so the build's peak RSS is measured
    kinds = ["encoders", "ingest", "memory", "query", "cold", "server"] if args.kind == "all" else [args.kind]
    sections = []
    for kind in kinds:
        got = _run(kind, work, docs, sizes, nq, args, cfg)
        sections += got
        print(table(got), flush=True)
        write_json(args.out, {"mode": "quick" if args.quick else "full", "machine": machine(), "argv": sys.argv, "sections": [s.to_dict() for s in got]})
    if len(kinds) > 1:
        print("\n" + table(sections))
    return 0


def _run(kind: str, work: Path, docs: int | None, sizes: list[int], nq: int, args: argparse.Namespace, cfg: dict[str, Any]) -> list[Any]:
    if kind == "encoders":
        from benchmarks import encoders

        return encoders.run(cfg["encoder_docs"])
    if kind == "ingest":
        from benchmarks import ingest

        return ingest.run(work, docs, slices=args.slices, reingest_baseline=not args.no_baseline_reingest)
    if kind == "query":
        from benchmarks import query

        return query.run(work, sizes, nq)
    if kind == "lexical":
        from benchmarks import lexical_engines

        return lexical_engines.run(n_questions=nq)
    if kind == "catalog":
        from benchmarks import catalog

        return catalog.run(work, docs, [n for n in sizes if n >= 10000] or sizes, nq, slices=args.slices)
    if kind == "stages":
        from benchmarks import stages

        return stages.run(work, max(sizes), nq)
    from benchmarks import proc

    if kind == "memory":
        return proc.rss(work, max(sizes), nq)
    if kind == "cold":
        return proc.cold_start(work, cfg["server_chunks"], args.runs or cfg["cold_runs"])
    if kind == "server":
        return proc.server(work, cfg["server_chunks"], nq)
    raise ValueError(kind)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_child"]:
        from benchmarks.proc import run_child

        p = argparse.ArgumentParser(prog="python -m benchmarks _child")
        p.add_argument("_child")
        p.add_argument("task")
        p.add_argument("--args", default="{}")
        a = p.parse_args(argv)
        return run_child(a.task, a.args)
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return cmd_bench(p.parse_args(argv))
