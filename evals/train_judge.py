"""Train the offline grounding judge (`assistant.answer.ground.OfflineJudge`) and cross-validate it on WiCE.

    python -m evals.train_judge [--out assistant/answer/data/judge_offline.json] [--cache /tmp/ct_judge_cache]

Steps (seeded, deterministic):
1. IDF table over documents: SciFact abstracts, WiCE evidence pages, Climate-FEVER articles
   (unsupervised word statistics only; kept stems with document frequency >= 2).
2. Features for WiCE dev (349 claims, evidence page = one passage, label supported vs rest),
   Climate-FEVER (1,535 claims, 5 evidence sentences as 5 passages, SUPPORTS vs rest) and
   fabricated negatives: each supported WiCE claim with one number changed, one capitalised name
   swapped, or a negation inserted (seeded). MiniLM embeddings are cached under --cache (not in the repo).
3. Model selection (C, weight of Climate-FEVER, weight of fabrications, with/without embedding
   features) by grouped, stratified 5-fold CV on WiCE (groups = Wikipedia article, so a claim never
   sits in train and test), repeated over 3 seeds; extra sources are only ever added to the training
   folds, and fabrications only of training-fold claims. Scored on real WiCE claims only.
   Prints per-fold and mean balanced accuracy of the chosen configuration.
4. The chosen configuration is refit on all data and written with its CV scores to the params file.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import random
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answer.ground import _NEG, FEATURES, OfflineJudge, _Text

log = logging.getLogger("evals.train_judge")

BENCH = Path("/work/shared/benchmarks")
WICE = BENCH / "wice" / "dev.jsonl"
CLIMATE_FEVER = BENCH / "climate-fever" / "climate-fever.jsonl"
SCIFACT = BENCH / "scifact" / "corpus_train.csv"
OUT = Path(__file__).resolve().parent.parent / "assistant" / "answer" / "data" / "judge_offline.json"
SEEDS = (0, 1, 2)
TOLERANCE = 0.005


def load_wice(path: Path = WICE) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [
        {"claim": r["claim"], "passages": ["\n".join(r["evidence"])], "y": int(r["label"] == "supported"),
         "group": r.get("meta", {}).get("claim_title") or r["claim"]}
        for r in rows
    ]


def load_climate_fever(path: Path = CLIMATE_FEVER) -> list[dict[str, Any]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            out.append({"claim": r["claim"], "passages": [e["evidence"] for e in r["evidences"]],
                        "y": int(r["claim_label"] == "SUPPORTS"), "group": "cf" + str(r["claim_id"])})
    return out


_AUX = re.compile(r"\b(?:is|was|are|were|has|have|had|will|would|can|could|did|does)\b")
_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")
_CAP = re.compile(r"(?<=\s)[A-Z][a-z]+\b")


def fabricate(items: list[dict[str, Any]], seed: int = 0) -> list[dict[str, Any]]:
    """Synthetic unsupported claims from supported WiCE claims: a changed number, a swapped name, an
    inserted negation (the errors an LLM answer typically makes). `source` = index of the original."""
    rng = random.Random(seed)
    names = sorted({m.group() for it in items for m in _CAP.finditer(it["claim"])})
    out = []
    for idx, it in enumerate(items):
        if not it["y"]:
            continue
        claim, evidence = it["claim"], "\n".join(it["passages"])
        new: list[str] = []
        nums = [m for m in _DIGITS.finditer(claim) if m.group() in evidence]
        if nums:
            m = rng.choice(nums)
            v = float(m.group().replace(",", ""))
            if 1800 <= v <= 2030 and "." not in m.group():
                r = str(int(v) + rng.choice([-3, -2, -1, 1, 2, 3]))
            else:
                r = f"{v * rng.choice([0.5, 1.5, 2, 3, 10]):,.0f}" if v >= 2 else str(int(v) + 2)
            new.append(claim[: m.start()] + r + claim[m.end():])
        caps = [m for m in _CAP.finditer(claim) if m.group() in evidence]
        if caps:
            m = rng.choice(caps)
            other = rng.choice([n for n in names if n not in evidence] or ["Smith"])
            new.append(claim[: m.start()] + other + claim[m.end():])
        aux = _AUX.search(claim)
        if aux and not _NEG.search(claim):
            new.append(claim[: aux.end()] + " not" + claim[aux.end():])
        out += [{"claim": c, "passages": it["passages"], "y": 0, "group": it["group"], "source": idx} for c in new]
    return out


def build_idf(stem: Any) -> tuple[dict[str, float], float, int]:
    docs: list[str] = []
    csv.field_size_limit(1 << 30)
    with SCIFACT.open(encoding="utf-8", newline="") as fh:
        docs += [f"{r['title']} {r['abstract']}" for r in csv.DictReader(fh)]
    docs += ["\n".join(json.loads(line)["evidence"]) for line in WICE.read_text(encoding="utf-8").splitlines() if line.strip()]
    articles: dict[str, list[str]] = {}
    for line in CLIMATE_FEVER.read_text(encoding="utf-8").splitlines():
        if line.strip():
            for e in json.loads(line)["evidences"]:
                articles.setdefault(e["article"], []).append(e["evidence"])
    docs += [" ".join(v) for v in articles.values()]
    df: Counter[str] = Counter()
    for d in docs:
        df.update(_Text(d, stem).stem_set)
    n = len(docs)
    idf = {s: round(math.log((n + 1) / (c + 1)) + 1.0, 2) for s, c in sorted(df.items()) if c >= 2 and not s.startswith("#")}
    return idf, round(math.log(n + 1) + 1.0, 2), n


class EmbedCache(dict):
    """text -> vector, persisted as <dir>/emb.npy + texts.json."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        if (folder / "texts.json").exists():
            texts = json.loads((folder / "texts.json").read_text(encoding="utf-8"))
            self.update(zip(texts, np.load(folder / "emb.npy")))
        self.saved = len(self)

    def save(self) -> None:
        if len(self) != self.saved and len(self):
            keys = list(self)
            np.save(self.folder / "emb.npy", np.stack([self[k] for k in keys]).astype(np.float32))
            (self.folder / "texts.json").write_text(json.dumps(keys), encoding="utf-8")
            self.saved = len(self)


