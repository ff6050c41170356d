"""Evaluation metrics: pure functions over answers, retrieved contexts and gold evidence.

Definitions (also in docs/evaluation.md)
----------------------------------------
Gold passage *found* by a retrieved context
    same `doc_id`, and either the evidence text occurs in the context text (after whitespace
    and quote normalisation, see `norm`) or the context's character span covers at least
    half of the evidence's span in the document (a chunk boundary cutting the sentence).
recall@k
    share of an item's gold passages found by at least one of the top k contexts.
MRR (@10)
    1 / rank of the first context that finds any gold passage (0 if none in the top 10).
nDCG@10
    gain 1 at a rank whose context finds a gold passage not found at an earlier rank
    (a context finding two new passages gains 2); ideal = one new passage per rank from
    rank 1, for min(#gold, 10) ranks; clipped to 1.
Citation validity (per answer, boolean)
    every citation's quote equals `document.text[start:end]` of its `doc_id`, and every
    marker `[n]` in the answer text has a citation numbered n. A refusal without markers is
    valid.
Citation recall / precision, judge-based (ALCE, Gao et al. 2023)
    recall: share of answer sentences whose citations, jointly (their quotes), are judged to
    support the sentence; a sentence without citations counts as unsupported.
    precision: share of citations that are relevant: a citation of a supported sentence is
    relevant unless it alone does not support the sentence AND the sentence's other
    citations still do; citations of unsupported sentences are not relevant.
Citation recall / precision, gold-overlap variant
    precision: share of citations whose quote span overlaps a gold evidence span (same
    document, >= 1 shared character); recall: share of gold passages overlapped by a citation.
Answer correctness
    a key fact is covered when it, or any of its alternatives, occurs in the answer text
    (citation markers removed; case-, whitespace- and quote-insensitive substring). Per item:
    `key_fact_coverage` = covered / all; `correct` = all covered. A refused answerable item
    scores 0.
Refusal accuracy
    unanswerable and off-topic items should be refused, answerable items answered;
    `refusal_recall` = refused share of the first, `answer_rate` = answered share of the
    second, `refusal_accuracy` = correct decisions over all items.
Faithfulness
    share of an answer's sentences the judge finds supported by the passages (the retrieved
    chunks) their citations point into; a sentence without citations is unsupported. Differs
    from citation recall in what the judge reads: the whole cited chunk, not only the quoted span.
Latency
    p50 / p95 of `Answer.timings_ms.total`, linear interpolation between order statistics.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

MARKER = re.compile(r"\[(\d+)\]")
_QUOTES = str.maketrans({"’": "'", "‘": "'", "‚": "'", "′": "'", "“": '"', "”": '"', "„": '"', "″": '"', "–": "-", "—": "-", "\u00a0": " "})
#: (claim, passages) -> supported?
Support = Callable[[str, Sequence[str]], bool]


class HasSpan(Protocol):
    doc_id: str
    start: int
    end: int


class ContextLike(HasSpan, Protocol):
    text: str


class CitationLike(HasSpan, Protocol):
    n: int
    quote: str
    chunk_id: str


@dataclass(frozen=True)
class GoldSpan:
    """A gold evidence passage located in its document (`start`/`end` None when not found)."""

    doc_id: str
    text: str
    start: int | None = None
    end: int | None = None


# --- text helpers ---------------------------------------------------------------------------
def norm(text: str) -> str:
    """Lower-case, NFKC, curly quotes and dashes made plain, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).translate(_QUOTES).lower().split())


def strip_markers(text: str) -> str:
    return MARKER.sub(" ", text)


def locate(evidence: str, doc_text: str) -> tuple[int, int] | None:
    """Character span of `evidence` in `doc_text`: exact, else whitespace/quote/case-insensitive."""
    i = doc_text.find(evidence)
    if i >= 0:
        return i, i + len(evidence)
    # normalised search with a map back to original offsets
    chars: list[str] = []
    index: list[int] = []
    prev_space = True
    for pos, ch in enumerate(doc_text):
        c = unicodedata.normalize("NFKC", ch).translate(_QUOTES).lower()
        if c.isspace() or not c:
            if not prev_space:
                chars.append(" ")
                index.append(pos)
            prev_space = True
            continue
        for sub in c:
            chars.append(sub)
            index.append(pos)
        prev_space = False
    hay = "".join(chars)
    needle = norm(evidence)
    j = hay.find(needle) if needle else -1
    if j < 0:
        return None
    return index[j], index[j + len(needle) - 1] + 1


def overlap(a_start: int, a_end: int, b_start: int, b_end: int) -> int:
    return max(0, min(a_end, b_end) - max(a_start, b_start))


# --- retrieval ----------------------------------------------------------------------------
def found(gold: GoldSpan, ctx: ContextLike) -> bool:
    if ctx.doc_id != gold.doc_id:
        return False
    if norm(gold.text) in norm(ctx.text):
        return True
    if gold.start is not None and gold.end is not None and gold.end > gold.start:
        return overlap(gold.start, gold.end, ctx.start, ctx.end) * 2 >= gold.end - gold.start
    return False


