"""Train the span reader and write `assistant/answer/data/reader.npz`.

    python -m evals.train_reader                   # ~100 min on 2 cores with bf16 autocast; resumes if cut
    python -m evals.train_reader --examples 2000   # a smoke run
    python -m evals.reader_eval --operating-point  # then choose `min_margin` on the dev articles

The model is the packaged all-MiniLM-L6-v2 (BERT, 6 layers, 384 wide) with the usual SQuAD 2.0
head: a start and an end logit per token, where the [CLS] token stands for "no answer". Every
weight is trained except the word-embedding matrix, which stays the packaged one, so what ships
is the rest of the network in float16 (~21 MB); `assistant.answer.reader` puts it over the
installed weights and exports one ONNX graph on first use.

Data (`evals/squad_full.py`, split by article; nothing from SQuAD 2.0 dev, nothing from WikiQA):
- every question of the `train` articles of `squad2-train`: answerable ones labelled with their
  span (re-placed at the occurrence among the question's words), the 32k adversarial
  unanswerable ones labelled [CLS];
- topical negatives: for a share (`--topical`) of the answerable questions, the paragraph of the
  same article sharing most words with the question that does not contain the answer, labelled [CLS]
  (the retrieved-context case: on the topic, answering nothing).
Each question-passage pair is cut into windows of 192 tokens (stride 64); a window that does not
hold the whole answer is labelled [CLS]. The windows are shuffled with `--seed` and the first
`--examples` are read once (batches of similar length, to pad little).

Checkpoints (every `--checkpoint-minutes`) go to `--work`; a rerun with the same arguments resumes
from the last one. Progress is a tqdm bar with the ETA on stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answer import windows as W
from evals import squad_full

log = logging.getLogger("train_reader")

OUT = Path(__file__).resolve().parents[1] / "assistant" / "answer" / "data" / "reader.npz"
WORK = Path(os.environ.get("CT_ASSISTANT_TRAIN_WORK", Path.home() / ".cache" / "ct-assistant" / "train-reader"))
#: parameters that stay the packaged ones (not shipped)
FROZEN = ("bert.embeddings.word_embeddings.weight",)


def features(records: list[squad_full.Record], tok: Any, topical: float, rng: random.Random) -> list[tuple[list[int], list[int], int, int]]:
    """(ids, type_ids, start, end) training windows; start = end = 0 means no answer."""
    arts = squad_full.paragraphs("train")
    out: list[tuple[list[int], list[int], int, int]] = []
    q_cache: dict[str, list[int]] = {}
    for rec in records:
        q_ids = q_cache.setdefault(rec.qid, W.question_ids(tok, rec.question))
        for win in W.windows(tok, q_ids, rec.context):
            s = e = 0
            if rec.answers:
                span = win.token_of(*rec.answers[0])
                if span:
                    s, e = span
            out.append((win.ids, win.type_ids, s, e))
        if rec.answers and rng.random() < topical:
            for _, text in squad_full.topical_others(rec, arts.get(rec.title, [])):
                for win in W.windows(tok, q_ids, text)[:1]:
                    out.append((win.ids, win.type_ids, 0, 0))
    return out


def batches(lengths: list[int], batch: int, rng: random.Random) -> list[list[int]]:
    """Index batches of similar length: shuffled, sorted within blocks of 50 batches, batches shuffled."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    out: list[list[int]] = []
    block = batch * 50
    for b in range(0, len(order), block):
        chunk = sorted(order[b : b + block], key=lambda i: lengths[i])
        out += [chunk[k : k + batch] for k in range(0, len(chunk), batch)]
    rng.shuffle(out)
    return out


def _use_bf16() -> bool:
    from assistant.encode.onnxmodel import cpu_flags

    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


def _cpu() -> str:
    name = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from assistant.encode.onnxmodel import cpu_flags

    flags = sorted(f for f in cpu_flags() if f.startswith(("avx", "amx")))
    return f"{name} ({os.cpu_count()} cores; {' '.join(flags)})"


def load_model() -> Any:
    from transformers import AutoModelForQuestionAnswering

    from assistant.encode.embed import minilm_path
    from assistant.encode.trained import load_base

    return load_base(AutoModelForQuestionAnswering, minilm_path())  # train() sets training mode


