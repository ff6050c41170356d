"""`ct-assistant eval run|judge|scifact|compare` (also `python -m evals ...`).

Registered by assistant/cli/main.py through `register(subparsers)`. The module top stays cheap:
models, matplotlib and the assistant load inside the commands.

Exit status: 0 ok; 1 a `--fail-under` gate failed; 2 usage or input error (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

DEFAULT_OUT = "reports/eval"


def _usage(msg: str) -> Exception:
    from assistant.cli.common import UsageError

    return UsageError(msg)


# --- eval run ---------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    from assistant.cli.common import emit, settings_from
    from evals import runner
    from evals.dataset import DatasetError, load_dataset
    from evals.report import metrics_table, write_reports

    try:
        gates = [runner.parse_gate(g) for g in args.fail_under or []]
        dataset = load_dataset(args.set)
    except (runner.GateError, DatasetError) as exc:
        raise _usage(str(exc)) from exc
    settings = settings_from(args)
    if args.top_k is not None:
        from assistant.config import Settings

        settings = Settings.model_validate({**settings.model_dump(), "top_k": args.top_k})
    from assistant.api import Assistant

    a = Assistant(settings)
    try:
        try:
            judge = runner.load_judge(args.judge, settings)
        except runner.JudgeUnavailableError as exc:
            raise _usage(str(exc)) from exc
        result = runner.run(dataset, a, judge, show_progress=not args.no_progress and sys.stderr.isatty())
    finally:
        a.close()
    failures = runner.check_gates(result.metrics, gates)
    paths = write_reports(result, args.out, failures)
    if args.json:
        emit({"metrics": result.metrics, "metadata": result.metadata, "reports": paths, "gates_failed": failures})
    else:
        m = result.metadata
        print(f"{m['dataset_name']}: {result.metrics['items']} items, answers {m['llm']}, judge {m['judge']}, "
              f"commit {m['git_commit']}, settings {m['settings_fingerprint']}")
        print(metrics_table(result.metrics))
        print(f"reports: {paths['markdown']}  {paths['json']}")
    for f in failures:
        print(f"eval gate failed: {f}", file=sys.stderr)
    return 1 if failures else 0


# --- eval judge ---------------------------------------------------------------------------------
def read_claims(path: str) -> list[tuple[str, list[str]]]:
    """JSONL of {"claim": str, "passages": [str, ...]}; raises UsageError naming the bad line."""
    name = "<stdin>" if path == "-" else path
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _usage(f"{name}: cannot read: {getattr(exc, 'strerror', None) or exc}") from exc
    items: list[tuple[str, list[str]]] = []
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            raise _usage(f"{name}:{n}: blank line (want one JSON object per line)")
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _usage(f"{name}:{n}: invalid JSON: {exc.msg} at column {exc.colno}") from exc
        if not isinstance(obj, dict):
            raise _usage(f"{name}:{n}: want an object with 'claim' and 'passages'")
        claim, passages = obj.get("claim"), obj.get("passages")
        if not isinstance(claim, str) or not claim.strip():
            raise _usage(f"{name}:{n}: 'claim' must be a non-empty string")
        if not isinstance(passages, list) or not all(isinstance(p, str) for p in passages):
            raise _usage(f"{name}:{n}: 'passages' must be a list of strings")
        items.append((claim, passages))
    return items


def cmd_judge(args: argparse.Namespace) -> int:
    from assistant.cli.common import settings_from
    from evals import runner

    items = read_claims(args.input)
    try:
        judge = runner.load_judge(args.judge, settings_from(args))
    except runner.JudgeUnavailableError as exc:
        raise _usage(str(exc)) from exc
    threshold = float(getattr(judge, "threshold", 0.5))
    scores = judge.score_batch(items) if hasattr(judge, "score_batch") else [judge.score(c, p) for c, p in items]
    out = sys.stdout
    for s in scores:
        out.write(json.dumps({"score": round(float(s), 4), "supported": bool(s >= threshold)}) + "\n")
    out.flush()
    return 0


# --- eval scifact ---------------------------------------------------------------------------------
def cmd_scifact(args: argparse.Namespace) -> int:
    from assistant.cli.common import emit
    from evals import scifact

    if args.limit is not None and args.limit < 1:
        raise _usage("--limit must be >= 1")
    try:
        result = scifact.run(
            Path(args.data),
            store=Path(args.store) if args.store else None,
            limit=args.limit,
            distractors=args.distractors,
            show_progress=not args.json and sys.stderr.isatty(),
        )
    except scifact.SciFactError as exc:
        raise _usage(str(exc)) from exc
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result.to_dict(per_query=True), indent=1) + "\n", encoding="utf-8")
    if args.json:
        emit(result.to_dict())
    else:
        print(scifact.format_table(result))
    return 0


# --- eval answers ---------------------------------------------------------------------------------
def cmd_answers(args: argparse.Namespace) -> int:
    from assistant.cli.common import emit, settings_from
    from assistant.encode.embed import Embedder
    from evals import answers, qa_data

    settings = settings_from(args)
    modes = args.mode or ["oracle"]
    try:
        result = answers.evaluate(
            args.set, args.split, modes, args.answerer or list(answers.ANSWERERS), settings,
            Embedder(settings.embed_model_path, settings.embed_precision), limit=args.limit, synthetic=args.synthetic,
        )
    except qa_data.QADataError as exc:
        raise _usage(str(exc)) from exc
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    if args.json:
        emit(result)
    else:
        print(answers.format_table(result))
    return 0


# --- eval compare ---------------------------------------------------------------------------------
def cmd_compare(args: argparse.Namespace) -> int:
    from assistant.cli.common import emit
    from evals.report import ReportError, compare, format_compare, load_report

    try:
        a, b = load_report(args.a), load_report(args.b)
    except ReportError as exc:
        raise _usage(str(exc)) from exc
    c = compare(a, b)
    if args.json:
        emit(c)
    else:
        print(format_compare(c, args.a, args.b))
    return 0


# --- parser ---------------------------------------------------------------------------------------
def register(subparsers: Any) -> None:
    from assistant.cli.common import add_llm_flags, add_store_flags

    ev = subparsers.add_parser("eval", help="evaluate: question sets, grounding judge, SciFact retrieval, compare reports")
    sub = ev.add_subparsers(dest="eval_command", required=True, metavar="EVAL_COMMAND")

    p = sub.add_parser("run", help="run a question set and write JSON + Markdown reports")
    p.add_argument("--set", required=True, metavar="PATH", help="question set JSONL (see evals/datasets/README.md)")
    add_store_flags(p)
    add_llm_flags(p)
    p.add_argument("--judge", choices=["offline", "llm", "none"], default="offline", help="grounding judge (default offline; none skips judge metrics)")
    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"report folder (default {DEFAULT_OUT})")
    p.add_argument("--top-k", type=int, default=None, help="passages per answer (default: settings)")
    p.add_argument("--json", action="store_true", help="print metrics + metadata as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--fail-under", action="append", metavar="METRIC=VALUE", help="exit 1 if METRIC is below VALUE (latency: above); repeatable"
    )
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("judge", help="score claims against passages: JSONL in, JSONL out")
    p.add_argument("--input", required=True, metavar="PATH", help='JSONL, one {"claim": str, "passages": [str]} a line ("-" = stdin)')
    p.add_argument("--judge", choices=["offline", "llm"], default="offline")
    add_llm_flags(p)
    p.set_defaults(func=cmd_judge)

    p = sub.add_parser("scifact", help="BEIR SciFact retrieval benchmark (nDCG@10, Recall@100)")
    p.add_argument("--data", required=True, metavar="DIR", help="folder with corpus_train.csv and claims_validation.csv")
    p.add_argument("--store", metavar="DIR", help="store for the benchmark corpus (default under the temp dir; reused)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="quick mode: first N queries, reduced corpus")
    p.add_argument("--distractors", type=int, default=None, metavar="M", help="--limit: non-relevant documents kept (default max(100, 20N))")
    p.add_argument("--out", metavar="FILE", help="also write the full result (with per-query scores) as JSON")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_scifact)

    p = sub.add_parser("answers", help="answer-sentence selection and refusals on public QA sets (oracle / open)")
    p.add_argument("--set", required=True, choices=["squad2", "squad2full", "selqa", "trecqa", "wikiqa"])
    p.add_argument("--split", default="test", help="squad2: train|dev|test (by article, evals/qa_data.py); selqa: train|test; trecqa: train|dev|test; wikiqa: dev|test")
    p.add_argument("--mode", action="append", choices=["oracle", "open", "open-noans", "topical", "conflicts"], help="repeatable (default oracle)")
    p.add_argument("--answerer", action="append", choices=["reader", "reader-nogates", "cross", "cross-nogates", "learned", "learned-nogates", "heuristic", "overlap", "refuse"], help="repeatable (default all)")
    p.add_argument("--synthetic", action="store_true", help="squad2: add the generated unanswerable twins (neighbour paragraph, swapped word)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="a fixed sample of N questions")
    p.add_argument("--out", metavar="FILE", help="also write the result as JSON")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_answers)

    p = sub.add_parser("compare", help="what got better or worse between two eval reports")
    p.add_argument("a", metavar="A.json")
    p.add_argument("b", metavar="B.json")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_compare)
