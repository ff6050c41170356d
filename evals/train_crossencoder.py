"""Train the cross-encoder answer scorer and write `assistant/answer/data/crossenc.npz`.

    python -m evals.train_crossencoder            # ~28 min on 2 cores with BF16 (torch, peft), then the operating point

The model reads (question, candidate sentence) together through all six layers of the packaged
all-MiniLM-L6-v2 and gives one logit: does this sentence answer the question. Only low-rank
adapters (LoRA, rank `RANK`, on every linear layer of the encoder) and the classification head
are trained, so what ships is a few hundred KB of deltas over the weights that are already
installed; `assistant.answer.crossenc` merges them into the packaged weights and exports one
ONNX graph on first use.

Data (`evals/qa_data.py` splits; nothing from WikiQA, nothing from a test split):
- SQuAD 2.0 sample, train articles: every answerable question (gold sentence = the one holding
  the answer span) and every real unanswerable one (all its sentences negative, including the
  one with SQuAD's "plausible answer"), plus the generated twins of `qa_data.synthetic_unanswerable`
  (the question with a neighbouring paragraph; the question with a year / name / antonym swapped
  or negated, whose original gold sentence becomes a hard negative);
- SelQA's official dev split (answer sentence selection) and TREC-QA train.
Per question: every gold sentence, and up to `NEGATIVES` negatives, the hardest first (largest
IDF-weighted share of the question's terms) plus one at random.

The probability threshold (`min_prob` in the file, `Settings.answer_min_prob`) is chosen
afterwards by `python -m evals.train_crossencoder --operating-point` on SQuAD dev + twins.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import sys
import time
from pathlib import Path

import numpy as np

from evals import qa_data

log = logging.getLogger("train_crossencoder")

RANK = 16
ALPHA = 32
NEGATIVES = 4
MAX_TOKENS = 128
OUT = Path(__file__).resolve().parents[1] / "assistant" / "answer" / "data" / "crossenc.npz"


def _sentences(text: str) -> list[tuple[int, int]]:
    from assistant.text.sentences import split_sentences

    return [(s, e) for s, e in split_sentences(text, 0, len(text)) if not text[s:e].lstrip().startswith("#")]


def _idf(items: list[qa_data.Item]) -> dict[str, float]:
    """log(1 + n / df) over the items' distinct passages (ranks the hard negatives)."""
    from evals import answers

    pool = answers._pool(items)
    return {t: math.log(1 + max(1, len(pool)) / c) for t, c in answers._df(pool).items()}


def pairs_for(items: list[qa_data.Item], rng: random.Random, negatives: int = NEGATIVES, every: bool = False) -> list[tuple[str, str, int, str]]:
    """(question, sentence, label, qid) rows; `every` keeps all sentences (for evaluation)."""
    from assistant.text.lexical import terms

    idf = _idf(items)
    rows = []
    for it in items:
        qt = {t: idf.get(t, 1.0) for t in set(terms(it.question))}
        total = sum(qt.values()) or 1.0
        pos, neg = [], []
        for p in it.passages:
            for s, e in _sentences(p.text):
                text = p.text[s:e]
                gold = any(g[0] == p.pid and g[1] < e and s < g[2] for g in it.gold)
                (pos if gold else neg).append(text)
        if every:
            rows += [(it.question, t, 1, it.qid) for t in pos] + [(it.question, t, 0, it.qid) for t in neg]
            continue
        def overlap(t: str) -> float:
            present = set(terms(t))
            return sum(w for k, w in qt.items() if k in present) / total
        neg.sort(key=overlap, reverse=True)
        keep = neg[: negatives - 1]
        rest = neg[negatives - 1 :]
        if rest:
            keep.append(rng.choice(rest))
        rows += [(it.question, t, 1, it.qid) for t in pos] + [(it.question, t, 0, it.qid) for t in keep]
    return rows


def training_items() -> dict[str, list[qa_data.Item]]:
    squad = qa_data.squad2("train")
    twins = list(qa_data.synthetic_unanswerable(squad, qa_data.squad2_paragraphs("train")))
    return {"squad2": squad + twins, "selqa": qa_data.selqa("train"), "trecqa": qa_data.trecqa("train")}


