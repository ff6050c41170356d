"""Sentence boundaries as character spans, so every quote is an exact slice of the text.

Handles what real editorials contain: abbreviations ("Gen.", "Rs.", "e.g."), decimals
("Rs567.7"), initials ("U.S."), closing quotes after the full stop, and the missing space
after a full stop that copy-pasted text often has ("intelligence.Furthermore").
Blank lines and list/heading lines are hard boundaries.
"""

from __future__ import annotations

import re

Span = tuple[int, int]

_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof gen lt col maj capt cdr adm sgt brig st jr sr rs no nos vs etc e.g i.e
    inc ltd co corp govt dept fig al jan feb mar apr jun jul aug sep sept oct nov dec approx est
    min max art sec para vol pp p ed eds rev hon mt ft""".split()
)

# A candidate boundary: terminal punctuation, optional closing quotes/brackets, then either
# whitespace or (for the glued case) directly an uppercase letter starting a word.
_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s|[A-Z“‘\"(]|$)")
_HARD_BREAK = re.compile(r"\n[ \t]*\n|\n(?=[ \t]*(?:[#*•\-–]|\d+[.)]\s))|(?<=\n)(?=#)")
_HEADING_LINE = re.compile(r"^[ \t]*#+[^\n]*$", re.M)


def _is_boundary(text: str, end: int, punct_start: int) -> bool:
    """Decide whether the punctuation run text[punct_start:end] closes a sentence."""
    nxt = end
    n = len(text)
    glued = nxt < n and not text[nxt].isspace()
    while nxt < n and text[nxt] in " \t\r\n":
        nxt += 1
    if nxt >= n:
        return True
    follower = text[nxt]
    if text[punct_start] == ".":
        # the word before the full stop
        j = punct_start
        while j > 0 and not text[j - 1].isspace() and text[j - 1] not in "([“\"'‘":
            j -= 1
        word = text[j:punct_start]
        if glued:
            # "intelligence.Furthermore": a lowercase word of 2+ letters glued to a Capitalised word
            return bool(re.fullmatch(r"[^\W\d_]*[a-z]{2}", word)) and bool(re.match(r"[A-Z][a-z]", text[nxt : nxt + 2]))
        if word.lower().rstrip(".") in _ABBREVIATIONS or word.lower() in _ABBREVIATIONS:
            return False
        if re.fullmatch(r"(?:[A-Za-z]\.)*[A-Za-z]", word):  # initials: U.S. / J. Smith
            return False
    if glued:
        return False
    # the next sentence starts with an uppercase letter, a digit, a quote or a bracket
    return follower.isupper() or follower.isdigit() or follower in "“‘\"'([" or not follower.isalpha()


def _blocks(text: str) -> list[Span]:
    """Split at hard breaks (blank lines, list items, headings)."""
    spans: list[Span] = []
    pos = 0
    for m in _HARD_BREAK.finditer(text):
        spans.append((pos, m.start()))
        pos = m.end()
    spans.append((pos, len(text)))
    out: list[Span] = []
    for s, e in spans:
        # a heading line ends its own block
        last = s
        for h in _HEADING_LINE.finditer(text, s, e):
            if h.start() > last:
                out.append((last, h.start()))
            out.append((h.start(), h.end()))
            last = h.end()
        out.append((last, e))
    return out


def _trim(text: str, s: int, e: int) -> Span | None:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return (s, e) if e > s else None


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentence spans (absolute offsets) of text[start:end], trimmed of surrounding whitespace."""
    end = len(text) if end is None else end
    spans: list[Span] = []
    for bs, be in _blocks(text[start:end]):
        bs += start
        be += start
        pos = bs
        for m in _END.finditer(text, bs, be):
            if _is_boundary(text, m.end(), m.start()):
                span = _trim(text, pos, m.end())
                if span:
                    spans.append(span)
                pos = m.end()
        span = _trim(text, pos, be)
        if span:
            spans.append(span)
    return spans