def featurize(judge: OfflineJudge, items: list[dict[str, Any]], cache: EmbedCache, label: str) -> np.ndarray:
    t0, out = time.time(), []
    for i in range(0, len(items), 64):
        out.append(judge.features_batch([(it["claim"], it["passages"]) for it in items[i : i + 64]]))
        cache.save()
        log.info("%s features %d/%d (%.0fs)", label, min(i + 64, len(items)), len(items), time.time() - t0)
    return np.vstack(out)


def balanced_accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    return float(0.5 * ((pred[y == 1] == 1).mean() + (pred[y == 0] == 0).mean()))


Extra = tuple[np.ndarray, np.ndarray, "np.ndarray | None"]  # features, labels, index of the WiCE source claim


def balanced_weights(y: np.ndarray, ratio: float, n_wice: int) -> np.ndarray:
    """Each class present gets half of ratio x n_wice total weight (a one-class source gets half)."""
    w = np.zeros(len(y))
    for c in (0, 1):
        if (y == c).any():
            w[y == c] = 0.5 * ratio * n_wice / (y == c).sum()
    return w


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, c: float, feats: list[int]) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression

    xs = x[:, feats]
    mean, scale = xs.mean(0), xs.std(0) + 1e-9
    lr = LogisticRegression(C=c, max_iter=5000)
    lr.fit((xs - mean) / scale, y, sample_weight=w)
    coef = np.zeros(x.shape[1])
    coef[feats] = lr.coef_[0]
    m, s = np.zeros(x.shape[1]), np.ones(x.shape[1])
    m[feats], s[feats] = mean, scale
    return {"mean": m, "scale": s, "coef": coef, "intercept": float(lr.intercept_[0])}


