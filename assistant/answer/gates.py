"""Gates: what a sentence must be before it can answer a question, whatever scores it.

Kept apart from the scorers (`assistant.answer.extract`): the answer type asked for (a number, a
date, a person in the role asked about), not a heading, sharing a word with the question, and the
span reader's checks of its short answer (a name for a person, a value for "how many / when", the
acronym's expansion for "what does X stand for", the body and the holder asked about).
"""

from __future__ import annotations

from assistant.answer.compose import POINTS_BACK
from assistant.answer.features import Candidate, is_headline
from assistant.answer.question import (
    DATE, NUMBER, PERSON, QuestionAnalysis, acronym_asked, defines, mentions, names_other_body, names_person_at, ordinal_asked,
    satisfies_role, satisfies_type, says_ordinal,
)


def answers_type(q: QuestionAnalysis, text: str) -> bool:
    """The sentence holds the kind of answer asked for (a number, a date, a person in the role asked about)."""
    return satisfies_type(text, q.answer_type) and satisfies_role(q.text, text)


#: "what is X": a sentence naming this share of the question's words (IDF-weighted) describes X
DEFINITION_COVERAGE = 0.6


def passes_gates(c: Candidate, scorer: str) -> bool:
    """The answerability checks kept as gates. A sentence that lacks the number / date / name asked
    for is not an answer (both learned scorers). With the logistic scorer a sentence whose passage
    lacks a name the question gives is not one either; the cross-encoder reads the names itself
    (on the SQuAD dev split that gate refused 19 % of answerable questions against 4 % without it:
    docs/evaluation.md)."""
    return c.type_ok and (scorer in ("cross", "reader") or c.entities_ok)


def own_line(text: str, s: int, e: int) -> bool:
    """Whether text[s:e] is a line of its own."""
    return (s == 0 or text[s - 1] == "\n") and (e == len(text) or text[e] == "\n")


def heading_line(text: str, s: int, e: int) -> bool:
    """A line of its own that reads as a heading (Markdown's '#' marks are not in the stored text)."""
    line = text[s:e].strip()
    return own_line(text, s, e) and not line.endswith((".", "!", "?", ";", '"', "”", "’", ")")) and is_headline(line)


def reads_as_heading(c: Candidate) -> bool:
    """A line of its own that reads as a heading or title ("Leadership and budget."). A sentence
    inside a paragraph is never one, however short ("It features artists from around the world.")."""
    return c.own_line and is_headline(c.text)


def reader_may_answer(c: Candidate) -> bool:
    """The gates a sentence must pass before it is read: the answer type's check, not a heading,
    sharing a content word with the question (or pointing back at a sentence that does)."""
    return c.type_ok and not reads_as_heading(c) and (c.lex > 0 or (c.ctx > 0 and bool(POINTS_BACK.search(c.text))))


def reader_gate(q: QuestionAnalysis, c: Candidate, text: str) -> bool:
    """What a reader's answer must also be: not a heading; a sentence sharing a content word with the
    question (or pointing back at one that does); for "how many" / "when", a short answer that
    holds a number / a date (the span, widened to its words); for "the name of the minister", a
    short answer that is (part of) a person's name, not a fragment like "Islamabad-based"; for
    "what does X stand for", a sentence holding X or the expansion the document defines for it; for a
    person, the organisations the question names near the sentence and the holder asked ("the first
    director") said."""
    if reads_as_heading(c) or not (c.lex > 0 or (c.ctx > 0 and POINTS_BACK.search(c.text))):
        return False
    acronym = acronym_asked(q.text)
    if acronym is not None and not defines(c.text, acronym, text):
        return False
    if q.answer_type == PERSON:
        # the person asked for holds the office of the organisation asked about, in this sentence or
        # the next to it (not the head of another body the passage also names), and is the holder asked
        if not all(mentions(e, set(c.window_terms), text) for e in q.entities) and names_other_body(c.text, q.entities, text):
            return False
        which = ordinal_asked(q.text)
        if which is not None and not says_ordinal(c.window_text, which):
            return False
        if c.span is not None:
            return names_person_at(c.text, c.span[0] - c.start, c.span[1] - c.start)
    if c.span is not None and q.answer_type in (NUMBER, DATE):
        a, b = c.span
        while a > c.start and text[a - 1].isalnum():
            a -= 1
        while b < c.end and text[b].isalnum():
            b += 1
        return satisfies_type(text[a:b], q.answer_type)
    return True
