"""Conversations: `session = assistant.chat()`, `session.send(text) -> Answer`, `session.stream(text)`.

A session keeps its own history (one per user / browser session). A follow-up is rewritten into
a standalone question before retrieval:

- `followup_kind` decides whether a turn needs the conversation at all. A question that names
  its own entity (a capitalised name or acronym) and has no "what about ..." form is left alone.
  Otherwise it is a follow-up when it refers back with a pronoun ("it", "its", "they", "their",
  "that?"...), asks "what about X?" / "and X?", or is elliptical ("How much?", "When?").
- With an LLM configured, `prompts/condense.md` rewrites it from the conversation (LlamaIndex
  `ChatMemoryBuffer`, token-limited). The rewrite is accepted only if it is one question that
  names nothing absent from the conversation and brings in something from it; otherwise (and
  without an LLM) the deterministic rewrite below is used.
- Deterministic rewrite: the *salient entity* is the first entity of the most recent standalone
  question that has one (else its "what is X" subject). A pronoun is replaced by it ("its" ->
  "NIFTAC's"); "what about X?" puts X in place of the salient entity in the previous question;
  an elliptical wh-question takes the previous question with its wh-phrase replaced
  ("What did the cabinet authorize?" + "How much?" -> "How much did the cabinet authorize?").
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel

from assistant.errors import EmptyQuestionError, LLMError, PromptError
from assistant.text.lexical import terms
from assistant.answer.question import entities
from assistant.types import Answer, Filters

if TYPE_CHECKING:
    from assistant.answer.generate import Generator
    from assistant.config import Settings

log = logging.getLogger(__name__)

#: conversation tokens given to the condense prompt
MEMORY_TOKENS = 1500


class StreamEvent(BaseModel):
    """`standalone` (the rewritten question, only when it differs), then `delta`s, then one `answer`."""

    kind: Literal["standalone", "delta", "answer"]
    text: str = ""
    answer: Answer | None = None


# --- deterministic follow-up rewriting ----------------------------------------------------------
_REF_PRONOUNS = {"it", "its", "they", "them", "their", "he", "she", "him", "his", "her"}
_DEMONSTRATIVES = {"this", "that", "these", "those"}
_AUX = {
    "is", "are", "was", "were", "be", "been", "has", "have", "had", "do", "does", "did", "will", "would",
    "can", "could", "should", "may", "might", "mean", "means", "meant", "happen", "happened", "cost",
}
_PREPOSITIONS = {"about", "of", "for", "with", "on", "in", "by", "from", "to", "behind", "after", "before", "against"}
_POSSESSIVE = {"its", "their", "his"}
_WH = re.compile(r"^(?:how (?:much|many|long|often|far)|what year|which year|what|when|where|why|who|whom|which|how)\b", re.I)
_AUX_START = re.compile(r"^(?:is|are|was|were|do|does|did|has|have|had|can|could|will|would|should)\b", re.I)
_WHAT_ABOUT = re.compile(r"^(?:and\s+)?(?:what|how)\s+about\s+(.+?)\s*\??$|^and\s+(?!what\b|how\b|when\b|where\b|why\b|who\b)(.+?)\s*\?$", re.I)
_SUBJECT = re.compile(r"^(?:what|who|which)\s+(?:is|are|was|were)\s+(.+?)\s*\??$", re.I)
_WORD = re.compile(r"[\w’'-]+|[^\w\s]")
_FILLER = {"and", "so", "then", "ok", "okay", "also", "exactly", "please", "again", "really"}


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def salient_entity(question: str) -> str | None:
    ents = entities(question)
    if ents:
        return ents[0]
    m = _SUBJECT.match(question.strip())
    if m and not any(w.lower() in _REF_PRONOUNS | _DEMONSTRATIVES for w in _words(m.group(1))):
        return m.group(1)
    return None


def _pronoun_index(words: list[str]) -> int | None:
    """Index of the first word that refers back (a pronoun, or a demonstrative used as one)."""
    for i, w in enumerate(words):
        low = w.lower()
        if low in _REF_PRONOUNS:
            return i
        if low in _DEMONSTRATIVES:
            nxt = words[i + 1].lower() if i + 1 < len(words) else ""
            prev = words[i - 1].lower() if i else ""
            if not nxt or not nxt[0].isalnum() or nxt in _AUX or prev in _PREPOSITIONS:
                return i
    return None


def _is_elliptical(text: str) -> bool:
    """Only a wh-phrase (plus filler): "How much?", "And when?", "Why exactly?"."""
    rest = re.sub(r"[^\w\s]", " ", text.lower()).split()
    rest = [w for w in rest if w not in _FILLER]
    return bool(rest) and bool(_WH.match(" ".join(rest))) and _WH.sub("", " ".join(rest)).strip() == ""


FollowupKind = Literal["pronoun", "what_about", "elliptical"]


def followup_kind(text: str) -> FollowupKind | None:
    """Why `text` needs the conversation, or None when it stands alone."""
    q = text.strip()
    if _WHAT_ABOUT.match(q):
        return "what_about"
    if entities(q):
        return None
    if _is_elliptical(q):
        return "elliptical"
    if _pronoun_index(_words(q)) is not None:
        return "pronoun"
    return None


def rewrite_followup(text: str, previous: list[str]) -> str:
    """Deterministic standalone question from the earlier standalone questions (oldest first)."""
    q = " ".join(text.split())
    kind = followup_kind(q)
    if kind is None or not previous:
        return q
    last = previous[-1].strip()
    entity = next((e for e in (salient_entity(p) for p in reversed(previous)) if e), None)
    if kind == "what_about":
        m = _WHAT_ABOUT.match(q)
        new = (m.group(1) or m.group(2)).strip() if m else ""
        old = salient_entity(last)
        if new and old and re.search(re.escape(old), last, re.I):
            return re.sub(re.escape(old), new, last, count=1, flags=re.I)
        return q
    if kind == "elliptical":
        wh = _WH.match(" ".join(w for w in re.sub(r"[^\w\s]", " ", q.lower()).split() if w not in _FILLER))
        phrase = wh.group(0) if wh else ""
        if _WH.match(last):
            return _cap(_WH.sub(phrase, last, count=1))
        if _AUX_START.match(last):
            return _cap(f"{phrase} {last[0].lower()}{last[1:]}")
        return _cap(f"{phrase} {entity}?") if entity else q
    if not entity:
        return q
    words = _words(q)
    i = _pronoun_index(words)
    assert i is not None
    low = words[i].lower()
    nxt = words[i + 1] if i + 1 < len(words) else ""
    possessive = low in _POSSESSIVE or (low == "her" and nxt[:1].isalpha() and nxt.lower() not in _PREPOSITIONS)
    replacement = f"{entity}'s" if possessive else entity
    return _join_words(words[:i] + [replacement] + words[i + 1 :])


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _join_words(words: list[str]) -> str:
    out = ""
    for w in words:
        out += w if (not out or (not w[0].isalnum() and w[0] not in "(\"“")) else " " + w
    return _cap(out)


# --- the session ---------------------------------------------------------------------------------
class Asker(Protocol):
    """What a conversation needs of the assistant behind it (`assistant.api.Assistant` is one).

    A protocol rather than the class keeps `chat` below `api`: the facade creates sessions,
    sessions never import the facade."""

    settings: Settings

    def ask(self, question: str, top_k: int | None = None, filters: Filters | None = None, *, standalone: str | None = None) -> Answer: ...

    def ask_stream(
        self, question: str, top_k: int | None = None, filters: Filters | None = None, *, standalone: str | None = None
    ) -> Iterator[str | Answer]: ...

    def generator(self) -> Generator: ...


class ChatSession:
    """One conversation. Not shared between users; the Assistant behind it may be."""

    def __init__(self, assistant: Asker) -> None:
        self.assistant = assistant
        self.history: list[tuple[str, Answer]] = []
        self._memory: Any = None  # LlamaIndex ChatMemoryBuffer, only when an LLM is configured

    def reset(self) -> None:
        self.history.clear()
        if self._memory is not None:
            self._memory.reset()

    # -- rewriting
    def _previous(self) -> list[str]:
        return [a.standalone_question or a.question or u for u, a in self.history]

    def standalone(self, text: str) -> str:
        """The question to retrieve with: `text` itself, or its rewrite from the conversation."""
        q = " ".join((text or "").split())
        if not self.history or followup_kind(q) is None:
            return q
        rule = rewrite_followup(q, self._previous())
        if self.assistant.settings.llm_backend != "none":
            llm = self._condense(q)
            if llm is not None:
                return llm
        return rule

    def _condense(self, q: str) -> str | None:
        from assistant.answer.prompts import load_prompt

        lines = []
        for m in self._mem().get():
            role = "User" if m.role.value == "user" else "Assistant"
            lines.append(f"{role}: {m.content}")
        try:
            system, user = load_prompt("condense").render(history="\n".join(lines), question=q)
            reply = self.assistant.generator().llm.complete(system, user, max_tokens=64)
        except (LLMError, PromptError) as exc:
            log.warning("condensing with the LLM failed (%s); using the rule-based rewrite", exc)
            return None
        rewrite = _clean_rewrite(reply)
        conversation = " ".join(lines)
        if accept_rewrite(rewrite, q, conversation):
            return rewrite
        log.info("LLM rewrite %r rejected for %r; using the rule-based rewrite", rewrite, q)
        return None

    def _mem(self) -> Any:
        if self._memory is None:
            from llama_index.core.llms import ChatMessage, MessageRole
            from llama_index.core.memory import ChatMemoryBuffer

            self._memory = ChatMemoryBuffer.from_defaults(token_limit=MEMORY_TOKENS)
            for u, a in self.history:  # turns answered before the memory existed
                self._memory.put(ChatMessage(role=MessageRole.USER, content=a.standalone_question or u))
                self._memory.put(ChatMessage(role=MessageRole.ASSISTANT, content=_plain(a)))
        return self._memory

    def _remember(self, text: str, answer: Answer) -> None:
        self.history.append((text, answer))
        if self._memory is not None:
            from llama_index.core.llms import ChatMessage, MessageRole

            self._memory.put(ChatMessage(role=MessageRole.USER, content=answer.standalone_question or text))
            self._memory.put(ChatMessage(role=MessageRole.ASSISTANT, content=_plain(answer)))

    # -- turns
    def send(self, text: str, filters: Filters | None = None, top_k: int | None = None) -> Answer:
        _check_text(text)
        q = self.standalone(text)
        answer = self.assistant.ask(text, top_k=top_k, filters=filters, standalone=q)
        self._remember(text, answer)
        return answer

    def stream(self, text: str, filters: Filters | None = None, top_k: int | None = None) -> Iterator[StreamEvent]:
        _check_text(text)
        t0 = time.perf_counter()
        q = self.standalone(text)
        if q != " ".join(text.split()):
            yield StreamEvent(kind="standalone", text=q)
        answer: Answer | None = None
        for item in self.assistant.ask_stream(text, top_k=top_k, filters=filters, standalone=q):
            if isinstance(item, Answer):
                answer = item
            else:
                yield StreamEvent(kind="delta", text=item)
        assert answer is not None
        answer.timings_ms.total = (time.perf_counter() - t0) * 1000
        self._remember(text, answer)
        yield StreamEvent(kind="answer", text=answer.answer, answer=answer)


def _check_text(text: str) -> None:
    if not text or not any(ch.isalnum() for ch in text):
        raise EmptyQuestionError(text)


def _plain(answer: Answer) -> str:
    if answer.refused:
        return "(no answer in the documents)"
    return re.sub(r"\s*\[\d+\]", "", answer.answer)


def _clean_rewrite(reply: str) -> str:
    line = next((ln for ln in reply.strip().splitlines() if ln.strip()), "")
    line = re.sub(r"^\s*(?:standalone question|rewritten question|question)\s*:\s*", "", line, flags=re.I)
    return line.strip().strip("\"'“”").strip()


def accept_rewrite(rewrite: str, followup: str, conversation: str) -> bool:
    """One question, at most 300 characters, keeping every content word of the follow-up, naming
    nothing absent from the conversation and the follow-up, and bringing in at least one content
    word from the conversation."""
    if not rewrite or len(rewrite) > 300 or not any(ch.isalnum() for ch in rewrite):
        return False
    if not (rewrite.endswith("?") or _WH.match(rewrite) or _AUX_START.match(rewrite)):
        return False
    known = (conversation + " " + followup).lower()
    if any(e.lower() not in known for e in entities(rewrite)):
        return False
    have, asked = set(terms(rewrite)), set(terms(followup))
    if not asked <= have:  # dropped what the follow-up asks about ("approved")
        return False
    return bool((have - asked) & set(terms(conversation)))