def train(args: argparse.Namespace) -> dict:
    import torch
    from tqdm import tqdm

    from assistant.encode.embed import load_tokenizer, minilm_path
    from assistant.encode.onnxmodel import padded

    torch.manual_seed(args.seed)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    rng = random.Random(args.seed)
    tok = load_tokenizer(minilm_path())
    t_data = time.perf_counter()
    records = squad_full.load("train")
    feats = features(records, tok, args.topical, rng)
    rng.shuffle(feats)
    feats = feats[args.skip : args.skip + args.examples] if args.examples else feats[args.skip :]
    nulls = sum(1 for f in feats if f[2] == 0)
    log.info("%d train questions (%d unanswerable, %d articles) -> %d windows used (%d no-answer), built in %.0f s",
             len(records), sum(r.impossible for r in records), len({r.title for r in records}), len(feats), nulls, time.perf_counter() - t_data)
    plan = batches([len(f[0]) for f in feats], args.batch, rng)

    model = load_model()
    if args.init:
        _load_params(model, args.init)
    for name, p in model.named_parameters():
        p.requires_grad = name not in FROZEN
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    steps = len(plan)
    warm = max(1, int(0.06 * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (steps - s) / steps))
    key = _run_key(args)
    ckpt = args.work / f"ckpt-{key}.pt"
    start = 0
    spent = 0.0
    if ckpt.exists():
        state = torch.load(ckpt, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"], strict=False)
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        start, spent = state["step"], state["seconds"]
        log.info("resumed from %s at step %d/%d (%.0f s already spent)", ckpt, start, steps, spent)
    bf16 = _use_bf16() and not args.fp32
    log.info("%d steps of %d, lr %g, bf16 autocast %s, CPU %s", steps, args.batch, args.lr, bf16, _cpu())
    model.train()
    t0 = time.perf_counter() - spent
    last_ckpt = time.perf_counter()
    loss_avg = None
    bar = tqdm(total=steps, initial=start, desc="train reader", unit="step", mininterval=20, file=sys.stderr, dynamic_ncols=False, ncols=100)
    for step in range(start, steps):
        idx = plan[step]
        inputs = {k: torch.from_numpy(v) for k, v in padded([feats[i][0] for i in idx], [feats[i][1] for i in idx]).items()}
        s_y = torch.tensor([feats[i][2] for i in idx])
        e_y = torch.tensor([feats[i][3] for i in idx])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = model(**inputs)
        mask = inputs["attention_mask"] == 0
        s_log = out.start_logits.float().masked_fill(mask, -1e4)
        e_log = out.end_logits.float().masked_fill(mask, -1e4)
        loss = (torch.nn.functional.cross_entropy(s_log, s_y) + torch.nn.functional.cross_entropy(e_log, e_y)) / 2
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        loss_avg = loss.item() if loss_avg is None else 0.98 * loss_avg + 0.02 * loss.item()
        bar.update(1)
        bar.set_postfix(loss=f"{loss_avg:.3f}", refresh=False)
        if time.perf_counter() - last_ckpt > args.checkpoint_minutes * 60 and step + 1 < steps:
            _checkpoint(ckpt, model, opt, sched, step + 1, time.perf_counter() - t0)
            last_ckpt = time.perf_counter()
    bar.close()
    seconds = time.perf_counter() - t0
    meta = {
        "recipe": "minilm-qa-span/cls-null/v1", "max_len": W.MAX_LEN, "stride": W.STRIDE, "max_question": W.MAX_QUESTION,
        "examples": len(feats), "no_answer_windows": nulls, "steps": steps, "batch": args.batch, "lr": args.lr, "seed": args.seed,
        "topical": args.topical, "bf16_autocast": bf16, "train_seconds": round(seconds), "cpu": _cpu(), "final_loss": round(loss_avg or 0.0, 4),
        "data": "squad2-train (reconstructed SQuAD 2.0 train), train articles of evals/squad_full.py + topical negatives",
        "train_articles": len({r.title for r in records}), "train_questions": len(records),
    }
    if args.init:
        before = _meta_of(args.init)
        meta.update(stage=2, skipped_windows=args.skip, init=before.get("recipe"),
                    stage1={k: before.get(k) for k in ("examples", "steps", "lr", "train_seconds", "final_loss")},
                    total_train_seconds=round(seconds) + int(before.get("train_seconds") or 0))
    return {"model": model, "meta": meta, "ckpt": ckpt}


def _meta_of(path: Path) -> dict:
    with np.load(path) as z:
        return json.loads(str(z["meta"])) if "meta" in z.files else {}


def _load_params(model: Any, path: Path) -> None:
    """Start from a parameter file written by `save` (stage 2 continues stage 1)."""
    import torch

    with np.load(path) as z:
        state = {n: torch.from_numpy(z[n].astype(np.float32)) for n in z.files if n != "meta"}
    missing, unexpected = model.load_state_dict(state, strict=False)
    bad = [m for m in missing if m not in FROZEN and "position_ids" not in m]
    if bad or unexpected:
        raise SystemExit(f"{path}: not a reader parameter file (missing {bad[:3]}, unexpected {unexpected[:3]})")
    log.info("initialised from %s (%d tensors)", path, len(state))


def _run_key(args: argparse.Namespace) -> str:
    keep = {k: v for k, v in vars(args).items() if k in ("examples", "batch", "lr", "seed", "topical", "fp32")}
    if args.skip:
        keep["skip"] = args.skip
    if args.init:
        keep["init"] = hashlib.sha1(Path(args.init).read_bytes()).hexdigest()[:12]
    keep["window"] = (W.MAX_LEN, W.STRIDE, W.MAX_QUESTION)
    return hashlib.sha1(json.dumps(keep, sort_keys=True).encode()).hexdigest()[:10]


def _checkpoint(path: Path, model: Any, opt: Any, sched: Any, step: int, seconds: float) -> None:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    state = {n: p.detach().clone() for n, p in model.state_dict().items() if n not in FROZEN}
    tmp = path.with_suffix(".tmp")
    torch.save({"model": state, "opt": opt.state_dict(), "sched": sched.state_dict(), "step": step, "seconds": seconds}, tmp)
    os.replace(tmp, path)
    log.info("checkpoint at step %d (%.0f s)", step, seconds)


def save(model: Any, meta: dict, out: Path) -> None:
    """Every trained tensor in float16 (LayerNorm and biases too), keyed by the model's names."""
    arrays = {n: p.detach().float().numpy().astype(np.float16) for n, p in model.state_dict().items() if n not in FROZEN and "position_ids" not in n}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp.npz")
    np.savez_compressed(tmp, meta=np.array(json.dumps(meta)), **arrays)
    os.replace(tmp, out)
    log.info("wrote %s (%.1f MB)", out, out.stat().st_size / 1e6)


def export_checkpoint(args: argparse.Namespace) -> int:
    """The parameter file from this run's last checkpoint (the learning rate had not decayed to 0)."""
    import torch

    ckpt = args.work / f"ckpt-{_run_key(args)}.pt"
    if not ckpt.exists():
        log.error("%s: no checkpoint for these arguments", ckpt)
        return 2
    state = torch.load(ckpt, map_location="cpu", weights_only=False)
    model = load_model()
    model.load_state_dict(state["model"], strict=False)
    meta = {
        "recipe": "minilm-qa-span/cls-null/v1", "max_len": W.MAX_LEN, "stride": W.STRIDE, "max_question": W.MAX_QUESTION,
        "examples": args.examples, "batch": args.batch, "lr": args.lr, "seed": args.seed, "topical": args.topical,
        "checkpoint_step": state["step"], "steps_done": state["step"], "train_seconds": round(state["seconds"]), "cpu": _cpu(),
        "data": "squad2-train (reconstructed SQuAD 2.0 train), train articles of evals/squad_full.py + topical negatives",
    }
    save(model, meta, args.out)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.train_reader", description=__doc__.split("\n")[0])
    ap.add_argument("--examples", type=int, default=72000, help="training windows read (0 = all, ~145k)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--topical", type=float, default=0.12, help="share of answerable questions that also get a topical negative")
    ap.add_argument("--skip", type=int, default=0, help="leave out the first N shuffled windows (stage 2 reads the ones stage 1 did not)")
    ap.add_argument("--init", type=Path, default=None, help="start from this parameter file instead of the packaged MiniLM (stage 2)")
    ap.add_argument("--fp32", action="store_true", help="no bf16 autocast even where the CPU has it")
    ap.add_argument("--checkpoint-minutes", type=float, default=8.0)
    ap.add_argument("--work", type=Path, default=WORK)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--from-checkpoint", action="store_true", help="write --out from the last checkpoint of this run (while it trains, or after a cut)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    if args.from_checkpoint:
        return export_checkpoint(args)
    result = train(args)
    save(result["model"], result["meta"], args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
