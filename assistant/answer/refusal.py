"""Why there is no answer, in words a person reads: a name the documents never mention, or what no passage says."""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.answer.question import DATE, NAME, NUMBER, PERSON, PLACE, REASON, QuestionAnalysis, mentions, wh_kind
from assistant.text.lexical import terms
from assistant.types import Context, Document

#: how far around a passage the entities a question names may appear
SCOPE_CHARS = 600
_LEAD = re.compile(r"^\W*(when|what year|which year|how much|how many|who|whom|where|why|what|which|how)\b\s*", re.I)
_AUX_DO = re.compile(r"^(did|does|do)\s+", re.I)
#: an auxiliary left inside the question ("... does Pakistan have"): no clause can be made by cutting words
_INNER_AUX = re.compile(r"\s(does|do|did)\s", re.I)
_AUX_BE_ANY = re.compile(r"^(is|are|was|were)\s+(.+)$", re.I)
_AUX_BE = re.compile(r"^(is|are|was|were)\s+(?=(the|a|an)\b)", re.I)


def readable_reason(question: str, q: QuestionAnalysis, contexts: Sequence[Context], documents: dict[str, Document]) -> str:
    """Why there is no answer, in words: a name the documents never mention, or what no passage says."""
    text = " ".join(documents[c.doc_id].text[max(0, c.start - SCOPE_CHARS) : c.end + SCOPE_CHARS] + " " + documents[c.doc_id].title for c in contexts)
    present = set(terms(text))
    doc_text = " ".join(documents[d].text for d in dict.fromkeys(c.doc_id for c in contexts))
    missing = [e for e in q.entities if not mentions(e, present, doc_text)]
    if missing:
        return f"the documents do not mention {', '.join(missing)}"
    core = q.text.strip().rstrip(" ?.!")
    m = _LEAD.match(core)
    lead = m.group(1).lower() if m else ""
    rest = _AUX_DO.sub("", core[m.end() :] if m else core)
    kind = wh_kind(question)
    if not rest or kind is None or _INNER_AUX.search(rest):
        # no clause to make ("how many X does Y have" would read badly): quote the question
        return f"no passage answers “{question.strip()}”"
    if kind == NUMBER and lead in ("how much", "how many"):
        return f"no passage says {lead} {rest}"
    if kind == NUMBER or (kind in (PERSON, NAME) and lead in ("what", "which")):
        return f"no passage gives {_AUX_BE.sub('', rest)}"
    word = {DATE: "when", PERSON: "who", NAME: "who", PLACE: "where", REASON: "why"}.get(kind)
    if word is None:
        return f"no passage answers “{question.strip()}”"
    if lead in (word, "what year", "which year", "whom"):
        be = _AUX_BE_ANY.match(rest)
        if be and word in ("when", "where", "why"):
            # "when was the board dissolved" -> "when the board was dissolved"; else quote it
            body = be.group(2).split()
            if len(body) < 2 or not body[-1].lower().endswith(("ed", "en", "wn", "lt", "ht")):
                return f"no passage answers “{question.strip()}”"
            rest = " ".join(body[:-1] + [be.group(1).lower(), body[-1]])
        return f"no passage says {word} {rest}"
    return f"no passage says {word}: “{question.strip()}”"
