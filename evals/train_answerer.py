"""Train the learned answer scorer and write `assistant/answer/data/answerer.json`.

    python -m evals.train_answerer            # ~2-4 min on 2 cores the first time (embeddings cached under /tmp)

Data (see `evals/qa_data.py` for the splits; nothing from WikiQA, nothing from a test split):
- train: SQuAD 2.0 sample, train articles (answerable + their real unanswerable questions), plus
  generated unanswerable twins of every answerable train question (the question with its
  neighbouring paragraph; the question with an entity / year / antonym swapped or negated, so
  its gold sentence becomes a hard negative); SelQA's official dev split; TREC-QA train.
- dev (operating point `min_prob` and regularisation): SQuAD dev articles + their generated
  twins, and TREC-QA dev.

Rows are candidate sentences (label 1 = overlaps a gold span); each question's rows are weighted
so that every question counts the same, and each set is weighted to the same total. The model
is a logistic regression on standardised `FEATURES`; `min_prob` is the probability threshold
that maximises question-level accuracy on SQuAD dev with false refusals <= 0.15.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

from assistant.answer.features import FEATURES
from assistant.answer.scorer import PARAMS
from evals import answers, qa_data

log = logging.getLogger("train_answerer")
MAX_FALSE_REFUSALS = 0.15


def _items(set_name: str, split: str, synthetic: bool = False) -> tuple[list[qa_data.Item], list[qa_data.Passage]]:
    items = qa_data.load(set_name, split) if set_name != "selqa" else qa_data.selqa_with_other_sections(split)
    if synthetic:
        items = items + list(qa_data.synthetic_unanswerable(items, qa_data.squad2_paragraphs(split)))
    return items, answers._pool(items)


def _features_version() -> str:
    import hashlib

    from assistant.answer import extract, features, question

    src = "".join(Path(m.__file__).read_text(encoding="utf-8") for m in (features, question, extract))
    return hashlib.sha1(src.encode()).hexdigest()[:10]


def featurise_set(set_name: str, split: str, embedder, settings, synthetic: bool = False):  # type: ignore[no-untyped-def]
    """Per question: (item, X rows, labels); cached under CACHE_DIR per version of the feature code."""
    items, pool = _items(set_name, split, synthetic)
    path = answers.CACHE_DIR / f"feat-{set_name}-{split}{'-syn' if synthetic else ''}-{_features_version()}.npz"
    if path.exists():
        z = np.load(path)
        by_id = {it.qid: it for it in items}
        bounds = z["bounds"]
        out = [(by_id[q], z["X"][a:b], z["y"][a:b]) for q, a, b in zip(z["qids"].tolist(), bounds[:-1], bounds[1:], strict=True)]
        log.info("%s/%s%s: %d questions (cached features)", set_name, split, " +synthetic" if synthetic else "", len(out))
        return out
    out = _featurise(items, pool, embedder, settings, f"{set_name}-{split}")
    bounds = np.cumsum([0] + [len(g[2]) for g in out])
    answers.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.savez(path, X=np.concatenate([g[1] for g in out]), y=np.concatenate([g[2] for g in out]), bounds=bounds, qids=np.array([g[0].qid for g in out]))
    log.info("%s/%s%s: %d questions, %d sentences", set_name, split, " +synthetic" if synthetic else "", len(out), sum(len(x[2]) for x in out))
    return out


def _featurise(items, pool, embedder, settings, cache_name: str):  # type: ignore[no-untyped-def]
    from assistant.answer.extract import ExtractiveAnswerer

    cache = answers.VectorCache(cache_name, embedder)
    cache.ensure(answers.question_texts(items) + answers.sentence_texts(pool))
    ext = ExtractiveAnswerer(settings, answers.CachedEmbedder(cache))
    df, n = answers._df(pool), len(pool)
    out = []
    for it in items:
        contexts, documents, idf = answers.as_inputs(it.passages, df, n, it.question)
        _, cands, X = ext.features(it.question, contexts, documents, idf)
        if not cands:
            continue
        y = np.array([answers._overlaps((c.doc_id, c.start, c.end), it.gold) for c in cands], dtype=np.int8)
        out.append((it, X, y))
    return out


def stack(groups: list, set_weight: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X = np.concatenate([g[1] for g in groups])
    y = np.concatenate([g[2] for g in groups])
    w = np.concatenate([np.full(len(g[2]), 1.0 / len(g[2])) for g in groups])
    return X, y, w * set_weight * len(groups) / w.sum()


def question_metrics(groups: list, probs: list[np.ndarray], threshold: float) -> dict[str, float]:
    n_ans = sum(1 for g in groups if g[0].answerable)
    n_una = len(groups) - n_ans
    hit = fr = ru = 0
    for (it, _, y), p in zip(groups, probs, strict=True):
        top = int(np.argmax(p))
        if it.answerable:
            if p[top] < threshold:
                fr += 1
            elif y[top]:
                hit += 1
        elif p[top] < threshold:
            ru += 1
    return {
        "accuracy": (hit + ru) / max(1, len(groups)),
        "hit": hit / max(1, n_ans),
        "false_refusals": fr / max(1, n_ans),
        "refused_unanswerable": ru / max(1, n_una),
        "hit_at_1": sum(int(y[int(np.argmax(p))]) for (it, _, y), p in zip(groups, probs, strict=True) if it.answerable) / max(1, n_ans),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(PARAMS))
    parser.add_argument("--C", type=float, nargs="*", default=[0.1, 1.0, 10.0])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from sklearn.linear_model import LogisticRegression

    from assistant.config import Settings
    from assistant.encode.embed import Embedder

    t0 = time.time()
    settings = Settings()
    embedder = Embedder(settings.embed_model_path, settings.embed_precision)
    train_sets = {
        "squad2": featurise_set("squad2", "train", embedder, settings, synthetic=True),
        "selqa": featurise_set("selqa", "train", embedder, settings),
        "trecqa": featurise_set("trecqa", "train", embedder, settings),
    }
    dev = featurise_set("squad2", "dev", embedder, settings, synthetic=True)
    dev_trec = featurise_set("trecqa", "dev", embedder, settings)
    parts = [stack(g) for g in train_sets.values()]
    X = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    w = np.concatenate([p[2] / p[2].sum() for p in parts]) * len(y)
    mean, scale = X.mean(axis=0), X.std(axis=0)
    scale[scale < 1e-6] = 1.0
    Z = (X - mean) / scale
    best = None
    for C in args.C:
        model = LogisticRegression(C=C, max_iter=2000)
        model.fit(Z, y, sample_weight=w)
        probs = [model.predict_proba((g[1] - mean) / scale)[:, 1] for g in dev]
        # operating point: the best dev accuracy with false refusals <= MAX_FALSE_REFUSALS
        for th in np.arange(0.05, 0.951, 0.01):
            m = question_metrics(dev, probs, float(th))
            if m["false_refusals"] <= MAX_FALSE_REFUSALS and (best is None or m["accuracy"] > best[0]["accuracy"]):
                best = (m, C, float(th), model)
        log.info("C=%s: dev hit@1 %.3f", C, question_metrics(dev, probs, 0.0)["hit_at_1"])
    assert best is not None
    m, C, th, model = best
    trec_probs = [model.predict_proba((g[1] - mean) / scale)[:, 1] for g in dev_trec]
    mt = question_metrics(dev_trec, trec_probs, th)
    params = {
        "model": "logistic regression (scikit-learn) on standardised features",
        "features": list(FEATURES),
        "mean": [round(float(v), 6) for v in mean],
        "scale": [round(float(v), 6) for v in scale],
        "coef": [round(float(v), 6) for v in model.coef_[0]],
        "intercept": round(float(model.intercept_[0]), 6),
        "min_prob": round(th, 2),
        "meta": {
            "C": C,
            "train": {k: {"questions": len(g), "sentences": int(sum(len(x[2]) for x in g))} for k, g in train_sets.items()},
            "dev_squad2_synthetic": {k: round(v, 4) for k, v in m.items()},
            "dev_trecqa": {k: round(v, 4) for k, v in mt.items()},
            "seconds": round(time.time() - t0, 1),
        },
    }
    Path(args.out).write_text(json.dumps(params, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(params["meta"], indent=1))
    print(f"wrote {args.out} ({Path(args.out).stat().st_size} bytes); min_prob {th:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
