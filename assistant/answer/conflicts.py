"""Sources that disagree: the best sentence of another document giving a different value of the
asked type (years for "when", numbers for "how many", else names), and the note that says so."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from assistant.answer.features import Candidate
from assistant.answer.question import DATE, KNOWN_ALIASES, NUMBER, defined_acronyms, entities, satisfies_type, wh_kind
from assistant.text.lexical import terms
from assistant.types import Answer, Document

_NUMBERISH = re.compile(r"\d[\d,.]*")
_YEARISH = re.compile(r"\b(1\d{3}|20\d\d)\b")
_CALENDAR = frozenset(
    "january february march april may june july august september october november december monday tuesday wednesday thursday friday saturday sunday".split()
)


_LINK = frozenset({"of", "the", "and", "de", "von", "van", "for", "on", "al", "bin", "ibn"})


#: the most words of a name followed by the common noun it names ("the Kalb tribe", "AIDS epidemic")
_NAMED_NOUN = 4


def value_kind(answer: str) -> str | None:
    """The kind of value a short answer is: 'number' (digits or number words), 'name' (every word
    capitalised but linking words like 'of', or a short name before the common noun it names:
    "Kalb tribe", "AIDS epidemic"), else None (a phrase: nothing to compare)."""
    if satisfies_type(answer, NUMBER):
        return "number"
    ws = [w for w in re.findall(r"[\w’'.-]+", answer) if w.lower() not in _LINK]
    if ws and all(w[:1].isupper() for w in ws):
        return "name"
    named_noun = 2 <= len(ws) <= _NAMED_NOUN and all(w[:1].isupper() for w in ws[:-1]) and ws[-1].isalpha()
    return "name" if named_noun else None


def answer_values(question: str, sentence: str) -> dict[str, str]:
    """What a sentence gives as the answer, for comparing sources, as {comparable key: text}: the
    years (when), the numbers (how much / how many), else the names it states that the question does not."""
    kind = wh_kind(question)
    if kind == DATE:
        return {y: y for y in _YEARISH.findall(sentence)}
    if kind == NUMBER:
        return {v: v for v in (m.group(0).rstrip(".,") for m in _NUMBERISH.finditer(sentence))}
    qterms = set(terms(question))
    names: dict[str, str] = {}
    for e in entities(sentence):
        ts = [t for t in terms(e) if t not in _CALENDAR]
        if ts and not set(ts) & qterms:
            names[" ".join(ts)] = " ".join(w for w in e.split() if w.lower() not in _CALENDAR)
    return names


def short_answer(c: Candidate) -> str | None:
    """The reader's short answer inside the candidate sentence, if it found one."""
    if c.span is None:
        return None
    return c.text[c.span[0] - c.start : c.span[1] - c.start].strip(" ,.;:") or None


_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
    )
} | {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
_NUMBER_TOKEN = re.compile(r"\d[\d,]*(?:\.\d+)?|[a-z]+", re.I)


def numbers_in(text: str) -> set[str]:
    """The numbers a short answer states, normalised ("$234 million" -> {"234"}, "75th" -> {"75"},
    "eighty" -> {"80"}); scale words (million) and units are left out: two answers are compared by
    their figures."""
    out: list[int | str] = []
    tens = False  # the last number was a word for 20, 30, ... ("twenty-three" is 23)
    for tok in _NUMBER_TOKEN.findall(text.replace("-", " ")):
        if tok[0].isdigit():
            out.append(tok.replace(",", "").rstrip("."))
            tens = False
        elif (n := _NUMBER_WORDS.get(tok.lower())) is not None:
            if tens and 0 < n < 10:
                out[-1] = int(out[-1]) + n
                tens = False
            else:
                out.append(n)
                tens = n >= 20
        else:
            tens = False
    return {str(x) for x in out}


def _calendar_words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower())) & _CALENDAR


@lru_cache(maxsize=1)
def _known_alias_pairs() -> list[tuple[frozenset[str], frozenset[str]]]:
    return [(frozenset(terms(x)), frozenset(terms(y))) for group in KNOWN_ALIASES for x in group for y in group if x != y]


