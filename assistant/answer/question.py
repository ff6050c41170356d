"""What a question asks for: its content terms, the entities it names, the type of answer it needs.

Used by the extractive answerer to refuse when the passages cannot answer:
- every entity the question names (France, Punjab, KP...) must occur in the passage,
  directly or through an alias (an acronym defined in the text, or a known spelling variant);
- a "how much / how many / budget" question needs a number in the answer sentence,
  a "when / what year" question a date or time expression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from assistant.text.lexical import STOPWORDS, terms

# Spelling variants and short forms common in South-Asian CT writing (extend as corpora grow).
KNOWN_ALIASES: tuple[tuple[str, ...], ...] = (
    ("kp", "khyber pakhtunkhwa", "kpk", "khyber-pakhtunkhwa"),
    ("balochistan", "baluchistan"),
    ("ct", "counterterrorism", "counter-terrorism", "counter terrorism"),
    ("ctd", "counterterrorism department", "counter-terrorism department", "counter terrorism department"),
    ("nacta", "national counter terrorism authority"),
    ("nap", "national action plan"),
    ("ttp", "tehreek-e-taliban pakistan", "tehrik-i-taliban pakistan"),
    ("isi", "inter-services intelligence"),
    ("fata", "federally administered tribal areas"),
)

_QUESTION_WORDS = {
    "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "is", "are", "was", "were",
    "do", "does", "did", "can", "could", "should", "would", "will", "has", "have", "had", "according",
    "name", "list", "give", "tell", "describe", "explain", "in", "on", "at", "for", "the", "a", "an", "and", "or",
}

NUMBER = "number"
DATE = "date"
PERSON = "person"
#: softer kinds, used as features by the learned scorer only (never as a gate)
NAME = "name"  # "who ..." in general: a capitalised name
PLACE = "place"  # "where ..."
REASON = "reason"  # "why ..."
WH_KINDS = (PERSON, DATE, NUMBER, NAME, PLACE, REASON)

# a money / count noun asks for a number when it is what the question asks for ("what is the annual
# budget of X", "NIFTAC's budget?"), not when it qualifies something else ("what did the budget review find")
_NUMBER_Q = re.compile(
    r"\b(how (much|many|large|big|long)|what (amount|sum|number|percentage|share|proportion)|"
    r"(what|which) (is|was|are|were|will be)\s+(the\s+)?([\w'’-]+\s+){0,2}(budget|cost|costs|spending|funding|figure|total)(?!\s+(review|cut|cuts|plan|process|debate|committee|report)s?\b)|"
    r"(budget|cost|costs|spending)\s*\?|\bspend|\bspent|funding amount|number of(?!\s+(what|which)\b)|count of|total of)\b",
    re.I,
)
# "when" asks for a date as the question word ("When was ...", "... and when?"), not as a conjunction
# ("lines left on paper when handmade", "removed from the plan when it was cut", "When X opens, how many ...")
_DATE_Q = re.compile(
    r"\bwhen\s+(did|does|do|was|were|is|are|will|would|has|have|had|can|could|should|might|may|shall)\b|\bwhen\s*\?|"
    r"\b(what year|which year|what date|in what year|since when|until when|how long ago)\b",
    re.I,
)
#: people a "name of the ..." question may ask for (an office, a kind of person); "the name of the
#: project / standard / climate" asks for a name that is not a person's, so no person gate applies
_PERSON_NOUN = (
    r"(head|chief|chair|chairman|chairwoman|chairperson|director|leader|minister|commander|secretary|coordinator|president|premier|"
    r"governor|officer|official|spokesman|spokeswoman|spokesperson|ambassador|judge|justice|person|man|woman|individual|founder|"
    r"author|writer|inventor|king|queen|emperor|empress|pope|prince|princess|architect|general|mayor|senator|ceo|owner|"
    r"manager|chancellor|commissioner|inspector|superintendent|deputy|agent|informant|analyst|soldier|militant|terrorist|suspect|"
    r"attacker|bomber|gunman|victim|journalist|reporter|father|mother|son|daughter|wife|husband|brother|sister)s?"
)
_PERSON_Q = re.compile(
    r"\bnames? of (?:(?:the|a|an|this|that|its|their|his|her)\s+)?(?:[\w'’-]+\s+){0,3}?" + _PERSON_NOUN + r"\b|\bwho (is|are|was|were) the\b|\bwho (chairs|leads|heads|runs|directs|commands|is (the )?(current )?(head|chief|chair|chairman|director|leader|minister|"
    r"commander|secretary|coordinator|in charge))\b|\b(name of the|who is) (head|chief|chair|director|leader|minister)\b",
    re.I,
)
# two or more capitalised words in a row (not acronyms), or a title followed by a capitalised name
_PERSON_A = re.compile(
    r"\b(?:Mr|Mrs|Ms|Dr|Gen|Lt|Col|Maj|Brig|Prof|Justice)\.?\s+[A-Z][a-z]+|"
    r"\b(?:Minister|Director|General|Chairman|Chief|Governor|Secretary|President)\s+[A-Z][a-z]+|"
    r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+\s+(?:[A-Z][a-z]+\s+)*[A-Z][a-z]+\b"
)
# "according to the X", "does the CTD editorial say": the source of an answer, not its content
_ATTRIBUTION = re.compile(
    r",?\s*\baccording to (the )?[^,?.;]+|"
    r"\b(in|does|do|did|is|are)?\s*(the|this|that|each|both)\s+([\w-]+\s+){0,2}(editorials?|reports?|documents?|articles?|texts?|papers?|writers?|authors?)\b"
    r"(\s+(say|says|said|state|states|argue|argues|mention|mentions|suggest|suggests|claim|claims|describe|describes))?(\s+(that|about|is|are|was|were))?",
    re.I,
)
_NUMBER_A = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|"
    r"eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
    r"hundred|thousand|million|billion|dozen|dozens|half|quarter|single|both|twice|thrice|double|triple)\b",
    re.I,
)
_DATE_A = re.compile(
    r"\b(1\d{3}|20\d\d)s?\b|\b\d{1,2}(st|nd|rd|th) century\b|\bcentur(y|ies)\b|\b(jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\.?\s+\d{1,2}\b|\b(january|february|march|april|may|june|july|august|september|october|november|"
    r"december|last (week|month|year)|next (week|month|year)|yesterday|today|recently|within \d+ (days|weeks|months))\b",
    re.I,
)
# a name: capitalised words (joined by of/and/for/on), dotted acronyms ("U.S.") kept whole
_NAME_WORD = r"(?:(?:[A-Z]\.){2,}|[A-Z][\w’'-]*)"
_ENTITY = re.compile(rf"\b{_NAME_WORD}(?:\s+(?:(?:of|and|for|on)\s+(?:the\s+)?)?{_NAME_WORD})*")
_WHO = re.compile(r"^\W*(who|whom|whose)\b|\bwho\b", re.I)
_WHERE = re.compile(r"\bwhere\b|\bwhat (country|city|place|region|province|state|town)\b|\bin which (country|city|place|region)\b", re.I)
_WHY = re.compile(r"\bwhy\b|\bfor what reason\b|\bwhat (caused|led to)\b", re.I)
_NAME_A = re.compile(r"(?<!^)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*|\b(?:[A-Z]\.){2,}|\b[A-Z]{2,}\b")
_PLACE_A = re.compile(r"\b(in|at|from|near|to)\s+(the\s+)?[A-Z]")
_REASON_A = re.compile(r"\b(because|due to|since|as a result|so that|in order to|to avoid|led to|caused|owing to|reason)\b", re.I)


@dataclass(frozen=True)
class QuestionAnalysis:
    text: str
    terms: tuple[str, ...]
    entities: tuple[str, ...]
    answer_type: str | None
    content_terms: frozenset[str] = field(default_factory=frozenset)


_YES_NO = re.compile(r"^\W*(is|are|was|were|has|have|had|does|do|did|can|could|should|will|would|may|might)\b", re.I)
_HOW_MANNER = re.compile(r"\bhow\b(?!\s+(many|much|long|large|big|old|far|often|soon|high|tall|wide)\b)", re.I)


def explanatory(question: str) -> bool:
    """A question answered by a clause or a whole sentence rather than a short span: why, how (not
    "how many"), yes/no, or what a document says ("does the CTD editorial say"). SQuAD 2.0, the
    reader's training data, has few of them, so its no-answer score is not calibrated for them."""
    if _WHY.search(question) or _HOW_MANNER.search(question) or _YES_NO.search(question):
        return True
    # naming its source ("according to X", "the editorial") makes a question ask what the source
    # says, unless its question word asks for a value ("According to the report, who heads X?")
    return bool(_ATTRIBUTION.search(question)) and not asks_value_word(question)