def retrieval_scores(gold: Sequence[GoldSpan], contexts: Sequence[ContextLike], ks: Iterable[int] = (1, 5, 10)) -> dict[str, float]:
    """recall@k for each k, mrr (@10) and ndcg@10 of one item; empty dict when there is no gold."""
    if not gold:
        return {}
    first_rank: dict[int, int] = {}  # gold index -> rank (1-based) of the first context finding it
    for rank, ctx in enumerate(contexts, start=1):
        for gi, g in enumerate(gold):
            if gi not in first_rank and found(g, ctx):
                first_rank[gi] = rank
    out: dict[str, float] = {}
    for k in ks:
        out[f"recall@{k}"] = sum(1 for r in first_rank.values() if r <= k) / len(gold)
    best = min(first_rank.values(), default=None)
    out["mrr"] = 1.0 / best if best is not None and best <= 10 else 0.0
    dcg = sum(1.0 / math.log2(r + 1) for r in first_rank.values() if r <= 10)
    idcg = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(gold), 10) + 1))
    out["ndcg@10"] = min(1.0, dcg / idcg)
    return out


# --- citations ----------------------------------------------------------------------------
def citation_problems(answer_text: str, citations: Sequence[CitationLike], doc_texts: Mapping[str, str]) -> list[str]:
    """Empty when every quote equals its document span and every marker has a citation."""
    problems: list[str] = []
    numbers = {c.n for c in citations}
    for c in citations:
        text = doc_texts.get(c.doc_id)
        if text is None:
            problems.append(f"[{c.n}] cites unknown document {c.doc_id!r}")
        elif not (0 <= c.start < c.end <= len(text)):
            problems.append(f"[{c.n}] span {c.start}:{c.end} outside {c.doc_id} ({len(text)} chars)")
        elif text[c.start : c.end] != c.quote:
            problems.append(f"[{c.n}] quote differs from {c.doc_id}[{c.start}:{c.end}]")
    for m in MARKER.findall(answer_text):
        if int(m) not in numbers:
            problems.append(f"marker [{m}] has no citation")
    return problems


def citation_scores_judge(
    sentences: Sequence[tuple[str, Sequence[CitationLike]]], support: Support
) -> dict[str, Any]:
    """ALCE citation recall and precision for one answer: sentences with the citations they carry."""
    n_sent = len(sentences)
    supported_sent = 0
    n_cit = 0
    relevant = 0
    for text, cits in sentences:
        quotes = [c.quote for c in cits]
        ok = bool(cits) and support(text, quotes)
        supported_sent += ok
        n_cit += len(cits)
        if not ok:
            continue
        for i, c in enumerate(cits):
            if len(cits) == 1 or support(text, [c.quote]):
                relevant += 1
                continue
            rest = quotes[:i] + quotes[i + 1 :]
            if not support(text, rest):
                relevant += 1
    return {
        "citation_recall": supported_sent / n_sent if n_sent else None,
        "citation_precision": relevant / n_cit if n_cit else None,
        "sentences": n_sent,
        "citations": n_cit,
    }


def citation_scores_gold(citations: Sequence[HasSpan], gold: Sequence[GoldSpan]) -> dict[str, float | None]:
    """Gold-overlap citation precision (citations touching gold) and recall (gold touched)."""
    located = [g for g in gold if g.start is not None and g.end is not None]

    def touches(c: HasSpan, g: GoldSpan) -> bool:
        return c.doc_id == g.doc_id and overlap(c.start, c.end, g.start, g.end) > 0  # type: ignore[arg-type]

    precision = sum(1 for c in citations if any(touches(c, g) for g in located)) / len(citations) if citations else None
    recall = sum(1 for g in gold if any(touches(c, g) for c in citations) and g in located) / len(gold) if gold else None
    return {"gold_citation_precision": precision, "gold_citation_recall": recall}


def faithfulness(sentences: Sequence[tuple[str, Sequence[str]]], support: Support) -> float | None:
    """Share of sentences supported by the passages they cite (sentence text, cited passages)."""
    if not sentences:
        return None
    return sum(1 for text, passages in sentences if passages and support(text, passages)) / len(sentences)


# --- answers -------------------------------------------------------------------------------
def fact_covered(answer_text: str, alternatives: Sequence[str]) -> bool:
    hay = norm(strip_markers(answer_text))
    return any(norm(a) in hay for a in alternatives if a.strip())


def key_fact_coverage(answer_text: str, key_facts: Sequence[Sequence[str]], refused: bool = False) -> float | None:
    """Covered share of key facts (each a list of alternatives); 0 when refused; None without facts."""
    if not key_facts:
        return None
    if refused:
        return 0.0
    return sum(1 for alts in key_facts if fact_covered(answer_text, alts)) / len(key_facts)


