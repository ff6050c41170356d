"""Features of (question, candidate sentence in its passage) for the learned answer scorer.

One row per candidate sentence; every value is cheap (set lookups, regexes, dot products of
vectors the store already holds). The names in `FEATURES` are the columns the shipped
parameters (`assistant/answer/data/answerer.json`) were trained on; `python -m evals.train_answerer`
rebuilds them. Groups:

- meaning: MiniLM cosine of the question with the sentence, and with the sentence plus its
  neighbours (mean vector), each also relative to the best candidate of the question;
- words: IDF-weighted share of question terms in the sentence / sentence+neighbours / whole
  passage+title, share of question term bigrams, the heaviest question term missing from the
  sentence's surroundings (a swapped key word: "indirectly" for "directly");
- answer kind: the kind asked (who / when / how much / where / why) and whether the sentence
  (or only a neighbour) holds one: a date ("dates back to 1696"), a number, a name...;
- entities: share of the names the question gives ("U.S." kept whole) found in the sentence's
  surroundings and in its passage;
- mismatch: negation on one side only; an antonym of a question word in the sentence;
- shape: a headline without a verb, a sentence leaning on the previous one ("This ..."),
  position in the passage, length. (Retrieval rank is not a feature: the training sets
  have no retrieval order to learn it from.)
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.answer.question import WH_KINDS, QuestionAnalysis, mentions, satisfies_type, wh_kind
from assistant.answer.question import DATE, NUMBER
from assistant.text.lexical import terms, words


@dataclass
class Candidate:
    """A sentence of a retrieved passage, the sets the features need, and its scores."""

    doc_id: str
    chunk_id: str
    start: int
    end: int
    text: str
    rank: int  # rank of its chunk in retrieval (0 = best)
    idx: int = 0  # position among the sentences of its passage
    n: int = 1  # sentences in its passage
    terms: frozenset[str] = frozenset()
    window_terms: frozenset[str] = frozenset()
    passage_terms: frozenset[str] = frozenset()
    window_text: str = ""
    passage_text: str = ""
    prev: tuple[int, int] | None = None  # span of the sentence before it in the passage
    next: tuple[int, int] | None = None  # span of the sentence after it in the passage
    sim: float = 0.0
    lex: float = 0.0
    ctx: float = 0.0
    type_ok: bool = True
    entities_ok: bool = True
    prob: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)
    span: tuple[int, int] | None = None  # the span reader's short answer (document offsets), inside this sentence
    own_line: bool = False  # the sentence is a line of its own (only such a line can be a heading)

    @property
    def score(self) -> float:
        """The heuristic score (`0.5 * cosine + 0.3 * coverage + 0.2 * coverage with neighbours`)."""
        return 0.5 * self.sim + 0.3 * self.lex + 0.2 * self.ctx


NEGATIONS = frozenset({"not", "no", "never", "n't", "without", "none", "neither", "nor", "nobody", "nothing", "cannot", "didn't", "doesn't", "isn't", "wasn't", "weren't", "don't", "won't"})
ANTONYMS = {
    "first": "last", "last": "first", "before": "after", "after": "before", "largest": "smallest", "smallest": "largest",
    "most": "least", "least": "most", "highest": "lowest", "lowest": "highest", "increase": "decrease", "decrease": "increase",
    "increased": "decreased", "decreased": "increased", "directly": "indirectly", "indirectly": "directly", "into": "out",
    "north": "south", "south": "north", "east": "west", "west": "east", "won": "lost", "lost": "won", "early": "late",
    "late": "early", "oldest": "youngest", "youngest": "oldest", "best": "worst", "worst": "best", "began": "ended",
    "start": "end", "started": "ended", "longest": "shortest", "shortest": "longest", "public": "private",
    "private": "public", "major": "minor", "minor": "major", "above": "below", "below": "above", "success": "failure",
    "failure": "success", "allowed": "banned", "banned": "allowed", "legal": "illegal", "illegal": "legal",
    "rise": "fall", "fall": "rise", "gain": "loss", "loss": "gain", "accepted": "rejected", "rejected": "accepted",
}
_LEAN = re.compile(r"^\W*(this|these|that|those|it|they|he|she|such|its|their|there|then|thus|hence|however|but|because of (this|that|these))\b", re.I)
_VERBISH = re.compile(
    r"\b(is|are|was|were|be|been|being|has|have|had|do|does|did|will|would|can|could|may|might|should|must|shall|\w{2,}ed|\w{3,}ing|says?|said|made|took|gave|went|came|became|began|won|lost|held|led|left|set|put|got|saw|knew|grew|rose|fell|sold|bought|built|wrote|told|found|ran|met|paid|kept|brought|thought|became)\b",
    re.I,
)

# a present-tense verb before its object ("employs forty analysts", "reviews the detentions"): a
# sentence, not a title, though `_VERBISH` does not list the verb
_PRESENT_VERB = re.compile(
    r"\b[a-z]{3,}(?<!ss)s\s+(the|a|an|its|their|his|her|our|this|that|these|those|every|each|all|some|several|many|few|"
    r"\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|thirty|forty|fifty|sixty|seventy|"
    r"eighty|ninety|hundreds?|thousands?|millions?|dozens?)\b"
)

FEATURES: tuple[str, ...] = (
    "sim", "sim_ctx", "sim_rel", "sim_top", "lex", "ctx", "pcov", "lex_rel", "lex_top", "bigram", "missing_max",
    *(f"ask_{k}" for k in WH_KINDS), *(f"match_{k}" for k in WH_KINDS), "type_only_neighbour",
    "has_number", "has_date", "ent_any", "ent_window", "ent_passage", "neg_mismatch", "antonym",
    "headline", "leans", "first", "pos_rel", "log_len", "q_len", "sim_x_lex", "type_x_lex",
)


def _coverage(weights: dict[str, float], present: frozenset[str] | set[str]) -> float:
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in present) / total if total else 0.0


def _bigrams(ts: Sequence[str]) -> set[tuple[str, str]]:
    return {(a, b) for a, b in zip(ts, ts[1:])}  # noqa: B905


def is_headline(text: str) -> bool:
    """A heading or title line: Markdown '#', or a short line with no verb ("Tesla Q2 2020 revenue.")."""
    t = text.strip()
    if t.startswith("#"):
        return True
    n = len(words(t))
    if not t.endswith((".", "!", "?", '"', "”", "'", "’", ")")) and n <= 14:
        return True
    return n <= 10 and not _VERBISH.search(t) and not _PRESENT_VERB.search(t)


def featurize(
    q: QuestionAnalysis, question: str, cands: Sequence[Candidate], idf: dict[str, float], documents_text: dict[str, str]
) -> np.ndarray:
    """(len(cands), len(FEATURES)) float32; candidates' `sim`/`extra['sim_ctx']` must be set."""
    weights = {t: idf.get(t, 1.0) for t in q.content_terms}
    wmax = max(weights.values()) if weights else 1.0
    qterms_seq = terms(q.text)
    qbig = _bigrams(qterms_seq)
    kind = wh_kind(question)
    qwords = set(words(question))
    q_neg = bool(qwords & NEGATIONS)
    ants = {ANTONYMS[w] for w in qwords if w in ANTONYMS}
    ents = q.entities
    rows = []
    for c in cands:
        c.lex = _coverage(weights, c.terms)
        c.ctx = _coverage(weights, c.window_terms)
    max_sim = max((c.sim for c in cands), default=0.0)
    max_lex = max((c.lex for c in cands), default=0.0)
    ent_cache: dict[tuple[str, str], bool] = {}
    for c in cands:
        doc_text = documents_text.get(c.doc_id, "")
        sw = set(words(c.text))
        missing = [w for t, w in weights.items() if t not in c.window_terms and t not in c.passage_terms]
        missing_near = [w for t, w in weights.items() if t not in c.window_terms]
        match = satisfies_type(c.text, kind) if kind else False
        near = (not match) and bool(kind) and satisfies_type(c.window_text, kind)
        ent_w = ent_p = 0.0
        if ents:
            for e in ents:
                k = (e, c.doc_id)
                ent_w += mentions(e, set(c.window_terms), doc_text)
                if k not in ent_cache:
                    ent_cache[k] = mentions(e, set(c.passage_terms), doc_text)
                ent_p += ent_cache[k]
            ent_w /= len(ents)
            ent_p /= len(ents)
        sterms = terms(c.text)
        f = {
            "sim": c.sim,
            "sim_ctx": c.extra.get("sim_ctx", c.sim),
            "sim_rel": c.sim - max_sim,
            "sim_top": float(c.sim >= max_sim),
            "lex": c.lex,
            "ctx": c.ctx,
            "pcov": _coverage(weights, c.passage_terms),
            "lex_rel": c.lex - max_lex,
            "lex_top": float(c.lex >= max_lex),
            "bigram": len(qbig & _bigrams(sterms)) / len(qbig) if qbig else 0.0,
            "missing_max": max(missing + [0.0]) / wmax * 0.5 + max(missing_near + [0.0]) / wmax * 0.5,
            **{f"ask_{k}": float(kind == k) for k in WH_KINDS},
            **{f"match_{k}": float(kind == k and match) for k in WH_KINDS},
            "type_only_neighbour": float(near),
            "has_number": float(satisfies_type(c.text, NUMBER)),
            "has_date": float(satisfies_type(c.text, DATE)),
            "ent_any": float(bool(ents)),
            "ent_window": ent_w,
            "ent_passage": ent_p,
            "neg_mismatch": float(q_neg != bool(sw & NEGATIONS)),
            "antonym": float(bool(ants & sw) and not (ants & qwords)),
            "headline": float(is_headline(c.text)),
            "leans": float(bool(_LEAN.search(c.text))),
            "first": float(c.idx == 0),
            "pos_rel": c.idx / max(1, c.n - 1),
            "log_len": math.log1p(len(sw)),
            "q_len": math.log1p(len(qterms_seq)),
            "sim_x_lex": c.sim * c.lex,
            "type_x_lex": float(match) * c.lex,
        }
        rows.append([f[name] for name in FEATURES])
    return np.asarray(rows, dtype=np.float32).reshape(len(cands), len(FEATURES))