_WH_WORD = re.compile(r"\b(what|who|whom|whose|when|where|which|how(?:\s+(?:many|much|long|old|often|far))?)\b", re.I)


def asks_value_word(question: str) -> bool:
    """Whether the question's first question word asks for a value: who, when, where, which, how many..."""
    m = _WH_WORD.search(question)
    return m is not None and m.group(1).lower() not in ("what", "how")


_DEFINITION_Q = re.compile(r"^\W*what\s+(?:is|are)\s+(?:an?\s+|the\s+)?(?P<term>[^?,;]{2,80}?)\s*\??\s*$", re.I)
_NOT_A_TERM = re.compile(r"\b(of|for|name|number|amount|size|date|year|reason|purpose|role|goal|aim|difference|way|who|which|that|does|do|did|is|are)\b", re.I)


def defined_term(question: str) -> str | None:
    """"What is the hybrid security model in KP?" -> "hybrid security model in KP": a question asking
    what something is, answered by the sentence that describes it (often in a clause: "..., which
    substitutes police for troops"); None for "what is the name / number / role of X" and the like."""
    m = _DEFINITION_Q.search(question)
    if not m or _NOT_A_TERM.search(m.group("term")):
        return None
    return m.group("term").strip()


def answer_type(question: str) -> str | None:
    if _PERSON_Q.search(question):
        return PERSON
    if _DATE_Q.search(question):
        return DATE
    if _NUMBER_Q.search(question):
        return NUMBER
    return None


