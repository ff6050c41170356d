"""An LLM as support judge (`Settings.judge == "llm"`), same interface as `OfflineJudge`.

Claim by claim, the model gets the passages (as data) and the claim with `prompts/judge.md` and
answers `verdict: yes|no` and `score: 0..1`. The score is the stated number, made consistent
with the verdict (a "no" never scores above the threshold, a "yes" never below); a reply
without a verdict counts as unsupported (score 0) - the conservative reading.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from assistant.answer.prompts import load_prompt

if TYPE_CHECKING:
    from assistant.answer.llm import ChatLLM

log = logging.getLogger(__name__)

_VERDICT = re.compile(r"\bverdict\s*[:=]?\s*\**\s*(yes|no)\b|^\s*\**(yes|no)\b", re.I | re.M)
_SCORE = re.compile(r"\bscore\s*[:=]?\s*\**\s*([01](?:\.\d+)?|\.\d+)", re.I)


def parse_verdict(reply: str, threshold: float = 0.5) -> float:
    """Support score in [0, 1] from a judge reply."""
    v = _VERDICT.search(reply)
    s = _SCORE.search(reply)
    if not v:
        log.debug("judge reply without a verdict: %r", reply[:200])
        return 0.0
    yes = (v.group(1) or v.group(2)).lower() == "yes"
    score = min(1.0, max(0.0, float(s.group(1)))) if s else (1.0 if yes else 0.0)
    if yes and score < threshold:
        score = threshold
    if not yes and score >= threshold:
        score = max(0.0, threshold - 0.01)
    return round(score, 4)


class LLMJudge:
    threshold = 0.5

    def __init__(self, llm: ChatLLM, max_passage_chars: int = 6000) -> None:
        self.llm = llm
        self.name = f"llm:{llm.name}"
        self.prompt = load_prompt("judge")
        self.max_passage_chars = max_passage_chars

    def score(self, claim: str, passages: Sequence[str]) -> float:
        blocks = "\n".join(f'<passage id="{i}">\n{p}\n</passage>' for i, p in enumerate(passages, start=1))
        system, user = self.prompt.render(passages=blocks[: self.max_passage_chars], claim=claim)
        return parse_verdict(self.llm.complete(system, user, max_tokens=24), self.threshold)

    def score_batch(self, items: Sequence[tuple[str, Sequence[str]]]) -> list[float]:
        return [self.score(c, p) for c, p in items]
