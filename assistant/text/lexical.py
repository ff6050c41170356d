"""Terms for the lexical (BM25) index and for lexical overlap: lowercase, stop words out, stemmed.

The same function feeds the index and the queries, so what is counted is what is matched.
"""

from __future__ import annotations

import re
from functools import lru_cache

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not now of off on once only or other our ours ourselves out over
    own same she should so some such than that the their theirs them themselves then there these they
    this those through to too under until up very was we were what when where which while who whom
    why will with would you your yours yourself yourselves also s t did does shall may might must
    according whose upon via per much many""".split()
)

_WORD = re.compile(r"[^\W_]+(?:[.'’][^\W_]+)*", re.UNICODE)
#: between a letter and a digit run: rs567.7 -> rs, 567.7
_LETTER_DIGIT = re.compile(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])")
_VOWEL_OR_DIGIT = re.compile(r"[aeiouy0-9]")


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Lowercased word tokens; keeps decimals ("567.7") and splits Rs567.7 into rs, 567.7."""
    out: list[str] = []
    for m in _WORD.finditer(text.lower()):
        w = m.group(0).replace("’", "'")
        if w.endswith("'s"):
            w = w[:-2]
        if w.isalpha():  # most words: nothing to split (and no regex call; ingest tokenises every chunk)
            out.append(w)
        else:  # split letter/digit runs: rs567.7 -> rs 567.7 ; 2018-23 handled by the regex
            out.extend(p for p in _LETTER_DIGIT.split(w) if p)
    return out


def _acronym_singular(w: str) -> str:
    """CTDs -> ctd (the stemmer leaves vowel-less plurals alone)."""
    if len(w) > 2 and w.endswith("s") and not _VOWEL_OR_DIGIT.search(w[:-1]):
        return w[:-1]
    return w


def terms(text: str) -> list[str]:
    """Index/query terms: words minus stop words, stemmed."""
    ws = [_acronym_singular(w) for w in words(text) if w not in STOPWORDS]
    if not ws:
        return []
    return [t.replace(".", "_").replace("'", "") for t in _stemmer().stemWords(ws)]