def _use_bf16() -> bool:
    from assistant.encode.onnxmodel import cpu_flags

    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


def train(epochs: float, batch: int, lr: float, seed: int, limit: int | None) -> dict:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForSequenceClassification

    from assistant.encode.embed import _encoding_tokenizer, minilm_path
    from assistant.encode.onnxmodel import padded

    torch.manual_seed(seed)
    rng = random.Random(seed)
    sets = training_items()
    rows: list[tuple[str, str, int, str]] = []
    for name, items in sets.items():
        r = pairs_for(items, rng)
        log.info("%s: %d questions, %d pairs (%d positive)", name, len(items), len(r), sum(x[2] for x in r))
        rows += r
    rng.shuffle(rows)
    if limit:
        rows = rows[:limit]
    path = minilm_path()
    tok = _encoding_tokenizer(path, MAX_TOKENS)
    model = AutoModelForSequenceClassification.from_pretrained(str(path), num_labels=1, local_files_only=True, attn_implementation="eager")
    config = LoraConfig(r=RANK, lora_alpha=ALPHA, lora_dropout=0.05, target_modules=["query", "key", "value", "dense"], modules_to_save=["classifier"])
    model = get_peft_model(model, config)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log.info("%d pairs, %d trainable parameters", len(rows), trainable)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=0.01)
    steps = max(1, int(len(rows) * epochs / batch))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / (0.06 * steps)) * max(0.0, (steps - s) / steps))
    pos_rate = sum(r[2] for r in rows) / len(rows)
    bf16 = _use_bf16()
    log.info("%d steps of %d, bf16 autocast %s, positives %.3f", steps, batch, bf16, pos_rate)
    model.train()
    t0 = time.perf_counter()
    loss_avg = 0.0
    for step in range(steps):
        idx = [(step * batch + k) % len(rows) for k in range(batch)]
        encs = tok.encode_batch([(rows[i][0], rows[i][1]) for i in idx])
        inputs = {k: torch.from_numpy(v) for k, v in padded([e.ids for e in encs], [e.type_ids for e in encs]).items()}
        y = torch.tensor([float(rows[i][2]) for i in idx])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model(**inputs).logits.squeeze(-1)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits.float(), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        loss_avg = 0.98 * loss_avg + 0.02 * loss.item() if step else loss.item()
        if step % 50 == 0 or step == steps - 1:
            el = time.perf_counter() - t0
            log.info("step %d/%d loss %.4f  %.0f s (%.2f s/step, ~%.0f min left)", step + 1, steps, loss_avg, el, el / (step + 1), el / (step + 1) * (steps - step - 1) / 60)
    return _export_params(model, len(rows), steps, batch, lr, epochs, bf16, time.perf_counter() - t0, {k: len(v) for k, v in sets.items()})


def _export_params(model, n_pairs, steps, batch, lr, epochs, bf16, seconds, sets) -> dict:  # type: ignore[no-untyped-def]
    """LoRA A/B per adapted linear layer (float16) + the head, named by the base model's parameter."""
    arrays: dict[str, np.ndarray] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        key = name.replace("base_model.model.", "").replace(".default", "").replace("modules_to_save.", "")
        arrays[key] = p.detach().float().numpy().astype(np.float16 if "lora_" in key else np.float32)
    meta = {
        "rank": RANK, "alpha": ALPHA, "max_tokens": MAX_TOKENS, "pairs": n_pairs, "steps": steps, "batch": batch, "lr": lr,
        "epochs": epochs, "bf16_autocast": bf16, "train_seconds": round(seconds), "sets": sets,
        "data": "SQuAD2 sample train articles + generated twins, SelQA official dev, TREC-QA train",
    }
    return {"arrays": arrays, "meta": meta}


def save(params: dict, out: Path, min_prob: float | None = None) -> None:
    meta = dict(params["meta"])
    if min_prob is not None:
        meta["min_prob"] = min_prob
    np.savez_compressed(out, meta=np.array(json.dumps(meta)), **params["arrays"])
    log.info("wrote %s (%d bytes)", out, out.stat().st_size)