def wh_kind(question: str) -> str | None:
    """The answer kind a question asks for, finer than `answer_type` (features, not gates)."""
    kind = answer_type(question)
    if kind:
        return kind
    if _WHO.search(question):
        return NAME
    if _WHERE.search(question):
        return PLACE
    if _WHY.search(question):
        return REASON
    return None


#: "who heads / leads / chairs X": the answer sentence names a person *in that role*
_ROLE_Q = re.compile(r"\bwho (heads|leads|chairs|runs|directs|commands|is (the )?(current )?(head|chief|chair|chairman|director|leader|commander|in charge))\b", re.I)
_ROLE_A = re.compile(
    r"\b(head(s|ed|ing)?|lead(s|er|ing)?|led by|chair(s|ed|man|woman|person)?|chief|director|directs|directed|commander|commands|"
    r"in charge|run by|runs|ran|heads? of|appointed|named)\b",
    re.I,
)


#: "the name of the federal interior minister", "who is the senior military officer": an office
#: and the word that says which one ("interior", "military"); generic words do not say which
_TITLE_Q = re.compile(
    r"\b(?:names? of|who (?:is|was|are|were)) the ((?:[a-z-]+\s+){0,3})"
    r"(minister|secretary|director|chief|chairman|chairperson|commander|officer|governor|spokesperson|spokesman|ambassador|mayor|president)s?\b",
    re.I,
)
_GENERIC_MODIFIER = {"current", "former", "new", "then", "senior", "junior", "federal", "provincial", "national", "top", "first", "last", "acting", "deputy"}


def office_asked(question: str) -> tuple[str, str | None] | None:
    """(office, the word that says which one) for "name of the federal interior minister"-style
    questions: ('minister', 'interior'); None when the question names no office."""
    m = _TITLE_Q.search(question)
    if not m:
        return None
    which = [w for w in m.group(1).lower().split() if w not in _GENERIC_MODIFIER]
    return m.group(2).lower(), (which[-1] if which else None)


_ACRONYM_Q = re.compile(
    r"(?i:\bwhat\s+(?:does|do|did)\s+(?:the\s+)?(?:acronym\s+|abbreviation\s+)?)([A-Z][A-Za-z0-9&]*[A-Z][A-Za-z0-9&]*)(?i:\s+stands?\s+for\b)"
    r"|(?i:\bwhat\s+is\s+)([A-Z][A-Za-z0-9&]*[A-Z][A-Za-z0-9&]*)(?i:\s+short\s+for\b)"
    r"|(?i:\b(?:full\s+form|full\s+name|expansion)\s+of\s+(?:the\s+)?)([A-Z][A-Za-z0-9&]*[A-Z][A-Za-z0-9&]*)\b"
)


