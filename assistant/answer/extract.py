"""The extractive answerer (no LLM): picks the sentences of the retrieved passages that answer
the question, quotes them verbatim with markers [1], [2]..., or refuses.

Each candidate sentence is scored by
  0.5 * cosine(question, sentence)            (MiniLM; meaning)
+ 0.3 * IDF-weighted share of question terms in the sentence   (the specific words)
+ 0.2 * the same share over the sentence and its neighbours    (local context)
and must pass the answerability checks in `assistant.answer.question`: the entities the question
names appear in the sentence's passage, and numeric/date questions get a sentence that has
a number/date. If no sentence passes, or the best scores below `answer_min_score`, the
answer is the shared refusal, with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.answer.cite import citation
from assistant.config import Settings
from assistant.encode.embed import Embedder
from assistant.text.lexical import terms
from assistant.answer.question import QuestionAnalysis, analyze, mentions, satisfies_type
from assistant.text.sentences import Span, split_sentences
from assistant.types import CANNOT_ANSWER, Answer, AnswerSentence, Context, Document

W_SIM, W_LEX, W_CTX = 0.5, 0.3, 0.2
#: how far around a passage the entities a question names may appear
SCOPE_CHARS = 600


@dataclass
class Candidate:
    doc_id: str
    chunk_id: str
    start: int
    end: int
    text: str
    rank: int  # rank of its chunk in retrieval (0 = best)
    sim: float = 0.0
    lex: float = 0.0
    ctx: float = 0.0
    type_ok: bool = True
    entities_ok: bool = True

    @property
    def score(self) -> float:
        return W_SIM * self.sim + W_LEX * self.lex + W_CTX * self.ctx


def _coverage(weights: dict[str, float], present: set[str]) -> float:
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in present) / total if total else 0.0


#: stored sentence vectors of one document for some spans (`Catalog.sentence_vectors`)
SentenceLookup = Callable[[str, list[Span]], dict[Span, np.ndarray]]


class ExtractiveAnswerer:
    def __init__(self, settings: Settings, embedder: Embedder, stored: SentenceLookup | None = None) -> None:
        self.settings = settings
        self.embedder = embedder
        self.stored = stored

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

    def candidates(
        self,
        q: QuestionAnalysis,
        contexts: Sequence[Context],
        documents: dict[str, Document],
        idf: dict[str, float],
        *,
        embed_all: bool = True,
    ) -> list[Candidate]:
        """Candidate sentences with their scores. `embed_all=False` embeds (and so scores by
        meaning) only the sentences that pass the answerability checks; the others keep sim 0."""
        seen: dict[tuple[str, int], Candidate] = {}
        weights = {t: idf.get(t, 1.0) for t in q.content_terms}
        for rank, ctx in enumerate(contexts):
            doc = documents[ctx.doc_id]
            spans = split_sentences(doc.text, ctx.start, ctx.end)
            # the passage and its surroundings (the subject is often named a few sentences earlier)
            around = doc.text[max(0, ctx.start - SCOPE_CHARS) : ctx.end + SCOPE_CHARS]
            passage_terms = set(terms(around)) | set(terms(doc.title))
            ents_ok = all(mentions(e, passage_terms, doc.text) for e in q.entities)
            sent_terms = [set(terms(doc.text[s:e])) for s, e in spans]
            for i, (s, e) in enumerate(spans):
                key = (doc.doc_id, s)
                window = set().union(*sent_terms[max(0, i - 1) : i + 2])
                if key in seen:
                    seen[key].entities_ok |= ents_ok
                    continue
                text = doc.text[s:e]
                seen[key] = Candidate(
                    doc_id=doc.doc_id,
                    chunk_id=ctx.chunk_id,
                    start=s,
                    end=e,
                    text=text,
                    rank=rank,
                    lex=_coverage(weights, sent_terms[i]),
                    ctx=_coverage(weights, window),
                    type_ok=satisfies_type(text, q.answer_type),
                    entities_ok=ents_ok,
                )
        cands = list(seen.values())
        # embedding the sentences is most of an answer's time: skip those that cannot be chosen
        scored = cands if embed_all else [c for c in cands if c.entities_ok and c.type_ok]
        if scored:
            qv = self.embedder.embed_query(q.text)
            sv = self.sentence_vectors(scored)
            for c, sim in zip(scored, sv @ qv, strict=True):
                c.sim = float(sim)
        return cands

    def top_sentence(self, question: str, contexts: Sequence[Context], documents: dict[str, Document], idf: dict[str, float]) -> tuple[str, int, int] | None:
        """The best-ranked sentence (doc_id, start, end), whether or not it would be quoted (for evals)."""
        cands = self.candidates(analyze(question), contexts, documents, idf, embed_all=True)
        if not cands:
            return None
        best = max(cands, key=lambda c: c.score)
        return (best.doc_id, best.start, best.end)

    def answer(self, question: str, contexts: Sequence[Context], documents: dict[str, Document], idf: dict[str, float]) -> Answer:
        q = analyze(question)
        cands = self.candidates(q, contexts, documents, idf, embed_all=False)

        def refuse(reason: str) -> Answer:
            return Answer(question=question, answer=CANNOT_ANSWER, refused=True, mode="extractive", contexts=list(contexts), refusal_reason=reason)

        if not cands:
            return refuse("no passage was retrieved")
        ok = [c for c in cands if c.entities_ok]
        if not ok:
            missing = [e for e in q.entities if not any(mentions(e, set(terms(c.text)), documents[c.doc_id].text) for c in contexts)]
            return refuse(f"the documents do not mention {', '.join(missing or q.entities)}")
        ok = [c for c in ok if c.type_ok]
        if not ok:
            return refuse(f"no passage states the {q.answer_type} the question asks for")
        ok.sort(key=lambda c: -c.score)
        best = ok[0]
        if best.score < self.settings.answer_min_score:
            return refuse(f"no passage answers it (best sentence scores {best.score:.2f} < {self.settings.answer_min_score:.2f})")
        chosen = [best]
        for c in ok[1:]:
            if len(chosen) >= self.settings.answer_max_sentences:
                break
            if c.score < max(self.settings.answer_min_score, best.score - self.settings.answer_margin):
                break
            if any(_redundant(c, o) for o in chosen):
                continue
            chosen.append(c)
        # read in document order within each document, documents in order of their best sentence
        doc_order = {d: i for i, d in enumerate(dict.fromkeys(c.doc_id for c in chosen))}
        chosen.sort(key=lambda c: (doc_order[c.doc_id], c.start))
        citations, sentences, parts = [], [], []
        for n, c in enumerate(chosen, start=1):
            citations.append(citation(n, documents[c.doc_id], c.chunk_id, c.start, c.end))
            sentences.append(AnswerSentence(text=c.text, citations=[n], supported=True, score=round(c.score, 4)))
            parts.append(f"{c.text} [{n}]")
        return Answer(
            question=question, answer=" ".join(parts), refused=False, mode="extractive", citations=citations, sentences=sentences, contexts=list(contexts)
        )


def _redundant(a: Candidate, b: Candidate) -> bool:
    ta, tb = set(terms(a.text)), set(terms(b.text))
    if not ta or not tb:
        return False
    return len(ta & tb) / min(len(ta), len(tb)) > 0.8


def idf_weights(df: dict[str, int], n: int, qterms: Sequence[str]) -> dict[str, float]:
    """BM25-style IDF; a term no chunk contains gets the largest weight."""
    return {t: math.log(1 + (n - df.get(t, 0) + 0.5) / (df.get(t, 0) + 0.5)) for t in qterms}

