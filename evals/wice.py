"""Score a grounding judge on a WiCE claim-level file (supported vs partially/not supported).

    python -m evals.wice [--data /work/shared/benchmarks/wice/dev.jsonl] [--json]

Each claim is scored against its evidence page (the evidence sentences joined by newlines, given as
one passage); predicted supported <=> score >= judge.threshold. Reports balanced accuracy (the
LLM-AggreFact metric), accuracy and the confusion counts.

NOTE: the shipped judge was trained on WiCE dev, so on dev this number is in-sample and optimistic.
The honest dev number is the grouped cross-validated balanced accuracy printed by
`python -m evals.train_judge` (and stored under "cv" in assistant/answer/data/judge_offline.json).
The WiCE test split is held out: use this script on it only to check, never to tune.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

from assistant.answer.ground import SupportJudge

DEFAULT_DATA = Path("/work/shared/benchmarks/wice/dev.jsonl")


def evaluate_wice(path: Path | str, judge: SupportJudge, batch_size: int = 32) -> dict[str, Any]:
    rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    items = [(r["claim"], ["\n".join(r["evidence"])]) for r in rows]
    gold = [r["label"] == "supported" for r in rows]
    t0 = time.perf_counter()
    scores: list[float] = []
    for i in range(0, len(items), batch_size):
        scores.extend(judge.score_batch(items[i : i + batch_size]))
    elapsed = time.perf_counter() - t0
    pred = [s >= judge.threshold for s in scores]
    tp = sum(g and p for g, p in zip(gold, pred))
    tn = sum(not g and not p for g, p in zip(gold, pred))
    fp = sum(not g and p for g, p in zip(gold, pred))
    fn = sum(g and not p for g, p in zip(gold, pred))
    pos, neg = tp + fn, tn + fp
    tpr = tp / pos if pos else 0.0
    tnr = tn / neg if neg else 0.0
    return {
        "data": str(path),
        "judge": judge.name,
        "threshold": judge.threshold,
        "n": len(rows),
        "balanced_accuracy": round(0.5 * (tpr + tnr), 4),
        "accuracy": round((tp + tn) / len(rows), 4) if rows else 0.0,
        "true_positive_rate": round(tpr, 4),
        "true_negative_rate": round(tnr, 4),
        "counts": {"tp": tp, "tn": tn, "fp": fp, "fn": fn, "supported": pos, "not_supported": neg},
        "seconds_per_claim": round(elapsed / max(len(rows), 1), 4),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Balanced accuracy of the offline grounding judge on WiCE.")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    from assistant.answer.ground import OfflineJudge

    judge = OfflineJudge()
    res = evaluate_wice(args.data, judge)
    on_dev = args.data.name == "dev.jsonl"
    if on_dev:
        res["note"] = "in-sample (the judge was trained on WiCE dev): optimistic; the honest number is the CV one"
        res["cv_balanced_accuracy"] = judge.params.get("cv", {}).get("balanced_accuracy_mean_seed0")
    if args.json:
        print(json.dumps(res, indent=2))
        return
    c = res["counts"]
    print(f"{res['judge']} on {res['data']} (n={res['n']}, threshold {res['threshold']:.2f})")
    print(f"balanced accuracy {res['balanced_accuracy']:.3f}   accuracy {res['accuracy']:.3f}   "
          f"TPR {res['true_positive_rate']:.3f}   TNR {res['true_negative_rate']:.3f}")
    print(f"tp {c['tp']}  fn {c['fn']}  tn {c['tn']}  fp {c['fp']}   ({res['seconds_per_claim'] * 1000:.0f} ms/claim)")
    if on_dev:
        print(f"NOTE: {res['note']}: grouped 5-fold CV balanced accuracy = {res['cv_balanced_accuracy']}")


if __name__ == "__main__":
    main()