def predict(model: dict[str, Any], x: np.ndarray) -> np.ndarray:
    z = ((x - model["mean"]) / model["scale"]) @ model["coef"] + model["intercept"]
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def training_set(xw: np.ndarray, yw: np.ndarray, rows: np.ndarray, extras: dict[str, Extra], cfg: dict[str, Any],
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """WiCE rows + each extra source with a positive ratio (fabrications only of the WiCE rows used)."""
    xs, ys, ws = [xw[rows]], [yw[rows]], [balanced_weights(yw[rows], 1.0, len(rows))]
    for name, (x, y, source) in extras.items():
        ratio = cfg.get(name, 0.0)
        if ratio > 0:
            keep = np.ones(len(y), dtype=bool) if source is None else np.isin(source, rows)
            xs.append(x[keep])
            ys.append(y[keep])
            ws.append(balanced_weights(y[keep], ratio, len(rows)))
    y, w = np.concatenate(ys), np.concatenate(ws)
    w[y == 0] *= w[y == 1].sum() / w[y == 0].sum()  # keep the classes balanced overall, so 0.5 stays the cut
    return np.vstack(xs), y, w


def cross_validate(xw: np.ndarray, yw: np.ndarray, groups: np.ndarray, extras: dict[str, Extra],
                   cfg: dict[str, Any], seed: int) -> list[float]:
    from sklearn.model_selection import StratifiedGroupKFold

    scores = []
    for tr, te in StratifiedGroupKFold(5, shuffle=True, random_state=seed).split(xw, yw, groups):
        model = fit(*training_set(xw, yw, tr, extras, cfg), cfg["C"], cfg["feats"])
        scores.append(balanced_accuracy(yw[te], (predict(model, xw[te]) >= 0.5).astype(int)))
    return scores


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/ct_judge_cache"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    np.random.seed(0)

    import Stemmer

    idf, max_idf, n_docs = build_idf(Stemmer.Stemmer("english").stemWord)
    log.info("IDF: %d stems from %d documents", len(idf), n_docs)
    cache = EmbedCache(args.cache)
    judge = OfflineJudge(params={"idf": idf, "max_idf": max_idf}, embed_cache=cache)
    wice, cf = load_wice(), load_climate_fever()
    fab = fabricate(wice, seed=0)
    log.info("fabricated %d unsupported variants of %d supported WiCE claims", len(fab), sum(it["y"] for it in wice))
    xw, yw = featurize(judge, wice, cache, "wice"), np.array([it["y"] for it in wice])
    extras: dict[str, Extra] = {
        "climate_fever": (featurize(judge, cf, cache, "climate-fever"), np.array([it["y"] for it in cf]), None),
        "fabricated": (featurize(judge, fab, cache, "fabricated"), np.zeros(len(fab), dtype=int),
                       np.array([it["source"] for it in fab])),
    }
    groups = np.array([it["group"] for it in wice])

    no_embedding = [i for i, f in enumerate(FEATURES) if not f.startswith("cos_")]
    feat_sets = {"all": list(range(len(FEATURES))), "no_embedding": no_embedding}
    configs = [
        {"C": c, "climate_fever": r, "fabricated": fr, "feat_set": name}
        for c in (0.1, 0.3, 1.0)
        for r in (0.0, 0.25)
        for fr in (0.0, 0.1, 0.25, 0.5, 1.0)
        for name in feat_sets
    ]
    results = []
    for cfg in configs:
        cfg["feats"] = feat_sets[cfg["feat_set"]]
        scores = [s for seed in SEEDS for s in cross_validate(xw, yw, groups, extras, cfg, seed)]
        results.append((round(float(np.mean(scores)), 4), cfg))
        log.info("C=%-4s climate-fever=%-5s fabricated=%-5s feats=%-12s CV bal.acc %.3f",
                 cfg["C"], cfg["climate_fever"], cfg["fabricated"], cfg["feat_set"], np.mean(scores))
    # rule fixed before looking: among configs within TOLERANCE of the best CV mean, take the one with the most
    # fabrication training (robustness to made-up numbers/names/negations), then the best CV mean
    top = max(r[0] for r in results)
    best_mean, best = max((r for r in results if r[0] >= top - TOLERANCE), key=lambda r: (r[1]["fabricated"], r[0]))
    per_fold = cross_validate(xw, yw, groups, extras, best, SEEDS[0])
    repeated = [s for seed in SEEDS for s in cross_validate(xw, yw, groups, extras, best, seed)]
    print(f"chosen: C={best['C']} climate-fever ratio={best['climate_fever']} fabricated ratio={best['fabricated']} "
          f"features={best['feat_set']} (best CV of {len(configs)} configs: {top:.3f})")
    print("WiCE dev grouped 5-fold CV balanced accuracy (seed 0): " + " ".join(f"{s:.3f}" for s in per_fold)
          + f"  mean {np.mean(per_fold):.3f}")
    print(f"repeated over seeds {SEEDS}: mean {np.mean(repeated):.3f} (std over folds {np.std(repeated):.3f})")

    model = fit(*training_set(xw, yw, np.arange(len(yw)), extras, best), best["C"], best["feats"])
    in_sample = balanced_accuracy(yw, (predict(model, xw) >= 0.5).astype(int))
    print(f"in-sample WiCE dev balanced accuracy (optimistic): {in_sample:.3f}")
    for name, coef in sorted(zip(FEATURES, model["coef"]), key=lambda t: -abs(t[1])):
        log.info("  %-14s %+.3f", name, coef)

    params = {
        "name": OfflineJudge.name,
        "threshold": 0.5,
        "model": {"type": "logistic_regression", "features": FEATURES,
                  "mean": np.round(model["mean"], 6).tolist(), "scale": np.round(model["scale"], 6).tolist(),
                  "coef": np.round(model["coef"], 6).tolist(), "intercept": round(model["intercept"], 6)},
        "training": {
            "data": "WiCE dev claim-level (349 claims, supported vs partially/not supported)"
                    + (f" + Climate-FEVER claims (1,535, SUPPORTS vs rest, weight ratio {best['climate_fever']})"
                       if best["climate_fever"] else "")
                    + (f" + {len(fab)} fabricated unsupported variants of supported WiCE claims (changed number, swapped name,"
                       f" inserted negation; weight ratio {best['fabricated']})" if best["fabricated"] else ""),
            "config": {k: v for k, v in best.items() if k != "feats"},
            "class_weighting": "balanced within each source, then class 0 rescaled so both classes weigh the same",
            "idf_documents": f"{n_docs} (SciFact abstracts, WiCE evidence pages, Climate-FEVER articles)",
            "command": "python -m evals.train_judge",
        },
        "cv": {"protocol": "WiCE dev, StratifiedGroupKFold(5) by Wikipedia article, extra data only in training folds"
                           " (fabrications only of training-fold claims); threshold 0.5 with classes weighted to balance",
               "selection": f"of {len(configs)} configs, the most fabrication training within {TOLERANCE} of the best"
                            f" mean CV over seeds {SEEDS} ({top:.4f})",
               "balanced_accuracy_per_fold_seed0": [round(s, 4) for s in per_fold],
               "balanced_accuracy_mean_seed0": round(float(np.mean(per_fold)), 4),
               "balanced_accuracy_mean_seeds_0_1_2": round(float(np.mean(repeated)), 4),
               "n_configs_compared": len(configs),
               "in_sample_wice_dev": round(in_sample, 4)},
        "max_idf": max_idf,
        "idf": idf,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(params, separators=(",", ":")), encoding="utf-8")
    log.info("wrote %s (%.0f KB)", args.out, args.out.stat().st_size / 1024)


if __name__ == "__main__":
    main()
