"""Misspelled question words, corrected against the store's own vocabulary before retrieval and answering.

A word is corrected only when it is unknown twice over: the store's texts do not have it and
neither does an English word list (symspellpy's frequency dictionary, 82,765 words). So "NCATA"
becomes "NACTA" and "intelligance" becomes "intelligence", while a real English word the documents
never use ("dissolved") is left alone, to be refused on its merits rather than read as a
near neighbour ("resolved"). Suggestions come from SymSpell (symspellpy: symmetric-delete
lookup, Damerau-Levenshtein distance) over the store's words weighted by their counts; at most
one edit for words of up to 5 letters, two for longer ones. The casing of the typed word is kept
(all capitals stay capitals).

One kind of real-word error is corrected too: a rare English word the store does not have that is a
store word with one letter dropped or two letters swapped, where that store word is at least
`REAL_WORD_RATIO` times as common in English ("Interior Minster" reads "Interior Minister":
minster 0.46M, minister 43.9M in the word list; "sever" is not read as "severe": 26 times).
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

log = logging.getLogger(__name__)

_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]")
#: shorter words are never corrected (too many near neighbours)
MIN_LEN = 4
#: an English word rarer than this (count in the word list) may be a typo of a store word ...
RARE = 2_000_000
#: ... that is this many times as common
REAL_WORD_RATIO = 50


@lru_cache(maxsize=1)
def english_counts() -> dict[str, int]:
    """symspellpy's English frequency dictionary: lower-case word -> count."""
    text = resources.files("symspellpy").joinpath("frequency_dictionary_en_82_765.txt").read_text(encoding="utf-8")
    return {w: int(n) for w, n in (line.split(" ", 1) for line in text.splitlines() if line)}


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """The words of symspellpy's English frequency dictionary (lower case)."""
    return frozenset(english_counts())


def _dropped_or_swapped(typed: str, word: str) -> bool:
    """`typed` is `word` with one letter left out, or with two neighbouring letters swapped."""
    if len(word) == len(typed) + 1:
        return any(word[:i] + word[i + 1 :] == typed for i in range(len(word)))
    if len(word) == len(typed):
        diff = [i for i in range(len(word)) if word[i] != typed[i]]
        return len(diff) == 2 and diff[1] == diff[0] + 1 and word[diff[0]] == typed[diff[1]] and word[diff[1]] == typed[diff[0]]
    return False


def vocabulary(texts: Iterable[str]) -> Counter[str]:
    """Lower-cased words of the texts with their counts."""
    counts: Counter[str] = Counter()
    for t in texts:
        counts.update(w.lower() for w in _WORD.findall(t))
    return counts


def _cased(like: str, word: str) -> str:
    if like.isupper():
        return word.upper()
    if like[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


class Speller:
    """Corrects question words against one vocabulary (built once; lookups are thread-safe reads)."""

    def __init__(self, counts: Counter[str]) -> None:
        from symspellpy import SymSpell

        self.counts = counts
        self._sym = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
        for word, n in counts.items():
            if len(word) >= MIN_LEN - 1:
                self._sym.create_dictionary_entry(word, n)
        self._lock = threading.Lock()

    def suggest(self, word: str) -> str | None:
        """The store word for a misspelled `word`, or None (known word, or no close one)."""
        from symspellpy import Verbosity

        low = word.lower()
        if len(low) < MIN_LEN or low in self.counts:
            return None
        if low in english_words():
            return self._real_word(word, low)
        distance = 1 if len(low) <= 5 else 2
        with self._lock:
            found = self._sym.lookup(low, Verbosity.TOP, max_edit_distance=distance, transfer_casing=False)
        if not found or found[0].distance == 0:
            return None
        return _cased(word, found[0].term)

    def _real_word(self, word: str, low: str) -> str | None:
        """A store word for a rare English `word` typed with a letter dropped or swapped, or None."""
        from symspellpy import Verbosity

        counts = english_counts()
        typed = counts.get(low, 0)
        if typed >= RARE:
            return None
        with self._lock:
            found = self._sym.lookup(low, Verbosity.ALL, max_edit_distance=1, transfer_casing=False)
        best = max(
            (f.term for f in found if f.distance == 1 and _dropped_or_swapped(low, f.term) and counts.get(f.term, 0) >= REAL_WORD_RATIO * typed),
            key=lambda t: counts[t], default=None,
        )
        return None if best is None else _cased(word, best)

    def correct(self, question: str) -> tuple[str, dict[str, str]]:
        """The question with misspelled words replaced, and {typed: corrected}."""
        fixes: dict[str, str] = {}

        def repl(m: re.Match[str]) -> str:
            new = self.suggest(m.group(0))
            if new is None:
                return m.group(0)
            fixes[m.group(0)] = new
            return new

        fixed = _WORD.sub(repl, question)
        if fixes:
            log.info("spelling: %s", ", ".join(f"{a} -> {b}" for a, b in fixes.items()))
        return fixed, fixes


def unknown_words(question: str, known: Iterable[str] = ()) -> list[str]:
    """Words of the question that may need a correction (long enough, not in `known`, and not English
    or a rare English word)."""
    counts = english_counts()
    kn = {k.lower() for k in known}
    return [w for w in _WORD.findall(question) if len(w) >= MIN_LEN and counts.get(w.lower(), 0) < RARE and w.lower() not in kn]
