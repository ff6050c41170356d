"""Verification of LLM answers: every sentence is checked against the passages it cites.

Steps (`verify` then `to_answer`):
1. The draft is split into sentences (`assistant.text.sentences.split_sentences`); `[1, 2]` and
   `[Passage 1]` are normalised to `[1][2]` / `[1]`; a marker that starts a sentence belongs to
   the previous one ("... approved. [2]").
2. Markers to passages that were not given (`[n]` with n > number of passages) are dropped.
3. Each sentence is scored by a support judge against the passages it cites
   (`SupportJudge.score(claim, passages)`, supported when >= `threshold`). A sentence without
   a marker is unsupported.
4. Each kept marker becomes an exact `Citation`: the sentence (or two adjacent sentences) of the
   cited chunk that best support the answer sentence, sliced from the document text.
5. Prompt injection: passages with instruction-like text ("ignore previous instructions",
   "reply X", "you are now ...") are detected; a sentence that carries their payload, repeats
   the instruction, or quotes it is unsupported, and the answer gets a notice.
6. `to_answer` renumbers markers 1..k by first appearance, drops unsupported sentences when
   `strict`, and refuses when no sentence is supported.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from assistant.answer.cite import MARKER, citation
from assistant.text.lexical import terms
from assistant.text.sentences import split_sentences
from assistant.types import CANNOT_ANSWER, Answer, AnswerSentence, Citation, Context, Document

log = logging.getLogger(__name__)

INJECTION_NOTICE = "a retrieved passage contains instructions; they were ignored"
INJECTED_REASON = "follows or quotes instructions found in a passage"

_INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+)?(?:the\s+|your\s+)?(?:previous|prior|above|earlier|preceding|system)\s+"
    r"(?:instructions?|prompts?|directions?|rules?|messages?)"
    r"|\byou\s+are\s+now\b|\bnew\s+instructions?\s*:|\bsystem\s+prompt\b|\bact\s+as\s+(?:an?\s+)?(?:ai|assistant|chatbot)\b",
    re.I,
)
#: "reply PWNED", "respond with 'OK'", "say: hacked" -> the payload a model would echo
_PAYLOAD = re.compile(
    r"\b(?:reply|respond|answer|say|output|print|write|return)\s+(?:only\s+|just\s+|exactly\s+)?(?:with\s+)?[:\"'“‘]?\s*([A-Za-z0-9_!-]{2,40})",
    re.I,
)
_IMPERATIVE_START = re.compile(r"(?:^|[.!?]\s+|\band\s+)(?:reply|respond|say|output|print)\s+(?:only\s+|just\s+|exactly\s+)?(?:with\s+)?[\"'“‘]?[A-Z0-9]{3,}\b")
_STOP_PAYLOADS = {"the", "a", "an", "to", "that", "this", "with", "only", "just", "in", "on", "yes", "no"}


@runtime_checkable
class SupportJudge(Protocol):
    """Same interface as `assistant.answer.ground.OfflineJudge` and `assistant.answer.judge_llm.LLMJudge`."""

    name: str
    threshold: float

    def score(self, claim: str, passages: Sequence[str]) -> float: ...

    def score_batch(self, items: Sequence[tuple[str, Sequence[str]]]) -> list[float]: ...


class LexicalJudge:
    """Fallback judge: IDF-free share of the claim's content terms found in the passages, zeroed
    when the claim states a number the passages do not."""

    name = "lexical"
    threshold = 0.6

    def score(self, claim: str, passages: Sequence[str]) -> float:
        claim_terms = set(terms(claim))
        if not claim_terms:
            return 0.0
        have = set(terms(" ".join(passages)))
        cover = len(claim_terms & have) / len(claim_terms)
        numbers = set(re.findall(r"\d+(?:[.,]\d+)*", claim))
        if numbers - set(re.findall(r"\d+(?:[.,]\d+)*", " ".join(passages))):
            cover *= 0.3
        return round(cover, 4)

    def score_batch(self, items: Sequence[tuple[str, Sequence[str]]]) -> list[float]:
        return [self.score(c, p) for c, p in items]


# --- prompt injection ------------------------------------------------------------------------
@dataclass(frozen=True)
class Injection:
    chunk_id: str
    instruction: str
    payloads: tuple[str, ...]


def find_injection(text: str) -> tuple[str, tuple[str, ...]] | None:
    """(the instruction, payloads) when `text` reads like instructions to a model."""
    strong = _INSTRUCTION.search(text)
    weak = _IMPERATIVE_START.search(text)
    if not strong and not weak:
        return None
    payloads = tuple(dict.fromkeys(p for p in _PAYLOAD.findall(text) if p.lower() not in _STOP_PAYLOADS))
    return (strong or weak).group(0).strip(), payloads  # type: ignore[union-attr]


def find_injections(contexts: Sequence[Context]) -> dict[str, Injection]:
    out: dict[str, Injection] = {}
    for ctx in contexts:
        found = find_injection(ctx.text)
        if found:
            out[ctx.chunk_id] = Injection(ctx.chunk_id, found[0], found[1])
            log.info("passage %s contains instruction-like text: %r", ctx.chunk_id, found[0])
    return out


def follows_injection(sentence: str, injections: dict[str, Injection]) -> bool:
    """The sentence carries an injected payload or repeats an instruction."""
    if _INSTRUCTION.search(sentence):
        return True
    for inj in injections.values():
        for p in inj.payloads:
            if re.search(rf"(?<![\w-]){re.escape(p)}(?![\w-])", sentence, re.I):
                return True
    return False


def flag_injections(answer: Answer, strict: bool = False) -> Answer:
    """For any answer (also extractive): mark the sentences quoting instructions found in a
    passage, or carrying their payload, as unsupported (dropped when `strict`), and add the notice
    only when the answer cites a passage that carries instructions or a sentence followed them.
    A passage with instructions that was retrieved but not cited changes nothing."""
    injections = find_injections(answer.contexts)
    if not injections:
        return answer
    by_n = {c.n: c for c in answer.citations}
    flagged = 0
    for s in answer.sentences:
        quotes = [by_n[n].quote for n in s.citations if n in by_n]
        if follows_injection(s.text, injections) or any(find_injection(q) for q in quotes):
            s.supported = False
            flagged += 1
    cited = any(c.chunk_id in injections for c in answer.citations)
    if not (flagged or cited):
        return answer
    answer.notice = join_notice(answer.notice, INJECTION_NOTICE)
    if strict and flagged and not answer.refused:
        answer = drop_unsupported(answer)
    return answer


def drop_unsupported(answer: Answer) -> Answer:
    """The answer without its unsupported sentences (markers renumbered 1..k), or a refusal."""
    kept = [s for s in answer.sentences if s.supported]
    removed = len(answer.sentences) - len(kept)
    if not removed:
        return answer
    notice = join_notice(answer.notice, f"{removed} unsupported sentence(s) removed (strict)")
    if not kept:
        return refusal(answer.question, answer.contexts, answer.mode, "no sentence of the answer is supported", notice)
    by_n = {c.n: c for c in answer.citations}
    renumber: dict[int, int] = {}
    for s in kept:
        for n in s.citations:
            if n in by_n and n not in renumber:
                renumber[n] = len(renumber) + 1
    citations = [by_n[old].model_copy(update={"n": new}) for old, new in renumber.items()]
    sentences = [s.model_copy(update={"citations": [renumber[n] for n in s.citations if n in renumber]}) for s in kept]
    text = " ".join(s.text + (" " + "".join(f"[{n}]" for n in s.citations) if s.citations else "") for s in sentences)
    return answer.model_copy(update={"answer": text, "citations": citations, "sentences": sentences, "notice": notice})


# --- verification ----------------------------------------------------------------------------
@dataclass
class Ref:
    """A cited span: the best-supporting sentence(s) of a cited chunk."""

    doc_id: str
    chunk_id: str
    start: int
    end: int


@dataclass
class Claim:
    text: str  # the sentence without markers
    markers: list[int]  # valid markers as the model wrote them (1-based passage numbers)
    refs: list[Ref] = field(default_factory=list)
    score: float | None = None
    supported: bool = False
    reason: str = ""
    attributed: bool = False  # the marker was added by the verifier, not written by the model


@dataclass
class Verification:
    claims: list[Claim]
    dropped_markers: list[int]
    injections: dict[str, Injection]
    judge: str

    @property
    def cites_injection(self) -> bool:
        """A sentence cites a passage that carries instructions, or follows/quotes them."""
        return any(c.reason == INJECTED_REASON or any(r.chunk_id in self.injections for r in c.refs) for c in self.claims)

    @property
    def notice(self) -> str | None:
        """The injection notice when the answer cites or follows instructions, or when nothing the
        model wrote stands while instructions were among its passages (they may be why)."""
        if not self.injections:
            return None
        return INJECTION_NOTICE if self.cites_injection or not any(c.supported for c in self.claims) else None


def normalise_markers(text: str) -> str:
    text = re.sub(r"\[(?:passage|source|doc(?:ument)?)\s*(\d+)\]", r"[\1]", text, flags=re.I)
    text = re.sub(r"\[(\d+(?:\s*,\s*\d+)+)\]", lambda m: "".join(f"[{n.strip()}]" for n in m.group(1).split(",")), text)
    text = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s+", "", text, flags=re.M)  # list bullets
    return text.replace("**", "").strip()


def draft_sentences(draft: str) -> list[str]:
    """Sentences of the draft, with markers that open a sentence moved to the one before."""
    text = normalise_markers(draft)
    out: list[str] = []
    for s, e in split_sentences(text):
        piece = text[s:e]
        lead = re.match(r"^(?:\s*\[\d+\])+[.,;:]?\s*", piece)
        if lead and out:
            out[-1] += " " + lead.group(0).strip()
            piece = piece[lead.end() :]
        if piece.strip():
            out.append(piece.strip())
    return out


def strip_markers(sentence: str) -> str:
    text = MARKER.sub("", sentence)
    text = re.sub(r"\s+([.,;:!?])", r"\1", text)
    return " ".join(text.split())


def _spans(doc: Document, ctx: Context) -> list[tuple[int, int]]:
    sents = split_sentences(doc.text, ctx.start, ctx.end) or [(ctx.start, ctx.end)]
    pairs = [(sents[i][0], sents[i + 1][1]) for i in range(len(sents) - 1)]
    return sents + pairs


def verify(
    draft: str,
    contexts: Sequence[Context],
    documents: dict[str, Document],
    judge: SupportJudge,
    span_judge: SupportJudge | None = None,
    *,
    attribute: bool = False,
) -> Verification:
    """Flag every sentence of `draft`; nothing is dropped here (see `to_answer`).

    `span_judge` picks the quoted sentence(s) inside each cited chunk (default: `judge`; pass a
    cheap judge when `judge` is an LLM, which would otherwise be asked once per sentence).
    `attribute`: a sentence without a valid marker is given the one passage that supports it
    best, if the judge finds that it does (small local models often write no markers); by
    default such a sentence stays unsupported."""
    injections = find_injections(contexts)
    claims: list[Claim] = []
    dropped: list[int] = []
    for sentence in draft_sentences(draft):
        text = strip_markers(sentence)
        if not any(ch.isalnum() for ch in text):
            continue
        written = list(dict.fromkeys(int(n) for n in MARKER.findall(sentence)))
        valid = [n for n in written if 1 <= n <= len(contexts)]
        dropped += [n for n in written if n not in valid]
        claims.append(Claim(text=text, markers=valid))
    if attribute:
        _attribute(claims, contexts, judge)
    to_score = [c for c in claims if c.markers]
    scores = judge.score_batch([(c.text, [contexts[n - 1].text for n in c.markers]) for c in to_score]) if to_score else []
    for c, score in zip(to_score, scores, strict=True):
        c.score = round(float(score), 4)
        c.supported = score >= judge.threshold
        c.reason = "" if c.supported else "the cited passages do not support it"
        for n in c.markers:
            c.refs.append(_best_ref(c.text, contexts[n - 1], documents, span_judge or judge))
    for c in claims:
        if not c.markers:
            c.reason = "no citation"
        quotes = [documents[r.doc_id].text[r.start : r.end] for r in c.refs]
        if injections and (follows_injection(c.text, injections) or any(find_injection(q) for q in quotes)):
            c.supported, c.reason = False, INJECTED_REASON
    if dropped:
        log.info("dropped markers to passages that were not given: %s", dropped)
    return Verification(claims=claims, dropped_markers=dropped, injections=injections, judge=judge.name)


def _attribute(claims: list[Claim], contexts: Sequence[Context], judge: SupportJudge) -> None:
    uncited = [c for c in claims if not c.markers]
    if not uncited or not contexts:
        return
    items = [(c.text, [ctx.text]) for c in uncited for ctx in contexts]
    scores = judge.score_batch(items)
    k = len(contexts)
    for i, c in enumerate(uncited):
        row = scores[i * k : (i + 1) * k]
        best = max(range(k), key=lambda j: row[j])
        if row[best] >= judge.threshold:
            c.markers = [best + 1]
            c.attributed = True


def _best_ref(claim: str, ctx: Context, documents: dict[str, Document], judge: SupportJudge) -> Ref:
    doc = documents[ctx.doc_id]
    spans = _spans(doc, ctx)
    scores = judge.score_batch([(claim, [doc.text[s:e]]) for s, e in spans])
    # best score; among (near-)ties the shorter span, i.e. a single sentence over a pair
    s, e = max(zip(spans, scores, strict=True), key=lambda it: (round(it[1], 2), -(it[0][1] - it[0][0])))[0]
    return Ref(doc_id=ctx.doc_id, chunk_id=ctx.chunk_id, start=s, end=e)


def to_answer(
    question: str,
    v: Verification,
    contexts: Sequence[Context],
    documents: dict[str, Document],
    *,
    mode: str,
    strict: bool,
) -> Answer:
    """The verified Answer: renumbered citations, unsupported sentences flagged (or dropped when
    strict), a refusal when no sentence is supported."""
    notice = v.notice
    if not any(c.supported for c in v.claims):
        reason = (
            "the model's answer cites no passage"
            if not any(c.markers for c in v.claims)
            else "no sentence of the model's answer is supported by the passages it cites"
        )
        log.info("refusing: %s; draft: %s", reason, " | ".join(c.text for c in v.claims))
        return refusal(question, contexts, mode, reason, notice)
    kept = [c for c in v.claims if c.supported or not strict]
    if strict and len(kept) < len(v.claims):
        notice = join_notice(notice, f"{len(v.claims) - len(kept)} unsupported sentence(s) removed (strict)")
    numbers: dict[tuple[str, int, int], int] = {}
    citations: list[Citation] = []
    sentences: list[AnswerSentence] = []
    parts: list[str] = []
    for c in kept:
        ns: list[int] = []
        for r in c.refs:
            key = (r.doc_id, r.start, r.end)
            if key not in numbers:
                numbers[key] = len(numbers) + 1
                citations.append(citation(numbers[key], documents[r.doc_id], r.chunk_id, r.start, r.end))
            if numbers[key] not in ns:
                ns.append(numbers[key])
        sentences.append(AnswerSentence(text=c.text, citations=ns, supported=c.supported, score=c.score))
        parts.append(c.text + (" " + "".join(f"[{n}]" for n in ns) if ns else ""))
    return Answer(
        question=question,
        answer=" ".join(parts),
        refused=False,
        mode=mode,
        citations=citations,
        sentences=sentences,
        contexts=list(contexts),
        notice=notice,
    )


def refusal(question: str, contexts: Sequence[Context], mode: str, reason: str, notice: str | None = None) -> Answer:
    return Answer(
        question=question, answer=CANNOT_ANSWER, refused=True, mode=mode, contexts=list(contexts), refusal_reason=reason, notice=notice
    )


def join_notice(*notices: str | None) -> str | None:
    """Notices joined with "; ", empty ones and repeats left out."""
    parts = list(dict.fromkeys(n for n in notices if n))
    return "; ".join(parts) or None
