"""The extractive answerer (no LLM): picks the sentences of the retrieved passages that answer
the question, quotes them verbatim with markers [1], [2]..., or refuses.

Four scorers (`Settings.answer_scorer`):

- `reader` (the default): the span reader (`assistant.answer.reader`, docs/reader.md) reads the
  most promising candidate sentences with the question and gives each the probability of the best
  short answer inside it over "no answer"; the gates of `assistant.answer.gates` keep what it
  cannot check; questions answered by a clause ("why", "what is X") have their own paths below.
- `cross`: the candidate sentences are ranked by a cheap score (cosine + term coverage) and the
  best `answer_rerank` of them are read together with the question by the cross-encoder
  (`assistant.answer.crossenc`: MiniLM with trained adapters, ONNX Runtime), which gives
  P(this sentence answers the question). The answer is refused when the best probability (after
  the entity / answer-type gates) is below `answer_min_prob` (unset: the operating point shipped
  with the model); further sentences are quoted when they are within `answer_margin` of the
  best. A quoted sentence that leans on the one before it ("This ...", "Because of this ...")
  brings that sentence along as its own citation.
- `learned`: the same decision with the logistic model over hand-made features
  (`assistant.answer.scorer`, `assistant.answer.features`), scoring every candidate.
- `heuristic` (the earlier answerer): `0.5 * cosine + 0.3 * IDF-weighted term coverage +
  0.2 * coverage with neighbours`, gated by the answerability checks of
  `assistant.answer.question` (entities present, a number/date/name for questions that ask
  for one) and `answer_min_score`.

Markdown headings are never candidates. Refusals carry a reason a person reads ("no passage
says when ...") and, with a learned scorer, the best probability (`Answer.refusal_score`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
import numpy as np

from assistant.answer.compose import POINTS_BACK, compose, cover_documents, redundant
from assistant.answer.conflicts import answer_values, disagreeing, flag_conflict
from assistant.answer.features import Candidate, featurize
from assistant.answer.gates import DEFINITION_COVERAGE, answers_type, heading_line, own_line, passes_gates, reader_gate, reader_may_answer
from assistant.answer.question import QuestionAnalysis, analyze, defined_term, explanatory, mentions
from assistant.answer.refusal import SCOPE_CHARS, readable_reason
from assistant.config import Settings
from assistant.encode.embed import Embedder
from assistant.text.lexical import terms
from assistant.text.sentences import Span, split_sentences
from assistant.types import CANNOT_ANSWER, Answer, Context, Document

__all__ = ["ExtractiveAnswerer", "answer_values", "asks_several_documents", "idf_weights", "passes_gates", "readable_reason"]

W_SIM, W_LEX, W_CTX = 0.5, 0.3, 0.2
_DOC_NOUN = (
    r"(editorials?|documents?|reports?|reviews?|articles?|papers?|sources?|texts?|files?|memos?|studies|study"
    r"|statements?|polic(y|ies)|strateg(y|ies)|pieces?)"
)
#: a question over several documents: the answer covers each one. "each", "all", "across", "differ"
#: count only with a kind of document ("across the two editorials"; not "widespread across Europe")
_MULTI_DOC = re.compile(
    r"\b(both|compare|comparison|in common"
    r"|(each|all|across|between|among)(\s+(of\s+)?(the|these|those|two|three))*(\s+[\w-]+)?\s+" + _DOC_NOUN +
    r"|(two|three|four|several|multiple)\s+" + _DOC_NOUN + r")\b",
    re.I,
)
_DIFFER = re.compile(r"\b(differ|difference|similar(ly)?)\b", re.I)
_DOC = re.compile(rf"\b{_DOC_NOUN}\b", re.I)


def asks_several_documents(question: str) -> bool:
    """ "In both editorials ...", "compare ...": the answer should cover each document."""
    return bool(_MULTI_DOC.search(question) or (_DIFFER.search(question) and _DOC.search(question)))


def _first_per_document(ranked: list[Candidate], n: int) -> list[Candidate]:
    """The first `n` candidates of each document, in the given order."""
    seen: dict[str, int] = {}
    out = []
    for c in ranked:
        seen[c.doc_id] = seen.get(c.doc_id, 0) + 1
        if seen[c.doc_id] <= n:
            out.append(c)
    return out


def heuristic_score(c: Candidate) -> float:
    return W_SIM * c.sim + W_LEX * c.lex + W_CTX * c.ctx  # == Candidate.score


def _coverage(weights: dict[str, float], present: frozenset[str] | set[str]) -> float:
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in present) / total if total else 0.0


#: stored sentence vectors of one document for some spans (`Catalog.sentence_vectors`)
SentenceLookup = Callable[[str, list[Span]], dict[Span, np.ndarray]]


class ExtractiveAnswerer:
    def __init__(self, settings: Settings, embedder: Embedder, stored: SentenceLookup | None = None) -> None:
        self.settings = settings
        self.embedder = embedder
        self.stored = stored
        self._scorer = None
        self._cross = None
        self._reader = None

    @property
    def scorer(self):  # type: ignore[no-untyped-def]
        if self._scorer is None:
            from assistant.answer.scorer import load_scorer

            self._scorer = load_scorer()
        return self._scorer

    def sentence_vectors(self, cands: Sequence[Candidate]) -> np.ndarray:
        """Vectors of candidate sentences: those embedded at ingest, the rest embedded now."""
        found: dict[tuple[str, int, int], np.ndarray] = {}
        if self.stored is not None:
            by_doc: dict[str, list[Span]] = {}
            for c in cands:
                by_doc.setdefault(c.doc_id, []).append((c.start, c.end))
            for doc_id, spans in by_doc.items():
                found.update(((doc_id, a, b), v) for (a, b), v in self.stored(doc_id, spans).items())
        missing = [c.text for c in cands if (c.doc_id, c.start, c.end) not in found]
        live = iter(self.embedder.embed_cached(missing)) if missing else iter(())
        return np.stack([found[k] if (k := (c.doc_id, c.start, c.end)) in found else next(live) for c in cands])

    def _collect(
        self, q: QuestionAnalysis, contexts: Sequence[Context], documents: dict[str, Document]
    ) -> tuple[list[Candidate], list[list[Candidate]]]:
        """Candidate sentences (deduplicated) and, per context, its candidates in order."""
        seen: dict[tuple[str, int], Candidate] = {}
        groups: list[list[Candidate]] = []
        for rank, ctx in enumerate(contexts):
            doc = documents[ctx.doc_id]
            from assistant.text.injection import is_instruction  # a sentence instructing the model is never an answer (issue 21)

            spans = [
                (s, e) for s, e in split_sentences(doc.text, ctx.start, ctx.end)
                if not doc.text[s:e].lstrip().startswith("#") and not is_instruction(doc.text[s:e]) and not heading_line(doc.text, s, e)
            ]
            # the passage and its surroundings (the subject is often named a few sentences earlier)
            around = doc.text[max(0, ctx.start - SCOPE_CHARS) : ctx.end + SCOPE_CHARS]
            passage_terms = frozenset(terms(around)) | frozenset(terms(doc.title))
            ents_ok = all(mentions(e, set(passage_terms), doc.text) for e in q.entities)
            sent_terms = [frozenset(terms(doc.text[s:e])) for s, e in spans]
            group = []
            for i, (s, e) in enumerate(spans):
                key = (doc.doc_id, s)
                if key in seen:
                    seen[key].entities_ok |= ents_ok
                    group.append(seen[key])
                    continue
                lo, hi = max(0, i - 1), min(len(spans) - 1, i + 1)
                text = doc.text[s:e]
                c = Candidate(
                    doc_id=doc.doc_id,
                    chunk_id=ctx.chunk_id,
                    start=s,
                    end=e,
                    text=text,
                    rank=rank,
                    idx=i,
                    n=len(spans),
                    terms=sent_terms[i],
                    window_terms=frozenset().union(*sent_terms[lo : hi + 1]),
                    passage_terms=passage_terms,
                    window_text=doc.text[spans[lo][0] : spans[hi][1]],
                    prev=spans[i - 1] if i > 0 else None,
                    next=spans[i + 1] if i + 1 < len(spans) else None,
                    own_line=own_line(doc.text, s, e),
                    type_ok=answers_type(q, text)
                    or (i > 0 and bool(POINTS_BACK.search(text)) and answers_type(q, doc.text[spans[i - 1][0] : spans[i - 1][1]])),
                    entities_ok=ents_ok,
                )
                seen[key] = c
                group.append(c)
            groups.append(group)
        return list(seen.values()), groups

    def candidates(
        self,
        q: QuestionAnalysis,
        contexts: Sequence[Context],
        documents: dict[str, Document],
        idf: dict[str, float],
        *,
        embed_all: bool = True,
    ) -> list[Candidate]:
        """Candidate sentences with their heuristic scores. `embed_all=False` embeds (and so scores by
        meaning) only the sentences that pass the answerability checks; the others keep sim 0."""
        cands, _ = self._collect(q, contexts, documents)
        weights = {t: idf.get(t, 1.0) for t in q.content_terms}
        for c in cands:
            c.lex = _coverage(weights, c.terms)
            c.ctx = _coverage(weights, c.window_terms)
        # embedding the sentences is most of an answer's time: skip those that cannot be chosen
        scored = cands if embed_all else [c for c in cands if c.entities_ok and c.type_ok]
        if scored:
            qv = self.embedder.embed_query(q.text)
            sv = self.sentence_vectors(scored)
            for c, sim in zip(scored, sv @ qv, strict=True):
                c.sim = float(sim)
        return cands

    def features(
        self, question: str, contexts: Sequence[Context], documents: dict[str, Document], idf: dict[str, float]
    ) -> tuple[QuestionAnalysis, list[Candidate], np.ndarray]:
        """The candidates and their feature rows (`features.FEATURES`)."""
        q = analyze(question)
        cands, groups = self._collect(q, contexts, documents)
        if not cands:
            return q, [], np.zeros((0, 0), dtype=np.float32)
        qv = self.embedder.embed_query(q.text)
        sv = self.sentence_vectors(cands)
        row = {id(c): i for i, c in enumerate(cands)}
        sims = sv @ qv
        for c, sim in zip(cands, sims, strict=True):
            c.sim = float(sim)
        for group in groups:
            for j, c in enumerate(group):
                if "sim_ctx" in c.extra:
                    continue
                v = sv[row[id(c)]].copy()
                if j > 0:
                    v += sv[row[id(group[j - 1])]]
                if j + 1 < len(group):
                    v += sv[row[id(group[j + 1])]]
                c.extra["sim_ctx"] = float(v @ qv / max(float(np.linalg.norm(v)), 1e-9))
        return q, cands, featurize(q, question, cands, idf, {d: doc.text for d, doc in documents.items()})

    def rank(self, question: str, contexts: Sequence[Context], documents: dict[str, Document], idf: dict[str, float]) -> tuple[QuestionAnalysis, list[Candidate]]:
        """Every candidate with its probability of answering (learned scorer), best first."""
        q, cands, X = self.features(question, contexts, documents, idf)
        for c, p in zip(cands, self.scorer.predict(X), strict=True):
            c.prob = float(p)
        cands.sort(key=lambda c: -c.prob)
        return q, cands

    @property
    def cross(self):  # type: ignore[no-untyped-def]
        if self._cross is None:
            from assistant.answer.crossenc import load_cross_encoder

            self._cross = load_cross_encoder(self.settings.embed_precision)
        return self._cross

    @property
    def reader(self):  # type: ignore[no-untyped-def]
        if self._reader is None:
            from assistant.answer.reader import PARAMS, load_reader

            self._reader = load_reader(self.settings.embed_precision, self.settings.answer_reader_params or PARAMS)
        return self._reader

    def min_prob(self) -> float:
        """The refusal threshold: the setting, else the operating point shipped with the scorer."""
        if self.settings.answer_min_prob is not None:
            return self.settings.answer_min_prob
        if self.settings.answer_scorer == "reader":
            return self.reader.min_prob
        return self.cross.min_prob if self.settings.answer_scorer == "cross" else self.scorer.min_prob

    def rank_reader(self, question: str, contexts: Sequence[Context], documents: dict[str, Document], idf: dict[str, float]) -> tuple[QuestionAnalysis, list[Candidate]]:
        """Candidates best first by the span reader: a sentence's probability is that of the best
        answer span inside it (over "no answer" in its window), and the span is kept (`Candidate.span`)."""
        q = analyze(question)
        cands, groups = self._collect(q, contexts, documents)
        weights = {t: idf.get(t, 1.0) for t in q.content_terms}
        for c in cands:
            c.lex = _coverage(weights, c.terms)
            c.ctx = _coverage(weights, c.window_terms)
            c.prob = 0.0
        if not cands:
            return q, cands
        # with the gates on, only sentences that can still pass them need reading (same margins for them)
        needed = None
        if self.settings.answer_gates:
            pool = [c for c in cands if reader_may_answer(c)]
            n = self.settings.answer_reader_sentences
            if len(pool) > n:
                # the reader reads the `answer_reader_sentences` most promising of them (cosine + term
                # coverage); that many from each document when the question is over several documents
                qv = self.embedder.embed_query(q.text)
                for c, sim in zip(pool, self.sentence_vectors(pool) @ qv, strict=True):
                    c.sim = float(sim)
                ranked = sorted(pool, key=lambda c: -heuristic_score(c))
                pool = _first_per_document(ranked, n) if asks_several_documents(question) else ranked[:n]
            chosen = {id(c) for c in pool}
            needed = [[(c.start - ctx.start, c.end - ctx.start) for c in group if id(c) in chosen] for ctx, group in zip(contexts, groups, strict=True)]
        readings = self.reader.read(q.text, [documents[ctx.doc_id].text[ctx.start : ctx.end] for ctx in contexts], needed)
        for ctx, group, reading in zip(contexts, groups, readings, strict=True):
            for c in group:
                hit = reading.best(c.start - ctx.start, c.end - ctx.start)
                if hit is not None and hit.prob > c.prob:
                    c.prob = hit.prob
                    c.span = (ctx.start + hit.start, ctx.start + hit.end)
        for c in cands:
            c.type_ok = c.type_ok and reader_gate(q, c, documents[c.doc_id].text)
        cands.sort(key=lambda c: -c.prob)
        return q, cands

    def rank_cross(self, question: str, contexts: Sequence[Context], documents: dict[str, Document], idf: dict[str, float]) -> tuple[QuestionAnalysis, list[Candidate]]:
        """Candidates best first by the cross-encoder's probability. Only the `answer_rerank`
        best by the cheap score (cosine + term coverage) are read by the cross-encoder; the rest get 0."""
        q = analyze(question)
        cands = sorted(self.candidates(q, contexts, documents, idf, embed_all=True), key=lambda c: -heuristic_score(c))
        top = cands[: self.settings.answer_rerank]
        for c, p in zip(top, self.cross.probabilities(q.text, [c.text for c in top]), strict=True):
            c.prob = float(p)
        for c in cands[len(top) :]:
            c.prob = 0.0
        cands.sort(key=lambda c: -c.prob)
        return q, cands

    def top_sentence(self, question: str, contexts: Sequence[Context], documents: dict[str, Document], idf: dict[str, float]) -> tuple[str, int, int] | None:
        """The best-ranked sentence (doc_id, start, end), whether or not it would be quoted (for evals)."""
        if self.settings.answer_scorer == "reader":
            _, cands = self.rank_reader(question, contexts, documents, idf)
        elif self.settings.answer_scorer == "cross":
            _, cands = self.rank_cross(question, contexts, documents, idf)
        elif self.settings.answer_scorer == "learned":
            _, cands = self.rank(question, contexts, documents, idf)
        else:
            cands = sorted(self.candidates(analyze(question), contexts, documents, idf, embed_all=True), key=lambda c: -heuristic_score(c))
        return (cands[0].doc_id, cands[0].start, cands[0].end) if cands else None

    def answer(self, question: str, contexts: Sequence[Context], documents: dict[str, Document], idf: dict[str, float]) -> Answer:
        if self.settings.answer_scorer in ("reader", "cross", "learned"):
            return self._answer_learned(question, contexts, documents, idf)
        return self._answer_heuristic(question, contexts, documents, idf)

    def _refusal(self, question: str, contexts: Sequence[Context], reason: str, score: float | None = None) -> Answer:
        return Answer(
            question=question, answer=CANNOT_ANSWER, refused=True, mode="extractive", contexts=list(contexts),
            refusal_reason=reason, refusal_score=None if score is None else round(score, 4),
        )

    def _answer_learned(self, question: str, contexts: Sequence[Context], documents: dict[str, Document], idf: dict[str, float]) -> Answer:
        rank = {"reader": self.rank_reader, "cross": self.rank_cross}.get(self.settings.answer_scorer, self.rank)
        q, ranked = rank(question, contexts, documents, idf)
        if not ranked:
            return self._refusal(question, contexts, "no passage was retrieved")
        if self.settings.answer_gates:
            ranked = [c for c in ranked if passes_gates(c, self.settings.answer_scorer)]
            if not ranked:
                return self._refusal(question, contexts, readable_reason(question, q, contexts, documents), 0.0)
        if self.settings.answer_scorer == "reader" and q.answer_type is None and defined_term(question) is not None:
            return self._answer_definition(question, q, contexts, documents, ranked)
        if self.settings.answer_scorer == "reader" and explanatory(question):
            # answered by a clause or a sentence: the reader's no-answer score is not calibrated for
            # these (few in SQuAD), so a lower floor, and the heuristic's evidence must agree
            on_topic = self._evidence(q, ranked)
            if not on_topic:
                best = ranked[0].prob
                return self._refusal(question, contexts, readable_reason(question, q, contexts, documents), best)
            return self._finish(question, q, contexts, documents, on_topic, lambda c: c.prob, self.explain_min_prob())
        return self._finish(question, q, contexts, documents, ranked, lambda c: c.prob, self.min_prob())

    def _answer_definition(
        self, question: str, q: QuestionAnalysis, contexts: Sequence[Context], documents: dict[str, Document], ranked: list[Candidate]
    ) -> Answer:
        """"What is X?": the sentence that describes X, often in a clause the reader (trained on short
        SQuAD spans) scores low. The reader's answer when it reaches the explanatory floor; else the
        sentence naming most of X (term coverage >= DEFINITION_COVERAGE) with the best heuristic evidence."""
        on_topic = self._evidence(q, ranked)
        floor = self.explain_min_prob()
        if on_topic and on_topic[0].prob >= floor:
            return self._finish(question, q, contexts, documents, on_topic, lambda c: c.prob, floor)
        naming = sorted((c for c in on_topic if c.lex >= DEFINITION_COVERAGE), key=lambda c: -heuristic_score(c))
        if not naming:
            best = ranked[0].prob if ranked else 0.0
            return self._refusal(question, contexts, readable_reason(question, q, contexts, documents), best)
        return self._finish(question, q, contexts, documents, naming, heuristic_score, self.settings.answer_min_score)

    def _evidence(self, q: QuestionAnalysis, ranked: list[Candidate]) -> list[Candidate]:
        """The candidates whose heuristic evidence (cosine + term coverage) reaches `answer_min_score`, in order."""
        top = ranked[: self.settings.answer_rerank]
        qv = self.embedder.embed_query(q.text)
        for c, sim in zip(top, self.sentence_vectors(top) @ qv, strict=True):
            c.sim = float(sim)
        return [c for c in top if heuristic_score(c) >= self.settings.answer_min_score]

    def explain_min_prob(self) -> float:
        if self.settings.answer_explain_min_prob is not None:
            return self.settings.answer_explain_min_prob
        return self.reader.explain_min_prob

    def _answer_heuristic(self, question: str, contexts: Sequence[Context], documents: dict[str, Document], idf: dict[str, float]) -> Answer:
        q = analyze(question)
        cands = self.candidates(q, contexts, documents, idf, embed_all=False)
        if not cands:
            return self._refusal(question, contexts, "no passage was retrieved")
        ok = [c for c in cands if c.entities_ok and c.type_ok]
        if not ok:
            return self._refusal(question, contexts, readable_reason(question, q, contexts, documents), 0.0)
        ok.sort(key=lambda c: -heuristic_score(c))
        return self._finish(question, q, contexts, documents, ok, heuristic_score, self.settings.answer_min_score)

    def _finish(
        self,
        question: str,
        q: QuestionAnalysis,
        contexts: Sequence[Context],
        documents: dict[str, Document],
        ranked: list[Candidate],
        score: Callable[[Candidate], float],
        minimum: float,
    ) -> Answer:
        """From candidates ranked best first: refuse, or quote the best (and those close to it),
        covering each document of a multi-document question and flagging sources that disagree."""
        best = ranked[0]
        if score(best) < minimum:
            return self._refusal(question, contexts, readable_reason(question, q, contexts, documents), score(best))
        chosen = [best]
        floor = max(minimum, score(best) - self.settings.answer_margin)
        for c in ranked[1:]:
            if len(chosen) >= self.settings.answer_max_sentences or score(c) < floor:
                break
            if not any(redundant(c, o) for o in chosen):
                chosen.append(c)
        if asks_several_documents(question):
            chosen = cover_documents(chosen, ranked, score, minimum * 0.75)
        # a learned scorer's probability is calibrated: a rival from another document is an answer
        # in its own right when it reaches the threshold (the swapped value often reads less likely)
        rival_margin = self.settings.answer_margin if self.settings.answer_scorer == "heuristic" else 1.0
        # one value asked for (not what the sources say, not a question over several documents)
        asks_value = not (explanatory(question) or asks_several_documents(question))
        rival = disagreeing(question, best, ranked, score, minimum, rival_margin) if asks_value else None
        if rival is not None and all(rival is not c for c in chosen):
            chosen.append(rival)
        ans = compose(question, contexts, documents, chosen, score=score)
        if rival is not None:
            flag_conflict(ans, question, best, rival, documents)
        return ans


def idf_weights(df: dict[str, int], n: int, qterms: Sequence[str]) -> dict[str, float]:
    """BM25-style IDF; a term no chunk contains gets the largest weight."""
    return {t: math.log(1 + (n - df.get(t, 0) + 0.5) / (df.get(t, 0) + 0.5)) for t in qterms}