def _with_aliases(ts: set[str], context: str) -> set[str]:
    """Terms of a short answer with those of its aliases: an acronym the context defines and its
    expansion ("NACTA" / "National Counter Terrorism Authority"), and the known spelling variants."""
    out = set(ts)
    pairs = [(frozenset(terms(acro)), frozenset(terms(exp))) for acro, exp in defined_acronyms(context)] + _known_alias_pairs()
    for x, y in pairs:
        if x and y and (x <= ts or y <= ts):
            out |= x | y
    return out


def _same_value(question: str, a: str, b: str, context: str = "") -> bool:
    """Two short answers give the same value when what one states is part of what the other does:
    figures where both state numbers or dates ("5 January 1955" holds "January 1955"; "$234 million"
    and "54 million" differ though both say million), else their words beyond the question's ("Heath"
    is "Edward Heath"; "the Kalb tribe" is not "the Hind tribe" though both are tribes; an acronym is
    its expansion where `context` defines it)."""
    va, vb = answer_values(question, a), answer_values(question, b)
    if va and vb and wh_kind(question) == DATE and not va.keys() & vb.keys():
        return False  # different years
    na, nb = numbers_in(a), numbers_in(b)
    if na and nb:  # figures, with the months they come with ("5 January" is not "5 March")
        fa, fb = na | _calendar_words(a), nb | _calendar_words(b)
        return fa <= fb or fb <= fa
    qterms = set(terms(question))
    ta, tb = set(terms(a)) - qterms or set(terms(a)), set(terms(b)) - qterms or set(terms(b))
    if not ta or not tb:
        return a.strip().lower() == b.strip().lower()
    return ta <= _with_aliases(tb, context) or tb <= _with_aliases(ta, context)


#: two sentences make the same claim when this share of their words (short answers left out) is common
SAME_CLAIM = 0.6


def _alike(a: str, a_span: str, b: str, b_span: str) -> bool:
    """Whether two sentences say the same thing apart from their short answers (Jaccard of their
    terms without the answers' terms >= `SAME_CLAIM`)."""
    ta = set(terms(a)) - set(terms(a_span))
    tb = set(terms(b)) - set(terms(b_span))
    return bool(ta and tb) and len(ta & tb) / len(ta | tb) >= SAME_CLAIM


def disagreeing(
    question: str, best: Candidate, ranked: list[Candidate], score: Callable[[Candidate], float], minimum: float, margin: float
) -> Candidate | None:
    """The best sentence of another document that answers the same question with a different value:
    by the reader's short answers where both have one, else by the values the sentences state."""
    mine_span = short_answer(best)
    mine = answer_values(question, best.text)
    if not mine and mine_span is None:
        return None
    settled: set[str] = set()  # documents whose best sentence making the same claim agrees
    for c in ranked:
        if score(c) < max(minimum, score(best) - 2 * margin):
            return None
        if c.doc_id == best.doc_id or c.doc_id in settled:
            continue
        theirs_span = short_answer(c)
        if mine_span is not None and theirs_span is not None:
            # values (numbers, names) only: two phrases are two points made, not a disagreement
            if value_kind(mine_span) is None and value_kind(theirs_span) is None:
                continue
            # the same claim about the same thing: the sentences share most of the question's words,
            # or most of their own words once the short answers are left out
            if not (min(c.lex, best.lex) >= 0.5 or _alike(best.text, mine_span, c.text, theirs_span)):
                continue
            if not _same_value(question, mine_span, theirs_span, f"{best.window_text}\n{c.window_text}"):
                return c
            settled.add(c.doc_id)  # its best sentence on this claim agrees: its others do not count
            continue
        if min(c.lex, best.lex) < 0.6:
            continue
        theirs = answer_values(question, c.text)
        if mine and theirs and not (theirs.keys() & mine.keys()):
            return c
    return None


def flag_conflict(ans: Answer, question: str, best: Candidate, rival: Candidate, documents: dict[str, Document]) -> None:
    def marker(c: Candidate) -> str:
        return next((f"[{x.n}]" for x in ans.citations if x.doc_id == c.doc_id and x.start == c.start), "")

    def says(c: Candidate) -> str:
        title = documents[c.doc_id].title or c.doc_id
        span = short_answer(c)
        vals = f"“{span}”" if span else ", ".join(sorted(answer_values(question, c.text).values()))
        return f"“{title}” {marker(c)} says {vals}"

    note = f"Sources disagree: {says(best)}; {says(rival)}."
    ans.conflicts = [note]
    ans.answer = f"{note} {ans.answer}"
