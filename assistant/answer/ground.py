"""Offline grounding judge: is a claim supported by the passages it cites? (no LLM, CPU only)

`OfflineJudge.score(claim, passages)` returns a support probability in [0, 1]; a claim counts as
supported when the score is >= `judge.threshold`. Used by the evaluation harness (faithfulness of
answer sentences) and by the assistant (flagging unsupported sentences of LLM answers).

Design
------
1. Passages are split into sentences (newlines, then sentence punctuation); the *units* are the
   sentences plus every window of two consecutive sentences of one passage.
2. Lexical evidence. Claim and units are reduced to content tokens: lower-cased, stop words
   dropped, Snowball-stemmed (PyStemmer), numbers normalised ("1,200" -> 1200). Each claim token
   is weighted by an IDF table shipped in the params file (built from SciFact abstracts, WiCE and
   Climate-FEVER evidence; unseen tokens get the maximum IDF, so a fabricated name weighs a lot).
   Features: IDF-weighted coverage of the claim by the whole evidence, by the best sentence, by the
   best unit and by the greedy best three sentences; coverage of content-token bigrams; the
   largest IDF among missing tokens and how many are missing; the worst-covered clause of the claim
   (claims are split at commas, "and", "which", ...).
3. Agreement checks: share of the claim's numbers (amounts, years) absent from the evidence and
   from the best unit; share of capitalised terms / acronyms absent; negation mismatch between
   claim and best unit; claim length.
4. Semantic evidence (all-MiniLM-L6-v2 through `assistant.encode.embed.Embedder`): cosine between the
   claim and the `EMBED_TOP` units with the best lexical coverage (max, mean of top 3, and the
   cosine with the lexically best unit). Only those units are embedded, so latency stays bounded
   for long pages; embeddings are kept in an LRU cache, so sentences of one answer citing the same
   passages reuse them.
5. A logistic regression over the standardised features (weights, feature list, threshold, IDF
   table, training description and cross-validated scores all in `data/judge_offline.json`),
   trained by `python -m evals.train_judge` on WiCE dev plus a small weight of fabricated
   negatives (supported WiCE claims with a changed number, a swapped name or an inserted
   negation). Climate-FEVER was tried and did not help in CV. At run time only numpy is needed.
   Honest quality: the grouped 5-fold CV balanced accuracy on WiCE recorded in the params file
   (`cv`, about 0.75), not the in-sample number of `python -m evals.wice`.

Limits (it is a bag of words plus a sentence embedding, not an NLI model): it does not understand
negation ("found no shortcomings" scores like "found shortcomings") nor paraphrases that share few
words, and an acronym's expansion ("National Action Plan" for "NAP") counts as missing. Its
strength is catching made-up specifics: numbers, years, amounts, names and terms absent from the
cited passages.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
from collections import OrderedDict
from collections.abc import MutableMapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from assistant.encode.embed import Embedder

log = logging.getLogger(__name__)

DEFAULT_PARAMS = Path(__file__).parent / "data" / "judge_offline.json"
#: Units (sentences / 2-sentence windows) with the best lexical coverage that get embedded.
EMBED_TOP = 8
CACHE_SIZE = 4096

FEATURES = [
    "cov_doc", "cov_sent", "cov_unit", "cov_top3", "bigram_doc", "bigram_unit", "miss_idf", "miss_n",
    "miss_unit_n", "chunk_min", "num_any", "num_miss_doc", "num_miss_unit", "ent_any", "ent_miss_doc",
    "ent_miss_unit", "neg_mismatch", "claim_len", "cos_max", "cos_top3", "cos_best_lex",
]

_STOP = frozenset(
    """a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just me more
    most my myself of off on once only or other our ours ourselves out over own same she should so some
    such than that the their theirs them themselves then there these they this those through to too under
    until up very was we were what when where which while who whom why will with would you your yours
    yourself yourselves s t one may might must shall us via per etc""".split()
)
_NEG = re.compile(r"\b(?:not|no|never|none|nor|neither|nobody|nothing|without|cannot|fail(?:ed|s)?\s+to)\b|n['’]t\b",
                  re.I)
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*(?:st|nd|rd|th)?|[^\W\d_]+")
_CARDINALS = """two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen
    seventeen eighteen nineteen""".split()
_ORDINALS = """third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth fifteenth
    sixteenth""".split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
#: number words -> digits ("one", "first" and "second" are left alone: too often not numbers)
_NUMBER_WORDS = {w: str(i) for i, w in enumerate(_CARDINALS, start=2)} | {w: str(i) for i, w in enumerate(_ORDINALS, start=3)}
_NUMBER_WORDS |= {w: str(10 * i) for i, w in enumerate(_TENS, start=2)}
_NUMBER_WORDS |= {w[:-1] + "ieth": str(10 * i) for i, w in enumerate(_TENS, start=2)}
_SPLIT = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])|(?<=[a-z]{2}[.!?])(?=[A-Z][a-z])")
_ABBREVIATIONS = r"Mr|Mrs|Ms|Dr|Prof|Gen|Col|Lt|Maj|Capt|Sgt|St|Jr|Sr|No|Vol|Inc|Ltd|Co|vs|etc|i\.e|e\.g"
_ABBREV = re.compile(rf"(?:\b(?:{_ABBREVIATIONS})|\b[A-Z])\.$")
_CLAUSE = re.compile(r"[,;:()]|\s[-–—]\s|\b(?:and|but|which|who|whom|whose|where|while|although|whereas)\b")


@runtime_checkable
class SupportJudge(Protocol):
    name: str
    threshold: float  # score >= threshold  => supported

    def score(self, claim: str, passages: Sequence[str]) -> float: ...

    def score_batch(self, items: Sequence[tuple[str, Sequence[str]]]) -> list[float]: ...


def _split_sentences(text: str) -> list[str]:
    """Private, simple splitter: newlines, then . ! ? before a capital, guarding common abbreviations."""
    out: list[str] = []
    for line in text.splitlines():
        pieces: list[str] = []
        for piece in _SPLIT.split(line.strip()):
            if pieces and _ABBREV.search(pieces[-1]):
                pieces[-1] = f"{pieces[-1]} {piece}"
            elif piece.strip():
                pieces.append(piece.strip())
        out.extend(p for p in pieces if p)
    return out


def _number(tok: str) -> str:
    """'1,200' -> '1200', '3.50' -> '3.5', '6th' -> '6', '2018' -> '2018'."""
    tok = tok.rstrip("stndrh").replace(",", "")
    if "." in tok:
        tok = tok.rstrip("0").rstrip(".")
    tok = tok.lstrip("0")
    return "0" + tok if not tok or tok[0] == "." else tok


class _Text:
    """Content tokens of one text: stems (in order), numbers, capitalised terms."""

    __slots__ = ("stems", "stem_set", "bigrams", "numbers", "entities", "negated")

    def __init__(self, text: str, stem: Any, is_claim: bool = False) -> None:
        stems: list[str] = []
        numbers: set[str] = set()
        entities: set[str] = set()
        for i, m in enumerate(_TOKEN.finditer(text)):
            tok = m.group()
            low = tok.lower()
            if low in _NUMBER_WORDS:
                tok = _NUMBER_WORDS[low]
            if tok[0].isdigit():
                numbers.add(_number(tok))
                stems.append("#" + _number(tok))
                continue
            if low in _STOP or len(low) < 2:
                continue
            stems.append(stem(low))
            if is_claim and tok[0].isupper() and (i > 0 or (len(tok) > 1 and tok.isupper())):
                entities.add(stems[-1])
        self.stems = stems
        self.stem_set = frozenset(stems)
        self.bigrams = frozenset(zip(stems, stems[1:]))
        self.numbers = numbers
        self.entities = entities
        self.negated = bool(_NEG.search(text))


class OfflineJudge:
    """Feature-based support judge: MiniLM cosines + lexical/number/entity agreement -> logistic regression."""

    name = "offline-minilm-lr"

    def __init__(
        self,
        embedder: Embedder | None = None,
        params_path: Path | None = None,
        *,
        params: dict[str, Any] | None = None,
        embed_cache: MutableMapping[str, np.ndarray] | None = None,
    ) -> None:
        """`embedder`: shared Embedder (else an fp32 one is built on first use); `params_path`: defaults to
        data/judge_offline.json; `params`: the parsed file instead (training passes one without a model);
        `embed_cache`: text -> vector store (default: an LRU of CACHE_SIZE entries)."""
        if params is None:
            path = Path(params_path) if params_path else DEFAULT_PARAMS
            params = json.loads(path.read_text(encoding="utf-8"))
        self.params = params
        self.idf: dict[str, float] = params["idf"]
        self.max_idf = float(params.get("max_idf", max(self.idf.values(), default=1.0)))
        model = params.get("model")
        if model is not None:
            if model["features"] != FEATURES:
                raise ValueError(f"params were trained on other features: {model['features']}")
            self._mean = np.asarray(model["mean"], dtype=np.float64)
            self._scale = np.asarray(model["scale"], dtype=np.float64)
            self._coef = np.asarray(model["coef"], dtype=np.float64)
            self._bias = float(model["intercept"])
        self.threshold: float = float(params.get("threshold", 0.5))
        self._embedder = embedder
        self._cache: MutableMapping[str, np.ndarray] = embed_cache if embed_cache is not None else OrderedDict()
        self._bounded = embed_cache is None
        self._lock = threading.Lock()
        import Stemmer

        self._stem = Stemmer.Stemmer("english").stemWord

    # ---------------------------------------------------------------- embeddings
    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                from assistant.encode.embed import Embedder

                # fp32: the features were fit on fp32 vectors (an int8 store's embedder is not shared)
                self._embedder = Embedder(precision="fp32")
            return self._embedder

    def _embed(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        with self._lock:
            found = {t: self._cache[t] for t in texts if t in self._cache}
            if isinstance(self._cache, OrderedDict):
                for t in found:
                    self._cache.move_to_end(t)
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            found.update(zip(missing, self.embedder.embed(missing)))
            with self._lock:
                for t in missing:
                    self._cache[t] = found[t]
                if self._bounded and isinstance(self._cache, OrderedDict):
                    while len(self._cache) > CACHE_SIZE:
                        self._cache.popitem(last=False)
        return found

    # ---------------------------------------------------------------- lexical part
    def _coverage(self, weights: dict[str, float], total: float, have: frozenset[str] | set[str]) -> float:
        # rounded: set order varies with PYTHONHASHSEED, and ties between units must break the same way every run
        return round(sum(w for s, w in weights.items() if s in have) / total, 9) if total else 1.0

    def _lexical(self, claim: str, passages: Sequence[str]) -> tuple[dict[str, float], list[str]]:
        """Lexical features and the EMBED_TOP units with the best coverage (best first)."""
        c = _Text(claim, self._stem, is_claim=True)
        weights = {s: (self.max_idf if s.startswith("#") else self.idf.get(s, self.max_idf)) for s in c.stem_set}
        total = sum(weights.values())
        unit_text: list[str] = []
        unit_tok: list[_Text] = []
        sent_idx: list[int] = []
        for passage in passages:
            sents = _split_sentences(passage)
            toks = [_Text(s, self._stem) for s in sents]
            for i, (s, t) in enumerate(zip(sents, toks)):
                sent_idx.append(len(unit_text))
                unit_text.append(s)
                unit_tok.append(t)
                if i + 1 < len(sents):
                    unit_text.append(f"{s} {sents[i + 1]}")
                    unit_tok.append(_merge(t, toks[i + 1]))
        f: dict[str, float] = dict.fromkeys(FEATURES, 0.0)
        f["claim_len"] = math.log1p(len(c.stem_set))
        if not unit_tok:
            f.update(miss_idf=1.0, miss_n=f["claim_len"], miss_unit_n=f["claim_len"], num_any=float(bool(c.numbers)),
                     num_miss_doc=float(bool(c.numbers)), num_miss_unit=float(bool(c.numbers)), ent_any=float(bool(c.entities)),
                     ent_miss_doc=float(bool(c.entities)), ent_miss_unit=float(bool(c.entities)))
            return f, []
        doc_stems: set[str] = set().union(*(t.stem_set for t in unit_tok))
        doc_bigrams: set[tuple[str, str]] = set().union(*(t.bigrams for t in unit_tok))
        doc_numbers: set[str] = set().union(*(t.numbers for t in unit_tok))
        covs = np.array([self._coverage(weights, total, t.stem_set) for t in unit_tok])
        order = np.argsort(-covs, kind="stable")
        best = int(order[0])
        bt = unit_tok[best]
        f["cov_doc"] = self._coverage(weights, total, doc_stems)
        f["cov_sent"] = float(covs[sent_idx].max())
        f["cov_unit"] = float(covs[best])
        chosen: set[str] = set()  # greedy cover with three sentences
        for _ in range(3):
            gains = [self._coverage(weights, total, unit_tok[j].stem_set - chosen) for j in sent_idx]
            chosen |= unit_tok[sent_idx[int(np.argmax(gains))]].stem_set
        f["cov_top3"] = self._coverage(weights, total, chosen)
        if c.bigrams:
            f["bigram_doc"] = len(c.bigrams & doc_bigrams) / len(c.bigrams)
            f["bigram_unit"] = max(len(c.bigrams & t.bigrams) for t in unit_tok) / len(c.bigrams)
        else:
            f["bigram_doc"] = f["bigram_unit"] = f["cov_doc"]
        missing = [weights[s] for s in c.stem_set if s not in doc_stems]
        f["miss_idf"] = max(missing, default=0.0) / self.max_idf
        f["miss_n"] = math.log1p(len(missing))
        f["miss_unit_n"] = math.log1p(len(c.stem_set - bt.stem_set))
        chunk_covs = []
        for chunk in _CLAUSE.split(claim):
            ct = _Text(chunk, self._stem)
            if len(ct.stem_set) >= 2:
                w = {s: weights.get(s, self.max_idf) for s in ct.stem_set}
                chunk_covs.append(max(self._coverage(w, sum(w.values()), t.stem_set) for t in unit_tok))
        f["chunk_min"] = min(chunk_covs, default=f["cov_unit"])
        if c.numbers:
            f["num_any"] = 1.0
            f["num_miss_doc"] = len(c.numbers - doc_numbers) / len(c.numbers)
            f["num_miss_unit"] = len(c.numbers - bt.numbers) / len(c.numbers)
        if c.entities:
            f["ent_any"] = 1.0
            f["ent_miss_doc"] = len(c.entities - doc_stems) / len(c.entities)
            f["ent_miss_unit"] = len(c.entities - bt.stem_set) / len(c.entities)
        f["neg_mismatch"] = float(c.negated != bt.negated)
        return f, [unit_text[int(j)] for j in order[:EMBED_TOP]]

    # ---------------------------------------------------------------- public API
    def features_batch(self, items: Sequence[tuple[str, Sequence[str]]]) -> np.ndarray:
        """(n, len(FEATURES)) feature matrix; embeds all needed texts in one call."""
        lex = [self._lexical(claim, list(passages)) for claim, passages in items]
        texts = [t for (claim, _), (_, units) in zip(items, lex) for t in [claim, *units]]
        vecs = self._embed(texts) if texts else {}
        rows = []
        for (claim, _), (f, units) in zip(items, lex):
            if units:
                sims = np.sort(np.stack([vecs[u] for u in units]) @ vecs[claim])[::-1]
                f["cos_max"] = float(sims[0])
                f["cos_top3"] = float(sims[:3].mean())
                f["cos_best_lex"] = float(vecs[units[0]] @ vecs[claim])
            rows.append([f[name] for name in FEATURES])
        return np.asarray(rows, dtype=np.float64).reshape(len(items), len(FEATURES))

    def features(self, claim: str, passages: Sequence[str]) -> dict[str, float]:
        return dict(zip(FEATURES, self.features_batch([(claim, passages)])[0].tolist()))

    def score_batch(self, items: Sequence[tuple[str, Sequence[str]]]) -> list[float]:
        if not hasattr(self, "_coef"):
            raise RuntimeError("params file has no trained model; run `python -m evals.train_judge`")
        if not items:
            return []
        x = (self.features_batch(items) - self._mean) / self._scale
        z = np.clip(x @ self._coef + self._bias, -30.0, 30.0)
        return [float(v) for v in 1.0 / (1.0 + np.exp(-z))]

    def score(self, claim: str, passages: Sequence[str]) -> float:
        return self.score_batch([(claim, passages)])[0]

    def is_supported(self, claim: str, passages: Sequence[str]) -> bool:
        return self.score(claim, passages) >= self.threshold


def _merge(a: _Text, b: _Text) -> _Text:
    """Token view of two consecutive sentences (a window unit)."""
    m = object.__new__(_Text)
    m.stems = a.stems + b.stems
    m.stem_set = a.stem_set | b.stem_set
    m.bigrams = a.bigrams | b.bigrams
    m.numbers = a.numbers | b.numbers
    m.entities = set()
    m.negated = a.negated or b.negated
    return m
