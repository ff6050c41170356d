"""`ct-assistant eval answers`: does the answerer quote the sentence that answers, and refuse when none does?

Scored on public question sets (`evals/qa_data.py`) in two modes:
- `oracle`: the answerer gets the item's own passages (the gold paragraph, or the candidate
  sentences of AS2 sets) and nothing else;
- `open`: the 5 passages of the split's pool nearest to the question (MiniLM cosine of the
  question and the passage's mean sentence vector); plus `open-noans`: the same for answerable
  questions with every passage holding a gold span removed, so no passage answers (must refuse).

Per answerer and mode: `hit` (answerable questions answered with the gold sentence as the best
cited one), `hit_at_1` (the top-ranked sentence is gold, refusals ignored), `false_refusals`
(answerable but refused), `refused_unanswerable`, `accuracy` (hit on answerable, refusal on
unanswerable, over all items), `citation_validity`, `latency_p50_ms` (the answer call; the
sentence vectors come from a disk cache, as they come from the store in the product),
`answerability_auc` (ROC AUC of the answerer's confidence, answerable vs unanswerable: 0.5 is
chance; the best sentence score, or the refusal score).

Baselines in the same table: `refuse` (always refuses) and `overlap` (the sentence with the
largest IDF-weighted share of question terms, never refuses).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evals import qa_data, squad_full
from evals.qa_data import Item, Passage

log = logging.getLogger(__name__)

CACHE_DIR = Path(os.environ.get("CT_ANSWERS_CACHE", "/tmp/ct_answers_cache"))
OPEN_K = 5
ANSWERERS = ("reader", "reader-nogates", "cross", "cross-nogates", "learned", "learned-nogates", "heuristic", "overlap", "refuse")
#: modes: oracle (its own passages), open (the 5 nearest of the pool), open-noans (the same without
#: any gold passage), topical (squad2full: the `OPEN_K` paragraphs of its own article sharing most
#: words with the question that do not hold the answer; answerable questions only, must refuse)
MODES = ("oracle", "open", "open-noans", "topical", "conflicts")
#: conflict probes per run (`evals/conflict_probes.py`)
CONFLICT_PROBES = 300


# --- embeddings, cached on disk ---------------------------------------------------------------------
def _key(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


class VectorCache:
    """text -> MiniLM vector, persisted as one .npz per name under CACHE_DIR."""

    def __init__(self, name: str, embedder: Any) -> None:
        self.path = CACHE_DIR / f"{name}.npz"
        self.embedder = embedder
        self.vecs: dict[str, np.ndarray] = {}
        if self.path.exists():
            z = np.load(self.path)
            self.vecs = dict(zip(z["keys"].tolist(), z["vecs"], strict=True))

    def ensure(self, texts: Sequence[str]) -> None:
        missing = list(dict.fromkeys(t for t in texts if _key(t) not in self.vecs))
        if not missing:
            return
        log.info("embedding %d texts for %s", len(missing), self.path.name)
        for i in range(0, len(missing), 512):
            batch = missing[i : i + 512]
            self.vecs.update(zip((_key(t) for t in batch), self.embedder.embed(batch), strict=True))
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        keys = list(self.vecs)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(keys), vecs=np.stack([self.vecs[k] for k in keys]).astype(np.float32))
        tmp.replace(self.path)

    def get(self, text: str) -> np.ndarray | None:
        return self.vecs.get(_key(text))


class CachedEmbedder:
    """The Embedder interface the answerers use, served from a VectorCache (falls back to the model)."""

    def __init__(self, cache: VectorCache) -> None:
        self.cache = cache

    def embed_query(self, text: str) -> np.ndarray:
        v = self.cache.get(text)
        return v if v is not None else self.cache.embedder.embed_query(text)

    def embed_cached(self, texts: Sequence[str]) -> np.ndarray:
        out = [self.cache.get(t) for t in texts]
        if any(v is None for v in out):
            self.cache.ensure(list(texts))
            out = [self.cache.get(t) for t in texts]
        return np.stack(out) if out else np.zeros((0, 384), dtype=np.float32)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_cached(texts)


# --- passages as the product's types ------------------------------------------------------------
def as_inputs(passages: Sequence[Passage], df: dict[str, int], n_docs: int, question: str) -> tuple[list, dict, dict]:
    from assistant.answer.extract import idf_weights
    from assistant.text.lexical import terms
    from assistant.types import Context, Document

    contexts, documents = [], {}
    for i, p in enumerate(passages):
        documents[p.pid] = Document(doc_id=p.pid, source=p.pid, title=p.title, text=p.text)
        contexts.append(Context(chunk_id=p.pid, doc_id=p.pid, score=1.0 / (i + 1), text=p.text, start=0, end=len(p.text), title=p.title))
    return contexts, documents, idf_weights(df, n_docs, terms(question))


def question_texts(items: Sequence[Item]) -> list[str]:
    """What the answerers embed for a question: the question and its focus (without attribution)."""
    from assistant.answer.question import focus

    return [t for it in items for t in (it.question, focus(it.question))]


def sentence_texts(passages: Sequence[Passage]) -> list[str]:
    from assistant.text.sentences import split_sentences

    return [p.text[s:e] for p in passages for s, e in split_sentences(p.text, 0, len(p.text))]


# --- answerers under test --------------------------------------------------------------------------
@dataclass
class Outcome:
    refused: bool
    best: tuple[str, int, int] | None  # best cited sentence (doc, start, end)
    top: tuple[str, int, int] | None  # top-ranked sentence even when refused
    valid: bool
    ms: float
    #: the answerer's confidence that the question is answered (best sentence score, or the
    #: refusal score); None for answerers without one
    score: float | None = None


def _confidence(ans: Any) -> float | None:
    if ans.refused:
        return ans.refusal_score
    scores = [s.score for s in ans.sentences if s.score is not None]
    return max(scores) if scores else None


def auc(positive: Sequence[float], negative: Sequence[float]) -> float:
    """ROC AUC: the chance that a random positive scores above a random negative (ties count half)."""
    if not positive or not negative:
        return float("nan")
    pos, neg = np.asarray(positive, dtype=float), np.asarray(negative, dtype=float)
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def _best_citation(ans: Any) -> tuple[str, int, int] | None:
    if ans.refused or not ans.citations:
        return None
    scored = [(s.score if s.score is not None else 0.0, s.citations[0]) for s in ans.sentences if s.citations]
    n = max(scored)[1] if scored else ans.citations[0].n
    c = next(c for c in ans.citations if c.n == n)
    return (c.doc_id, c.start, c.end)


def _valid(ans: Any, documents: dict) -> bool:
    return all(c.quote == documents[c.doc_id].text[c.start : c.end] for c in ans.citations)


#: answerers that are the product's ExtractiveAnswerer with one scorer (with or without its gates)
SCORED = ("reader", "reader-nogates", "cross", "cross-nogates", "learned", "learned-nogates", "heuristic")


def settings_for(name: str, settings: Any) -> Any:
    from assistant.config import Settings

    return Settings.model_validate({**settings.model_dump(), "answer_scorer": name.split("-")[0], "answer_gates": not name.endswith("-nogates")})


def make_answerer(name: str, settings: Any, embedder: Any) -> Callable[[str, list, dict, dict], Outcome]:
    from assistant.answer.extract import ExtractiveAnswerer
    from assistant.answer.question import analyze
    from assistant.text.lexical import terms
    from assistant.text.sentences import split_sentences

    if name in SCORED:
        ext = ExtractiveAnswerer(settings_for(name, settings), embedder)

        def run(question: str, contexts: list, documents: dict, idf: dict) -> Outcome:
            t = time.perf_counter()
            ans = ext.answer(question, contexts, documents, idf)
            ms = (time.perf_counter() - t) * 1000
            top = ext.top_sentence(question, contexts, documents, idf)
            return Outcome(ans.refused, _best_citation(ans), top, _valid(ans, documents), ms, _confidence(ans))

        return run

    def run_simple(question: str, contexts: list, documents: dict, idf: dict) -> Outcome:
        t = time.perf_counter()
        q = analyze(question)
        weights = {w: idf.get(w, 1.0) for w in q.content_terms}
        total = sum(weights.values()) or 1.0
        best, best_score = None, -1.0
        for ctx in contexts:
            text = documents[ctx.doc_id].text
            for s, e in split_sentences(text, ctx.start, ctx.end):
                present = set(terms(text[s:e]))
                score = sum(w for t_, w in weights.items() if t_ in present) / total
                if score > best_score:
                    best, best_score = (ctx.doc_id, s, e), score
        ms = (time.perf_counter() - t) * 1000
        if name == "refuse":
            return Outcome(True, None, best, True, ms)
        return Outcome(best is None, best, best, True, ms, best_score if best is not None else None)

    return run_simple


# --- scoring -----------------------------------------------------------------------------------------
def _overlaps(span: tuple[str, int, int] | None, gold: list[tuple[str, int, int]]) -> bool:
    if span is None:
        return False
    d, s, e = span
    return any(g[0] == d and g[1] < e and s < g[2] for g in gold)


def summarise(rows: list[tuple[Item, Outcome]]) -> dict[str, float]:
    ans = [(it, o) for it, o in rows if it.answerable]
    una = [(it, o) for it, o in rows if not it.answerable]
    hit = sum(1 for it, o in ans if not o.refused and _overlaps(o.best, it.gold))
    hit1 = sum(1 for it, o in ans if _overlaps(o.top, it.gold))
    fr = sum(1 for _, o in ans if o.refused)
    ru = sum(1 for _, o in una if o.refused)
    ms = [o.ms for _, o in rows]
    scored = all(o.score is not None for _, o in rows)
    return {
        "items": len(rows),
        "answerable": len(ans),
        "hit": round(hit / len(ans), 4) if ans else float("nan"),
        "hit_at_1": round(hit1 / len(ans), 4) if ans else float("nan"),
        "false_refusals": round(fr / len(ans), 4) if ans else float("nan"),
        "refused_unanswerable": round(ru / len(una), 4) if una else float("nan"),
        "accuracy": round((hit + ru) / len(rows), 4) if rows else float("nan"),
        "citation_validity": round(sum(o.valid for _, o in rows) / len(rows), 4) if rows else float("nan"),
        "latency_p50_ms": round(float(np.median(ms)), 2) if ms else float("nan"),
        # does the answerer's confidence separate answerable from unanswerable questions (0.5 = chance)
        "answerability_auc": round(auc([o.score for _, o in ans], [o.score for _, o in una]), 4) if scored else float("nan"),
    }


def _pool(items: Sequence[Item]) -> list[Passage]:
    seen: dict[str, Passage] = {}
    for it in items:
        for p in it.passages:
            seen.setdefault(p.pid, p)
    return list(seen.values())


def _df(pool: Sequence[Passage]) -> dict[str, int]:
    from assistant.text.lexical import terms

    df: dict[str, int] = {}
    for p in pool:
        for t in set(terms(p.text)):
            df[t] = df.get(t, 0) + 1
    return df


def limit_items(items: list[Item], limit: int | None) -> list[Item]:
    """A deterministic sample (by hashed id) of at most `limit` items, in file order."""
    if not limit or len(items) <= limit:
        return items
    keep = set(sorted(range(len(items)), key=lambda i: _key(items[i].qid))[:limit])
    return [it for i, it in enumerate(items) if i in keep]


def evaluate(
    set_name: str,
    split: str,
    modes: Sequence[str],
    answerers: Sequence[str],
    settings: Any,
    embedder: Any,
    limit: int | None = None,
    synthetic: bool = False,
) -> dict[str, Any]:
    items = squad_full.items(split) if set_name == "squad2full" else qa_data.load(set_name, split)
    if synthetic and set_name == "squad2":
        items = items + list(qa_data.synthetic_unanswerable(items, qa_data.squad2_paragraphs(split)))
    articles = squad_full.article_passages(split) if set_name == "squad2full" else {}
    pool = [p for paras in articles.values() for p in paras] or _pool(items)
    items = limit_items(items, limit)
    cache = VectorCache(f"{set_name}-{split}", embedder)
    cache.ensure(question_texts(items) + sentence_texts(pool))
    emb = CachedEmbedder(cache)
    df, n_docs = _df(pool), len(pool)
    pool_vecs = None
    if any(m.startswith("open") for m in modes):
        from assistant.text.sentences import split_sentences

        mats = []
        for p in pool:
            sv = emb.embed_cached([p.text[s:e] for s, e in split_sentences(p.text, 0, len(p.text))] or [p.text])
            v = sv.mean(axis=0)
            mats.append(v / max(float(np.linalg.norm(v)), 1e-9))
        pool_vecs = np.stack(mats)
    runs = {a: make_answerer(a, settings, emb) for a in answerers}
    table: dict[str, Any] = {}
    conflicts: dict[str, Any] = {}
    if "conflicts" in modes:
        from assistant.answer.extract import ExtractiveAnswerer
        from evals import conflict_probes

        probes = conflict_probes.build(items, CONFLICT_PROBES)
        for a in answerers:
            if a in SCORED:
                conflicts[a] = conflict_probes.run(probes, ExtractiveAnswerer(settings_for(a, settings), emb).answer, as_inputs, df, n_docs)
        modes = [m for m in modes if m != "conflicts"]
    for mode in modes:
        mode_items = items
        if mode in ("open-noans", "topical"):
            mode_items = [it for it in items if it.answerable]
        if mode == "topical" and not articles:
            raise qa_data.QADataError(f"mode topical needs the articles of set squad2full, not {set_name!r}")
        for a in answerers:
            rows = []
            for it in mode_items:
                passages = it.passages
                if mode == "topical":
                    passages = topical_passages(it, articles.get(it.group, []))
                elif mode != "oracle":
                    qv = emb.embed_query(it.question)
                    order = np.argsort(-(pool_vecs @ qv))
                    gold_pids = {g[0] for g in it.gold}
                    passages = []
                    for i in order:
                        if mode == "open-noans" and pool[i].pid in gold_pids:
                            continue
                        passages.append(pool[i])
                        if len(passages) == OPEN_K:
                            break
                target = it if mode not in ("open-noans", "topical") else Item(it.qid, it.question, passages, [], it.kind, it.group)
                contexts, documents, idf = as_inputs(passages, df, n_docs, it.question)
                rows.append((target, runs[a](it.question, contexts, documents, idf)))
            table[f"{mode}/{a}"] = summarise(rows)
    return {"set": set_name, "split": split, "synthetic": synthetic, "limit": limit, "results": table, "conflicts": conflicts}


def topical_passages(it: Item, article: list[Passage], k: int = OPEN_K) -> list[Passage]:
    """The k other paragraphs of the item's article sharing most words with its question, none holding the answer."""
    own = {g[0] for g in it.gold}
    answers = [p.text[g[1] : g[2]].lower() for p in it.passages for g in it.gold if g[0] == p.pid]
    q = squad_full.words(it.question)
    cands = [p for p in article if p.pid not in own and not any(a and a in p.text.lower() for a in answers)]
    cands.sort(key=lambda p: len(q & squad_full.words(p.text)), reverse=True)
    return cands[:k]


def format_table(result: dict[str, Any]) -> str:
    cols = ["items", "hit", "hit_at_1", "false_refusals", "refused_unanswerable", "accuracy", "citation_validity", "latency_p50_ms", "answerability_auc"]
    lines = [f"{result['set']} / {result['split']}" + (" (+ synthetic unanswerable)" if result.get("synthetic") else ""),
             "| mode/answerer | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for k, m in result["results"].items():
        lines.append(f"| {k} | " + " | ".join(f"{m[c]}" for c in cols) + " |")
    if result.get("conflicts"):
        ccols = ["probes", "flagged", "swapped_unflagged", "false_alarms", "refused"]
        lines += ["", "conflict probes (a passage and a copy with the answer swapped; false alarms on the same passage twice)",
                  "| answerer | " + " | ".join(ccols) + " |", "|---" * (len(ccols) + 1) + "|"]
        for k, m in result["conflicts"].items():
            lines.append(f"| {k} | " + " | ".join(f"{m[c]}" for c in ccols) + " |")
    return "\n".join(lines)
