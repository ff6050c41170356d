"""LLM answers with verified citations (used when `Settings.llm_backend != "none"`).

The retrieved passages go to the model as numbered, delimited data blocks (`prompts/answer.md`);
the model's draft is verified sentence by sentence (`assistant.answer.verify`) and only then becomes an
`Answer` (mode = the model's name). When the endpoint is down or times out, the answer comes from
the extractive answerer with a notice - never a traceback.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.errors import LLMError
from assistant.answer.extract import ExtractiveAnswerer
from assistant.answer.prompts import load_prompt
from assistant.answer.question import analyze
from assistant.types import Answer, Context, Document
from assistant.answer.verify import INJECTION_NOTICE, LexicalJudge, SupportJudge, flag_injections, join_notice, refusal, to_answer, verify

if TYPE_CHECKING:
    from assistant.answer.llm import ChatLLM
    from assistant.config import Settings
    from assistant.encode.embed import Embedder

log = logging.getLogger(__name__)

#: sentences of the retrieved chunks given to the model as numbered passages
EVIDENCE_SENTENCES = 5
_REFUSAL = re.compile(
    r"documents? (?:don'?t|do not|does not|doesn'?t) say|cannot answer|can't answer|"
    r"(?:not|no information) (?:mentioned|stated|given|provided) in the (?:passages|documents)",
    re.I,
)


class Generator:
    """LLM state of one assistant: the chat facade and the support judges (built on first use).

    Takes what it needs (settings, the embedder the offline judge shares), not the `Assistant`,
    so that answering never imports the layers above it."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        from assistant.answer.llm import ChatLLM

        self.settings = settings
        self.embedder = embedder
        self.llm: ChatLLM = ChatLLM(self.settings)
        self._judge: SupportJudge | None = None
        self._offline: SupportJudge | None = None

    @property
    def offline_judge(self) -> SupportJudge:
        if self._offline is None:
            self._offline = offline_judge(self.embedder)
        return self._offline

    @property
    def judge(self) -> SupportJudge:
        if self._judge is None:
            if self.settings.judge == "llm":
                from assistant.answer.judge_llm import LLMJudge

                self._judge = LLMJudge(self.llm)
            else:
                self._judge = self.offline_judge
        return self._judge


def offline_judge(emb: Embedder | None) -> SupportJudge:
    """`assistant.answer.ground.OfflineJudge` sharing the assistant's (fp32) embedder; the lexical
    fallback only if the grounding judge is not available."""
    try:
        from assistant.answer.ground import OfflineJudge
    except ImportError:
        log.warning("assistant.answer.ground not available; using the lexical support check")
        return LexicalJudge()
    try:
        # the judge's features were fit on fp32 vectors: an int8 embedder is not shared with it
        return OfflineJudge(embedder=None if getattr(emb, "precision", None) != "fp32" else emb)
    except (OSError, ValueError, KeyError) as exc:
        log.warning("offline judge unusable (%s); using the lexical support check", exc)
        return LexicalJudge()


def evidence(
    question: str, contexts: Sequence[Context], documents: dict[str, Document], idf: dict[str, float], extractive: ExtractiveAnswerer
) -> list[Context]:
    """The passages the model sees: the `EVIDENCE_SENTENCES` best sentences of the retrieved chunks
    (scored by the extractive answerer; sentences whose passage names the question's entities
    first), each an exact span of its document. Short, focused evidence keeps small local models
    on topic and prompts short; citations still point into the documents."""
    by_chunk = {c.chunk_id: c for c in contexts}
    cands = extractive.candidates(analyze(question), contexts, documents, idf)
    cands.sort(key=lambda c: (not c.entities_ok, -c.score))
    return [
        by_chunk[c.chunk_id].model_copy(update={"text": c.text, "start": c.start, "end": c.end, "score": c.score})
        for c in cands[:EVIDENCE_SENTENCES]
    ]


def passages_block(passages: Sequence[Context]) -> str:
    """Numbered data blocks; a passage cannot close its block early."""
    blocks = []
    for n, c in enumerate(passages, start=1):
        text = re.sub(r"</?\s*passages?\b", lambda m: m.group(0).replace("<", "‹"), c.text, flags=re.I)
        title = c.title.replace('"', "'")
        blocks.append(f'<passage id="{n}" title="{title}">\n{text}\n</passage>')
    return "\n".join(blocks)


