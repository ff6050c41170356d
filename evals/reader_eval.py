"""The span reader's operating point, chosen on the dev articles of `squad2full`, and written into its parameter file.

    python -m evals.reader_eval --operating-point              # into assistant/answer/data/reader.npz
    python -m evals.reader_eval --operating-point --params P   # another parameter file

The answerer runs as the product runs it (candidate sentences, reader, gates) with no threshold
(`answer_min_prob=0`) on a fixed sample of dev questions in two modes: `oracle` (its own paragraph;
a third of them unanswerable, adversarial) and `topical` (answerable questions given the paragraphs
of their article that share most words with them and do not hold the answer: must refuse). For
each threshold, accuracy = answered with the gold sentence (answerable, oracle) or refused
(unanswerable, topical), over both modes together; `min_prob` is the most accurate threshold whose
oracle false-refusal rate is at most `MAX_FALSE_REFUSALS`. The test articles are never read here.

    python -m evals.reader_eval --explain-point    # the floor for clause/sentence answers, on the CT dev set

Questions answered by a clause or a sentence (`assistant.answer.question.explanatory`: why, how,
yes/no, what a document says) are few in SQuAD, so the reader's no-answer score is not calibrated
for them; the product answers them when the reader's probability reaches `explain_min_prob` and the
heuristic evidence agrees. `explain_min_prob` is chosen on `evals/datasets/ct_dev.jsonl` (the CT
tuning set; `ct_editorials.jsonl` is never read here): among the floors with the best refusal
accuracy, then the best answer correctness, the one in the (geometric) middle of their range.
They are left out of the `min_prob` sweep above.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from evals import answers, squad_full

log = logging.getLogger("reader_eval")

MAX_FALSE_REFUSALS = 0.15
THRESHOLDS = np.round(np.arange(0.02, 0.99, 0.01), 2)


def dev_outcomes(params: Path, limit: int, topical_limit: int) -> dict[str, list[tuple[answers.Item, answers.Outcome]]]:
    from assistant.config import Settings
    from assistant.encode.embed import Embedder

    settings = Settings(answer_scorer="reader", answer_min_prob=0.0, answer_reader_params=params)
    items = answers.limit_items(squad_full.items("dev"), limit)
    arts = squad_full.article_passages("dev")
    pool = [p for ps in arts.values() for p in ps]
    df, n = answers._df(pool), len(pool)
    run = answers.make_answerer("reader", settings, Embedder(settings.embed_model_path, settings.embed_precision))
    out: dict[str, list] = {"oracle": [], "topical": []}
    for k, it in enumerate(items):
        contexts, documents, idf = answers.as_inputs(it.passages, df, n, it.question)
        out["oracle"].append((it, run(it.question, contexts, documents, idf)))
        if k % 200 == 0:
            log.info("oracle %d/%d", k, len(items))
    topical = [it for it in items if it.answerable][:topical_limit]
    for k, it in enumerate(topical):
        passages = answers.topical_passages(it, arts.get(it.group, []))
        contexts, documents, idf = answers.as_inputs(passages, df, n, it.question)
        target = answers.Item(it.qid, it.question, passages, [], it.kind, it.group)
        out["topical"].append((target, run(it.question, contexts, documents, idf)))
        if k % 100 == 0:
            log.info("topical %d/%d", k, len(topical))
    return out


def at_threshold(rows: list[tuple[answers.Item, answers.Outcome]], th: float) -> list[tuple[answers.Item, answers.Outcome]]:
    """The outcomes as they would be with `min_prob = th` (a refusal below it)."""
    from assistant.answer.question import explanatory

    out = []
    for it, o in rows:
        refused = o.refused or (not explanatory(it.question) and (o.score or 0.0) < th)
        out.append((it, answers.Outcome(refused, None if refused else o.best, o.top, o.valid, o.ms, o.score)))
    return out


def choose(outcomes: dict[str, list[tuple[answers.Item, answers.Outcome]]]) -> dict[str, Any]:
    best = None
    for th in THRESHOLDS:
        o = answers.summarise(at_threshold(outcomes["oracle"], float(th)))
        t = answers.summarise(at_threshold(outcomes["topical"], float(th)))
        n_o, n_t = o["items"], t["items"]
        acc = (o["accuracy"] * n_o + t["accuracy"] * n_t) / max(1, n_o + n_t)
        if o["false_refusals"] <= MAX_FALSE_REFUSALS and (best is None or acc > best["accuracy"]):
            best = {"min_prob": float(th), "accuracy": round(acc, 4), "oracle": o, "topical": t}
    if best is None:
        raise SystemExit("no threshold keeps false refusals within bounds")
    return best


def write_operating_point(params: Path, op: dict[str, Any], limit: int, topical_limit: int) -> None:
    with np.load(params, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k != "meta"}
        meta = json.loads(str(z["meta"]))
    meta["min_prob"] = op["min_prob"]
    meta["operating_point"] = {
        "chosen_on": f"squad2full dev articles: {limit} questions (oracle) + {topical_limit} answerable (topical)",
        "max_false_refusals": MAX_FALSE_REFUSALS, **{k: op[k] for k in ("accuracy", "oracle", "topical")},
    }
    tmp = params.with_name(params.name + ".tmp.npz")
    np.savez_compressed(tmp, meta=np.array(json.dumps(meta)), **arrays)
    os.replace(tmp, params)
    log.info("wrote min_prob %.2f into %s", op["min_prob"], params)


EXPLAIN_FLOORS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.15, 0.2, 0.25)
CT_DEV = Path(__file__).resolve().parent / "datasets" / "ct_dev.jsonl"


def explain_point(params: Path, store: Path) -> dict[str, Any]:
    """Run the CT dev set at each floor (the shipped corpus in `store`); the chosen floor and the table."""
    from assistant.api import Assistant
    from assistant.config import Settings
    from evals.dataset import load_dataset
    from evals.runner import DEFAULT_CORPUS, run

    dataset = load_dataset(CT_DEV)
    table = []
    embedder = None
    for floor in EXPLAIN_FLOORS:
        s = Settings(store=store, answer_scorer="reader", answer_reader_params=params, answer_explain_min_prob=floor)
        a = Assistant(s, embedder)
        m = run(dataset, a, None, corpus=DEFAULT_CORPUS).metrics
        embedder = a.embedder
        a.close()
        table.append({"floor": floor, **{k: round(float(m[k]), 4) for k in ("refusal_accuracy", "answer_correctness", "answer_rate", "refusal_recall")}})
        log.info("explain floor %.3f: %s", floor, table[-1])
    return {"explain_min_prob": plateau_middle(table), "chosen_on": f"{CT_DEV.name} ({len(dataset.items)} items), shipped corpus", "table": table}


def plateau_middle(table: list[dict[str, Any]]) -> float:
    """The floor in the middle (geometric) of those with the best refusal accuracy, then answer
    correctness: a small tuning set is often flat over a range of floors, and the edge of that
    range is the floor most likely to be wrong on the next set."""
    key = max((r["refusal_accuracy"], r["answer_correctness"]) for r in table)
    tied = [r["floor"] for r in table if (r["refusal_accuracy"], r["answer_correctness"]) == key]
    centre = float(np.sqrt(min(tied) * max(tied)))
    return min(tied, key=lambda f: abs(np.log(f / centre)))


def write_explain_point(params: Path, point: dict[str, Any]) -> None:
    with np.load(params, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k != "meta"}
        meta = json.loads(str(z["meta"]))
    meta["explain_min_prob"] = point["explain_min_prob"]
    meta["explain_point"] = point
    tmp = params.with_name(params.name + ".tmp.npz")
    np.savez_compressed(tmp, meta=np.array(json.dumps(meta)), **arrays)
    os.replace(tmp, params)
    log.info("wrote explain_min_prob %.3f into %s", point["explain_min_prob"], params)


def main(argv: list[str] | None = None) -> int:
    from assistant.answer.reader import PARAMS

    ap = argparse.ArgumentParser(prog="python -m evals.reader_eval", description=__doc__.split("\n")[0])
    ap.add_argument("--operating-point", action="store_true", help="choose min_prob on the dev articles and write it into --params")
    ap.add_argument("--explain-point", action="store_true", help="choose explain_min_prob on the CT dev set and write it into --params")
    ap.add_argument("--store", type=Path, default=None, help="--explain-point: a store of the shipped corpus (default: a temporary one)")
    ap.add_argument("--params", type=Path, default=PARAMS)
    ap.add_argument("--limit", type=int, default=1500, help="dev questions (oracle)")
    ap.add_argument("--topical-limit", type=int, default=500, help="answerable dev questions in topical mode")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    if args.explain_point:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            point = explain_point(args.params, args.store or Path(tmp) / "store")
        print(json.dumps(point, indent=1))
        write_explain_point(args.params, point)
        return 0
    outcomes = dev_outcomes(args.params, args.limit, args.topical_limit)
    op = choose(outcomes)
    print(json.dumps({k: op[k] for k in ("min_prob", "accuracy")} | {"oracle": op["oracle"], "topical": op["topical"]}, indent=1))
    if args.operating_point:
        write_operating_point(args.params, op, args.limit, args.topical_limit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
