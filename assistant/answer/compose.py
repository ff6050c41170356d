"""Composing an extractive answer from chosen sentences: each quoted verbatim with its own
citation (and the reader's short answer inside it), sentences that lean on the one before bring it
along, multi-document questions get each document's best sentence, near-duplicates are dropped."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from assistant.answer.cite import citation
from assistant.answer.features import Candidate, is_headline
from assistant.answer.question import REASON, satisfies_type, wh_kind
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
#: a reason given only as a pointer inside the sentence ("... disheartened because of this view")
_REASON_POINTER = re.compile(
    r"\b(because of|due to|as a result of|owing to|in view of|in light of)\s+(this|that|these|those|such)\b|\bfor (this|that|these) reasons?\b", re.I
)


def leans_back(text: str) -> bool:
    """Whether a sentence needs the one before it: it opens by pointing back ("This was ...") or
    gives its reason as a pointer ("... because of this view")."""
    return bool(POINTS_BACK.search(text) or _REASON_POINTER.search(text))


def _gives_reason_ahead(question: str, c: Candidate, following: str) -> bool:
    """A why-question answered by a sentence that states no reason, whose next sentence points back
    at it ("... remove any extreme groups." "They support the same ideals ..."): the reason is there."""
    return wh_kind(question) == REASON and not satisfies_type(c.text, REASON) and bool(POINTS_BACK.search(following))


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
    A chosen sentence that leans on the one before it brings that sentence along (cited on its own),
    and one answering "why" with no reason brings the next sentence when that one points back at it."""
    picked: dict[tuple[str, int], tuple[Candidate, float | None]] = {(c.doc_id, c.start): (c, score(c)) for c in chosen}
    for c in chosen:
        text_of = documents[c.doc_id].text
        along = []
        if c.prev is not None and leans_back(c.text):
            along.append(c.prev)
        if c.next is not None and _gives_reason_ahead(question, c, text_of[c.next[0] : c.next[1]]):
            along.append(c.next)
        for s, e in along:
            if (c.doc_id, s) not in picked and not is_headline(text_of[s:e]):
                ctx = Candidate(doc_id=c.doc_id, chunk_id=c.chunk_id, start=s, end=e, text=text_of[s:e], rank=c.rank)
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
