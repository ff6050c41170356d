"""Misspelled question words, corrected against the store's own vocabulary before retrieval and answering.

A word is corrected only when it is unknown twice over: the store's texts do not have it and
neither does an English word list (symspellpy's frequency dictionary, 82,765 words). So "NCATA"
becomes "NACTA" and "intelligance" becomes "intelligence", while a real English word the documents
never use ("dissolved") is left alone, to be refused on its merits rather than read as a
near neighbour ("resolved"). Suggestions come from SymSpell (symspellpy: symmetric-delete
lookup, Damerau-Levenshtein distance) over the store's words weighted by their counts; at most
one edit for words of up to 5 letters, two for longer ones. The casing of the typed word is kept
(all capitals stay capitals).
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


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """The words of symspellpy's English frequency dictionary (lower case)."""
    text = resources.files("symspellpy").joinpath("frequency_dictionary_en_82_765.txt").read_text(encoding="utf-8")
    return frozenset(line.split(" ", 1)[0] for line in text.splitlines() if line)


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
        if len(low) < MIN_LEN or low in self.counts or low in english_words():
            return None
        distance = 1 if len(low) <= 5 else 2
        with self._lock:
            found = self._sym.lookup(low, Verbosity.TOP, max_edit_distance=distance, transfer_casing=False)
        if not found or found[0].distance == 0:
            return None
        return _cased(word, found[0].term)

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
    """Words of the question that may need a correction (long enough, not English, not in `known`)."""
    english = english_words()
    kn = {k.lower() for k in known}
    return [w for w in _WORD.findall(question) if len(w) >= MIN_LEN and w.lower() not in english and w.lower() not in kn]