def build_prompt(question: str, passages: Sequence[Context]) -> tuple[str, str]:
    return load_prompt("answer").render(passages=passages_block(passages), question=question)


@dataclass
class Job:
    """One question being answered: what the model sees and what the answer falls back on."""

    gen: Generator
    question: str
    contexts: Sequence[Context]
    documents: dict[str, Document]
    idf: dict[str, float]
    extractive: ExtractiveAnswerer

    def __post_init__(self) -> None:
        self.passages = evidence(self.question, self.contexts, self.documents, self.idf, self.extractive)

    def prompt(self) -> tuple[str, str]:
        return build_prompt(self.question, self.passages)

    def instructed(self, answer: Answer) -> bool:
        """Whether a retrieved passage the answer cites instructs the model (issue 21; the model
        itself never reads those sentences: `evidence` comes from the extractive candidates)."""
        from assistant.text.injection import has_instruction

        cited = {c.chunk_id for c in answer.citations}
        return any(has_instruction(c.text) for c in self.contexts if c.chunk_id in cited)

    def noticed(self, answer: Answer) -> Answer:
        if self.instructed(answer):
            answer.notice = join_notice(answer.notice, INJECTION_NOTICE)
        return answer

    def extractive_answer(self, notice: str) -> Answer:
        answer = self.extractive.answer(self.question, self.contexts, self.documents, self.idf)
        if self.instructed(answer):  # reported speech about instructions is clean: no notice
            answer = flag_injections(answer, strict=self.gen.settings.strict)
        answer.notice = join_notice(notice, answer.notice)
        return answer

    def fallback(self, exc: LLMError) -> Answer:
        log.warning("LLM unavailable, answering extractively: %s", exc)
        return self.extractive_answer(f"LLM unavailable ({exc.reason}); extractive answer")

    def finish(self, draft: str) -> Answer:
        """Verify the draft; when none of it is supported, the extractive answer (or its refusal)."""
        log.debug("draft: %s", draft)
        gen = self.gen
        mode = gen.settings.llm_name()
        v = verify(draft, self.passages, self.documents, gen.judge, span_judge=gen.offline_judge, attribute=True)
        notice = v.notice
        if _REFUSAL.search(draft) and not any(c.supported for c in v.claims):
            return refusal(self.question, self.contexts, mode, "the model found no answer in the passages", notice)
        answer = to_answer(self.question, v, self.contexts, self.documents, mode=mode, strict=gen.settings.strict)
        if answer.refused and gen.settings.llm_unsupported == "extractive":
            flagged = len(v.claims)
            return self.extractive_answer(
                join_notice(f"{mode}'s answer was not supported by the passages ({flagged} sentence(s) flagged); extractive answer", notice)
                or ""
            )
        return answer


def generate_answer(
    gen: Generator,
    question: str,
    contexts: Sequence[Context],
    documents: dict[str, Document],
    idf: dict[str, float],
    extractive: ExtractiveAnswerer,
) -> Answer:
    if not contexts:
        return refusal(question, contexts, gen.settings.llm_name(), "no passage was retrieved")
    job = Job(gen, question, contexts, documents, idf, extractive)
    try:
        draft = gen.llm.complete(*job.prompt())
    except LLMError as exc:
        return job.fallback(exc)
    return job.noticed(job.finish(draft))


def stream_answer(
    gen: Generator,
    question: str,
    contexts: Sequence[Context],
    documents: dict[str, Document],
    idf: dict[str, float],
    extractive: ExtractiveAnswerer,
) -> Iterator[str | Answer]:
    """Text pieces of the draft as the model writes them, then the verified Answer (last)."""
    if not contexts:
        yield refusal(question, contexts, gen.settings.llm_name(), "no passage was retrieved")
        return
    job = Job(gen, question, contexts, documents, idf, extractive)
    pieces: list[str] = []
    try:
        for piece in gen.llm.stream(*job.prompt()):
            pieces.append(piece)
            yield piece
    except LLMError as exc:
        yield job.fallback(exc)
        return
    yield job.noticed(job.finish("".join(pieces)))