MAX_FALSE_REFUSALS = 0.15


def dev_groups(params: Path, set_name: str, split: str, synthetic: bool) -> list[tuple[qa_data.Item, float, bool]]:
    """Per dev question, as the product answers it (candidates, cross-encoder, gates): the best
    probability left after the gates (0 if none) and whether that sentence is gold."""
    from assistant.answer.crossenc import load_cross_encoder
    from assistant.answer.extract import ExtractiveAnswerer, passes_gates
    from assistant.config import Settings
    from assistant.encode.embed import Embedder
    from evals import answers

    items = qa_data.load(set_name, split)
    if synthetic:
        items = items + list(qa_data.synthetic_unanswerable(items, qa_data.squad2_paragraphs(split)))
    settings = Settings(answer_scorer="cross")
    cache = answers.VectorCache(f"{set_name}-{split}", Embedder(settings.embed_model_path, settings.embed_precision))
    pool = answers._pool(items)
    cache.ensure(answers.question_texts(items) + answers.sentence_texts(pool))
    ext = ExtractiveAnswerer(settings, answers.CachedEmbedder(cache))
    ext._cross = load_cross_encoder(settings.embed_precision, params)
    df, n = answers._df(pool), len(pool)
    out = []
    for it in items:
        contexts, documents, idf = answers.as_inputs(it.passages, df, n, it.question)
        _, ranked = ext.rank_cross(it.question, contexts, documents, idf)
        ok = [c for c in ranked if passes_gates(c, "cross")]
        best = ok[0] if ok else None
        out.append((it, best.prob if best else 0.0, bool(best) and answers._overlaps((best.doc_id, best.start, best.end), it.gold)))
    return out


def metrics_at(groups: list[tuple[qa_data.Item, float, bool]], th: float) -> dict[str, float]:
    ans = [g for g in groups if g[0].answerable]
    una = [g for g in groups if not g[0].answerable]
    hit = sum(1 for _, p, gold in ans if p >= th and gold)
    fr = sum(1 for _, p, _ in ans if p < th)
    ru = sum(1 for _, p, _ in una if p < th)
    return {
        "accuracy": (hit + ru) / max(1, len(groups)), "hit": hit / max(1, len(ans)),
        "false_refusals": fr / max(1, len(ans)), "refused_unanswerable": ru / max(1, len(una)),
    }


def operating_point(params: Path) -> dict:
    """`min_prob`: the best question-level accuracy on SQuAD dev + generated twins with false
    refusals <= MAX_FALSE_REFUSALS (TREC-QA dev reported at the same point)."""
    dev = dev_groups(params, "squad2", "dev", True)
    best = None
    for th in np.round(np.arange(0.02, 0.981, 0.01), 2):
        m = metrics_at(dev, float(th))
        if m["false_refusals"] <= MAX_FALSE_REFUSALS and (best is None or m["accuracy"] > best[1]["accuracy"]):
            best = (float(th), m)
    assert best is not None
    th, m = best
    trec = metrics_at(dev_groups(params, "trecqa", "dev", False), th)
    log.info("operating point %.2f: squad2 dev+twins %s; trecqa dev %s", th, m, trec)
    return {"min_prob": th, "dev_squad2_synthetic": {k: round(v, 4) for k, v in m.items()}, "dev_trecqa": {k: round(v, 4) for k, v in trec.items()}}


def set_operating_point(path: Path) -> None:
    arrays = dict(np.load(path, allow_pickle=False))
    meta = json.loads(str(arrays.pop("meta")))
    op = operating_point(path)
    meta.update(op)
    np.savez_compressed(path, meta=np.array(json.dumps(meta)), **arrays)
    log.info("wrote %s (%d bytes), min_prob %.2f", path, path.stat().st_size, op["min_prob"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.train_crossencoder", description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=float, default=1.5)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--limit", type=int, default=None, help="train on the first N shuffled pairs (smoke runs)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--operating-point", action="store_true", help="only choose min_prob for the parameters in --out (on SQuAD dev)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    if not args.operating_point:
        save(train(args.epochs, args.batch, args.lr, args.seed, args.limit), args.out)
    set_operating_point(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
