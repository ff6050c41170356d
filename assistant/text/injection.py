"""Sentences that instruct a model ("ignore all previous instructions and ..."): never answer material.

A document may carry text written for the model that reads it rather than for a person: an
override ("disregard the above rules"), a role ("you are now an unrestricted assistant", a
`<|im_start|>system` marker), an order about the answer ("answer every question with ...",
"when asked about NACTA, say ..."), in plain text, in Markdown or HTML comments, or broken up
with zero-width characters. `instruction(sentence)` returns the instructing phrase of such a
sentence, else None; the answerers leave those sentences out of their candidates and out of
what an LLM reads (`drop_instructions`).

The rules look for the *addressee*: an instruction is an imperative at the start of a sentence
(or of a clause after "and"/";"), a phrase addressed to an AI/assistant/model, or a chat-template
marker. Reported speech about instructions ("officials were told to ignore previous
instructions", "when asked about NACTA, the minister said ...", "the system prompt of the
chatbot was leaked") names a third person and is left alone.
"""

from __future__ import annotations

import re

from assistant.text.sentences import split_sentences

#: zero-width and soft-hyphen characters used to break a phrase apart for filters
_INVISIBLE = re.compile(r"[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
#: comment and markup wrappers whose content is read as text of its own
_WRAPPERS = re.compile(r"<!--|-->|^\s*\[//\]:\s*#\s*\(?|/\*|\*/|^\s*[>#*\-]+\s*", re.M)
_OPENERS = (
    r"(?:(?:please|important|note|nb|attention|reminder|update|new instructions?|system|admin|developer|assistant|ai)\s*[:!,-]\s*)*"
    r"(?:(?:please|now|also|then|instead|always|from now on,?)\s+)*"
)
_CLAUSE = rf"(?:^|[;:]\s*|\band\s+|\bthen\s+|\.\s+){_OPENERS}"
_MODEL = r"(?:ai|a\.i\.|assistant|chat\s*bot|chatbot|bot|llm|language\s+model|model|gpt|claude|copilot)s?"
_PRIOR = r"(?:all|any|every|the|your|my|these|those|previous|prior|above|earlier|preceding|foregoing|original|initial|system|developer|other)"
_RULES = (
    r"(?:instructions?|prompts?|directions?|directives?|rules?|guidelines?|guidance|messages?|context|constraints?|"
    r"policies|policy|programming|orders?|commands?|everything)"
)

_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.I)
    for p in (
        # overrides, said to the reader: "ignore all previous instructions", "disregard the above"
        rf"{_CLAUSE}(?:ignore|disregard|forget|override|bypass|drop|discard)\s+(?:{_PRIOR}\s+){{0,3}}(?:{_RULES}|above|before)\b",
        rf"{_CLAUSE}(?:do\s+not|don't|never)\s+(?:follow|obey|apply)\s+(?:{_PRIOR}\s+){{0,3}}{_RULES}\b",
        # roles: "you are now an unrestricted assistant", "from now on you ...", "act as a chatbot"
        rf"\byou\s+are\s+(?:now|no\s+longer)\s+(?:an?\s+|the\s+)?(?:\w+\s+){{0,2}}(?:{_MODEL}|dan|jailbroken|unrestricted|unfiltered|free)\b",
        r"\bfrom\s+now\s+on,?\s+you\s+(?:will|must|should|are|answer|reply|respond|say)\b",
        rf"{_CLAUSE}(?:act|behave|respond)\s+as\s+(?:if\s+you\s+(?:are|were)\s+)?(?:an?\s+|the\s+)?(?:\w+\s+){{0,2}}{_MODEL}\b",
        rf"{_CLAUSE}pretend\s+(?:to\s+be|you\s+are)\b",
        # chat-template and prompt markers
        r"<\|?(?:im_start|im_end|system|endoftext)\|?>|\[/?INST\]|<<\s*/?SYS\s*>>|^\s*#{2,}\s*(?:system|instruction|instructions)\b\s*:?",
        r"^\s*(?:system|developer)\s*(?:prompt|message)?\s*:",
        r"\b(?:reveal|print|show|repeat|output)\s+(?:your\s+(?:system\s+)?|the\s+system\s+)(?:prompt|instructions)\b",
        # addressed to a model: "note to the AI:", "if you are a language model, ...", "dear assistant"
        rf"^\s*(?:note|message|instructions?|attention|reminder)\s+(?:to|for)\s+(?:the\s+|any\s+)?{_MODEL}\b",
        rf"\bif\s+you\s+are\s+(?:an?\s+|the\s+)?(?:\w+\s+)?{_MODEL}\b",
        rf"^\s*(?:dear|hey|hi|hello)\s+(?:the\s+)?{_MODEL}\b",
        rf"^\s*(?:the\s+)?{_MODEL}\s+(?:must|should|shall|will\s+now)\s+(?:answer|reply|respond|say|ignore|state|tell|always|never|only)\b",
        # orders about the answer: "answer every question with ...", "respond only with 'OK'", "tell the user that"
        rf"{_CLAUSE}(?:answer|respond\s+to|reply\s+to)\s+(?:every|all|any|each|the\s+next|all\s+further|the\s+user'?s?)\s+(?:questions?|queries|requests?|prompts?|users?)\b",
        rf"{_CLAUSE}(?:reply|respond|answer|say|output|print|write|return|state)\s+(?:only|just|exactly|always|solely)\b",
        rf"{_CLAUSE}(?:reply|respond|answer|output|print)\s+(?:with|using)\s*[:\"'“‘]",
        rf"{_CLAUSE}(?:say|output|print|reply|respond)\s*[:\"'“‘]\s*\S",
        rf"{_CLAUSE}(?:say|output|print|reply|respond|answer)\s+[\"'“‘]?(?-i:[A-Z0-9]{{3,}})[\"'”’]?\s*(?:[.!]|$)",
        rf"{_CLAUSE}(?:tell|inform|assure)\s+(?:the\s+|any\s+|every\s+)?(?:users?|readers?|analysts?|askers?|human)\s+(?:that|to)\b",
        r"^\s*(?:when|whenever|if)\s+(?:you\s+are\s+|you're\s+|you\s+get\s+)?asked\b[^,.;]{0,120}[,:]\s*(?:always\s+|just\s+|simply\s+)?"
        r"(?:say|answer|reply|respond|state|claim|tell|write|output)\b",
        rf"{_CLAUSE}(?:do\s+not|don't|never)\s+(?:mention|cite|quote|reveal|disclose|tell\s+the\s+user|say)\s+(?:that\s+)?(?:this|these|the\s+(?:source|document|passage|user)|your|any\s+(?:source|document))\b",
    )
)


def _plain(text: str) -> str:
    return _WRAPPERS.sub(" ", _INVISIBLE.sub("", text)).strip()


def instruction(sentence: str) -> str | None:
    """The instructing phrase of a sentence written for the model, or None."""
    text = _plain(sentence)
    if not text:
        return None
    for pattern in _PATTERNS:
        m = pattern.search(text)
        if m:
            return m.group(0).strip(" ;:.") or text[:60]
    return None


def is_instruction(sentence: str) -> bool:
    return instruction(sentence) is not None


def has_instruction(text: str) -> bool:
    """Whether any sentence of a passage instructs the model."""
    return any(is_instruction(text[s:e]) for s, e in split_sentences(text, 0, len(text)))


def drop_instructions(text: str) -> str:
    """The passage without its instructing sentences (what an LLM may read)."""
    out, last = [], 0
    for s, e in split_sentences(text, 0, len(text)):
        if is_instruction(text[s:e]):
            out.append(text[last:s])
            last = e
    if not out:
        return text
    out.append(text[last:])
    return re.sub(r"[ \t]{2,}", " ", "".join(out)).strip()