def acronym_asked(question: str) -> str | None:
    """"What does CSM stand for?" -> "CSM" (also "what is X short for", "the full form of X")."""
    m = _ACRONYM_Q.search(question)
    return next((g for g in m.groups() if g), None) if m else None


def defines(sentence: str, acronym: str, document_text: str = "") -> bool:
    """Whether a sentence says what `acronym` stands for: it holds the expansion the document defines
    for it ("National Intelligence Fusion and Threat Assessment Centre (NIFTAC)"), or says so in words
    ("CSM stands for ..."). A sentence that only uses the acronym does not."""
    low = sentence.lower()
    if any(a.upper() == acronym.upper() and e.lower() in low for a, e in defined_acronyms(document_text or sentence)):
        return True
    return bool(re.search(rf"(?<![\w-]){re.escape(acronym)}s?(?![\w-])[^.;]{{0,20}}\b(stands? for|short for|abbreviation|acronym)\b", sentence))


def satisfies_role(question: str, sentence: str) -> bool:
    """For "who heads X": the sentence names a person and a heading / leading role; for "the name
    of the interior minister": the sentence names that office ("interior" and "minister"); else True."""
    if _ROLE_Q.search(question) and not (_ROLE_A.search(sentence) and _PERSON_A.search(sentence)):
        return False
    office = office_asked(question)
    if office is not None:
        title, which = office
        low = sentence.lower()
        if not re.search(rf"\b{title}s?\b", low) or (which is not None and not re.search(rf"\b{re.escape(which)}\b", low)):
            return False
    return True


_BODY = re.compile(
    r"\b[A-Z]{2,}[a-z]?\b|\b(?:[A-Z][\w’'-]+\s+(?:(?:of|for|and|on)\s+)?){1,6}(?:Agency|Unit|Cell|Authority|Department|Centre|Center|Board|"
    r"Committee|Council|Ministry|Directorate|Institute|Commission|Bureau|Office|Force|Service|Division)\b"
)


def names_other_body(sentence: str, asked: tuple[str, ...], document_text: str = "") -> bool:
    """Whether a sentence names an organisation (an acronym, or "... Agency / Unit / Cell ...") and
    none of those it names is one the question asks about: "the director of the FMU" is not answered
    by "Amara Osei has led the JICC"."""
    bodies = [m.group(0) for m in _BODY.finditer(sentence)]
    if not bodies or not asked:
        return False
    return not any(mentions(e, set(terms(b)), document_text) for b in bodies for e in asked)


_ORDINAL_Q = re.compile(r"\b(first|founding|inaugural|last|previous|former|outgoing)\s+([\w-]+\s+){0,2}?(head|chief|chair|chairman|chairperson|director|leader|minister|commander|secretary|coordinator|president|governor)", re.I)
_ORDINAL_A = {
    "first": r"\b(first|found(ing|er|ed)|inaugural|initial(ly)?|original(ly)?)\b",
    "last": r"\b(last|previous(ly)?|former(ly)?|outgoing|predecessor|until|retired|stepped down)\b",
}


def ordinal_asked(question: str) -> str | None:
    """"Who was the first director of X" -> 'first'; "the former / previous head" -> 'last'; else None."""
    m = _ORDINAL_Q.search(question)
    if not m:
        return None
    return "first" if m.group(1).lower() in ("first", "founding", "inaugural") else "last"


def says_ordinal(text: str, which: str) -> bool:
    """Whether a passage says which holder of an office it names (the first one, a former one)."""
    return bool(re.search(_ORDINAL_A[which], text, re.I))


def names_person_at(sentence: str, start: int, end: int) -> bool:
    """Whether a person's name (two capitalised words, or a title and a name) overlaps
    sentence[start:end] widened to whole words (hyphenated compounds whole: "Islamabad-based")."""
    while start > 0 and (sentence[start - 1].isalnum() or sentence[start - 1] in "-’'"):
        start -= 1
    while end < len(sentence) and (sentence[end].isalnum() or sentence[end] in "-’'"):
        end += 1
    return any(m.start() < end and m.end() > start for m in _PERSON_A.finditer(sentence))