def refusal_correct(kind: str, refused: bool) -> bool:
    return refused if kind in ("unanswerable", "off_topic") else not refused


# --- aggregation -----------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float | None:
    """q in [0, 100]; linear interpolation (numpy's default)."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def mean(values: Iterable[float | None]) -> float | None:
    xs = [float(v) for v in values if v is not None]
    return sum(xs) / len(xs) if xs else None


#: aggregate metric -> (higher is better, description); the names `--fail-under` accepts
METRICS: dict[str, tuple[bool, str]] = {
    "citation_validity": (True, "answers whose quotes equal the document spans and whose markers all resolve (all items)"),
    "answer_correctness": (True, "mean key-fact coverage over answerable items (refused = 0)"),
    "answer_accuracy": (True, "answerable items whose answer covers every key fact"),
    "refusal_accuracy": (True, "correct answer/refuse decisions over all items"),
    "refusal_recall": (True, "unanswerable + off-topic items refused"),
    "answer_rate": (True, "answerable items not refused"),
    "recall@1": (True, "gold passages in the top 1 context (answerable)"),
    "recall@5": (True, "gold passages in the top 5 contexts (answerable)"),
    "recall@10": (True, "gold passages in the top 10 contexts (answerable)"),
    "mrr": (True, "mean reciprocal rank of the first context with gold evidence (answerable, @10)"),
    "ndcg@10": (True, "nDCG@10 of gold evidence (answerable)"),
    "citation_recall": (True, "ALCE: answer sentences supported by their citations, per the judge (answered items)"),
    "citation_precision": (True, "ALCE: citations needed for their sentence's support, per the judge (answered items)"),
    "gold_citation_precision": (True, "citations overlapping gold evidence (answered answerable items)"),
    "gold_citation_recall": (True, "gold passages overlapped by a citation (answered answerable items)"),
    "faithfulness": (True, "answer sentences the judge finds supported by their cited chunks (answered items)"),
    "rewrite_token_f1": (True, "conversation follow-ups: token F1 of the assistant's standalone question vs the gold rewrite"),
    "latency_p50_ms": (False, "median Answer.timings_ms.total"),
    "latency_p95_ms": (False, "95th percentile of Answer.timings_ms.total"),
}


def aggregate(rows: Sequence[Mapping[str, Any]]) -> dict[str, float | int | None]:
    """Aggregate per-item rows (as built by the runner) into the METRICS, plus counts."""
    answerable = [r for r in rows if r["kind"] == "answerable"]
    negative = [r for r in rows if r["kind"] != "answerable"]
    answered = [r for r in rows if not r["refused"]]
    answered_gold = [r for r in answerable if not r["refused"]]
    out: dict[str, float | int | None] = {
        "items": len(rows),
        "answerable": len(answerable),
        "unanswerable": sum(1 for r in rows if r["kind"] == "unanswerable"),
        "off_topic": sum(1 for r in rows if r["kind"] == "off_topic"),
        "refused": sum(1 for r in rows if r["refused"]),
        "citation_validity": mean(1.0 if r["citation_valid"] else 0.0 for r in rows),
        "answer_correctness": mean(r["key_fact_coverage"] for r in answerable),
        "answer_accuracy": mean((1.0 if r["correct"] else 0.0) for r in answerable),
        "refusal_accuracy": mean(1.0 if r["refusal_correct"] else 0.0 for r in rows),
        "refusal_recall": mean(1.0 if r["refused"] else 0.0 for r in negative),
        "answer_rate": mean(0.0 if r["refused"] else 1.0 for r in answerable),
    }
    for key in ("recall@1", "recall@5", "recall@10", "mrr", "ndcg@10"):
        out[key] = mean(r.get("retrieval", {}).get(key) for r in answerable)
    for key in ("citation_recall", "citation_precision", "faithfulness"):
        out[key] = mean(r.get(key) for r in answered)
    for key in ("gold_citation_precision", "gold_citation_recall"):
        out[key] = mean(r.get(key) for r in answered_gold)
    out["rewrite_token_f1"] = mean(r.get("rewrite_token_f1") for r in rows)
    lat = [float(r["latency_ms"]) for r in rows if r.get("latency_ms") is not None]
    out["latency_p50_ms"] = percentile(lat, 50)
    out["latency_p95_ms"] = percentile(lat, 95)
    return out


def token_f1(predicted: str, gold: str) -> float:
    """Bag-of-words F1 on normalised word tokens (for standalone-rewrite quality)."""
    p = re.findall(r"\w+", norm(predicted))
    g = re.findall(r"\w+", norm(gold))
    if not p or not g:
        return 0.0
    common: dict[str, int] = {}
    for t in p:
        common[t] = common.get(t, 0) + 1
    hit = 0
    for t in g:
        if common.get(t, 0) > 0:
            hit += 1
            common[t] -= 1
    if hit == 0:
        return 0.0
    prec, rec = hit / len(p), hit / len(g)
    return 2 * prec * rec / (prec + rec)
