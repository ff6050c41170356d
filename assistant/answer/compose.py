"""Composing an extractive answer from chosen sentences: each quoted verbatim with its own
citation (and the reader's short answer inside it), sentences that lean on the one before bring it
along, multi-document questions get each document's best sentence, near-duplicates are dropped."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from assistant.answer.cite import citation
from assistant.answer.features import Candidate, is_headline
from assistant.text.lexical import terms
from assistant.types import Answer, AnswerSentence, Context, Document

#: sentence openers that point back at the sentence before ("This was the first time ...")
# "it" that stands for what it announces ("It is a good move for the government to ...",
# "It is unclear how ...") points at nothing before it
_EXPLETIVE_IT = (
    r"it(?!\s+(?:is|was|would be|will be|has been|had been|seems|seemed|remains|appears)\s+"
    r"(?:(?:a|an|the|very|also|now|still|not|high|quite|more|most|equally)\s+)*"
    r"(?:good|important|necessary|essential|vital|crucial|critical|clear|unclear|evident|obvious|likely|unlikely|possible|"
    r"impossible|difficult|hard|easy|imperative|worth|time|true|fortunate|unfortunate|surprising|welcome|move|step|"
    r"mistake|shame|pity|useful|wise|urgent)\b)"
)
POINTS_BACK = re.compile(rf"^\W*(this|these|that|those|{_EXPLETIVE_IT}|they|such|thus|hence|because of (this|that|these))\b", re.I)


def cover_documents(chosen: list[Candidate], ranked: list[Candidate], score: Callable[[Candidate], float], floor: float) -> list[Candidate]:
    """A question over several documents: add the best sentence of each retrieved document not yet covered."""
    covered = {c.doc_id for c in chosen}
    for c in ranked:
        if c.doc_id not in covered and score(c) >= floor:
            chosen.append(c)
            covered.add(c.doc_id)
    return chosen


def compose(
    question: str, contexts: Sequence[Context], documents: dict[str, Document], chosen: list[Candidate], score: Callable[[Candidate], float]
) -> Answer:
    """Quote the chosen sentences (document order within each document), each with its own citation.
    A chosen sentence that leans on the one before it brings that sentence along (cited on its own)."""
    picked: dict[tuple[str, int], tuple[Candidate, float | None]] = {(c.doc_id, c.start): (c, score(c)) for c in chosen}
    for c in chosen:
        if c.prev is not None and POINTS_BACK.search(c.text) and (c.doc_id, c.prev[0]) not in picked:
            s, e = c.prev
            text = documents[c.doc_id].text[s:e]
            if not is_headline(text):
                ctx = Candidate(doc_id=c.doc_id, chunk_id=c.chunk_id, start=s, end=e, text=text, rank=c.rank)
                picked[(c.doc_id, s)] = (ctx, None)
    doc_order = {d: i for i, d in enumerate(dict.fromkeys(c.doc_id for c in chosen))}
    items = sorted(picked.values(), key=lambda cs: (doc_order[cs[0].doc_id], cs[0].start))
    citations, sentences, parts = [], [], []
    for n, (c, sc) in enumerate(items, start=1):
        citations.append(citation(n, documents[c.doc_id], c.chunk_id, c.start, c.end, c.span))
        sentences.append(AnswerSentence(text=c.text, citations=[n], supported=True, score=None if sc is None else round(sc, 4)))
        parts.append(f"{c.text} [{n}]")
    return Answer(
        question=question, answer=" ".join(parts), refused=False, mode="extractive", citations=citations, sentences=sentences, contexts=list(contexts)
    )


def redundant(a: Candidate, b: Candidate) -> bool:
    ta, tb = set(terms(a.text)), set(terms(b.text))
    if not ta or not tb:
        return False
    return len(ta & tb) / min(len(ta), len(tb)) > 0.8