def satisfies_type(sentence: str, kind: str | None) -> bool:
    if kind == NAME:
        return bool(_NAME_A.search(sentence))
    if kind == PLACE:
        return bool(_PLACE_A.search(sentence))
    if kind == REASON:
        return bool(_REASON_A.search(sentence))
    if kind == PERSON:
        return bool(_PERSON_A.search(sentence))
    if kind == NUMBER:
        return bool(_NUMBER_A.search(sentence))
    if kind == DATE:
        return bool(_DATE_A.search(sentence))
    return True


def _name_part(word: str) -> str:
    """'CTD-related' -> 'CTD': in a hyphenated compound only the capitalised parts name something."""
    if "-" not in word:
        return word
    return "-".join(p for p in word.split("-") if p[:1].isupper())


def entities(question: str) -> tuple[str, ...]:
    """Capitalised names and acronyms in the question (not words capitalised only because they
    start it: 'Besides', 'What')."""
    out: list[str] = []
    lead = len(question) - len(question.lstrip(" \"'“‘("))
    for m in _ENTITY.finditer(question):
        words = [w for w in (_name_part(w) for w in m.group(0).split()) if w]
        # drop leading question/stop words that are capitalised only because they start the sentence
        while words and (words[0].lower() in _QUESTION_WORDS or words[0].lower() in STOPWORDS):
            words = words[1:]
        while words and words[-1].lower() in {"of", "and", "for", "on", "the"}:
            words = words[:-1]
        if m.start() == lead and len(words) == 1 and words[0] == m.group(0).split()[0] and not _acronym_like(words[0]):
            continue  # a lone sentence-initial word is capitalised by position, not as a name
        if words:
            ent = re.sub(r"(?<=[^\W\d_])[’']s?$", "", " ".join(words))
            if ent and ent.lower() not in STOPWORDS:
                out.append(ent)
    return tuple(dict.fromkeys(out))


def _acronym_like(word: str) -> bool:
    return sum(ch.isupper() for ch in word) >= 2


def focus(question: str) -> str:
    """The question without attribution ("according to the report", "does the editorial say")."""
    stripped = " ".join(_ATTRIBUTION.sub(" ", question).split())
    return stripped if len(terms(stripped)) >= 1 else question


def analyze(question: str) -> QuestionAnalysis:
    """Entities and answer type from the whole question; scoring terms from its focus."""
    core = focus(question)
    return QuestionAnalysis(
        text=core,
        terms=tuple(terms(question)),
        entities=entities(question),
        answer_type=answer_type(question),
        content_terms=frozenset(terms(core)),
    )


_ACRONYM_DEF = re.compile(r"((?:[A-Z][\w’'-]*\s+(?:(?:of|and|for|the|on)\s+)?){1,9})\(([A-Z][A-Za-z]{1,9})\)")


@lru_cache(maxsize=256)
def defined_acronyms(text: str) -> tuple[tuple[str, str], ...]:
    """("NIFTAC", "National Intelligence Fusion and Threat Assessment Centre") pairs defined in a text."""
    pairs: list[tuple[str, str]] = []
    for m in _ACRONYM_DEF.finditer(text):
        words, acro = m.group(1).split(), m.group(2)
        caps = [w for w in words if w[0].isupper()]
        # keep the shortest tail of capitalised words whose initials spell the acronym
        for i in range(len(caps)):
            initials = "".join(w[0] for w in caps[i:]).upper()
            if initials == acro.upper().rstrip("S") or initials == acro.upper():
                pairs.append((acro, " ".join(words[words.index(caps[i]) :])))
                break
    return tuple(pairs)


def entity_variants(entity: str, passage_text: str = "") -> list[frozenset[str]]:
    """Term sets any of which, found in a passage, counts as mentioning the entity."""
    low = entity.lower()
    variants = {low}
    for group in KNOWN_ALIASES:
        if low in group or low.rstrip("s") in group:
            variants.update(group)
    for acro, expansion in defined_acronyms(passage_text):
        if low in (acro.lower(), acro.lower().rstrip("s"), expansion.lower()):
            variants.update({acro.lower(), expansion.lower()})
    out = []
    for v in variants:
        ts = frozenset(terms(v))
        if ts:
            out.append(ts)
    return out


def mentions(entity: str, passage_terms: set[str], passage_text: str = "") -> bool:
    return any(v <= passage_terms for v in entity_variants(entity, passage_text))
