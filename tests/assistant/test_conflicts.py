"""Sources that disagree, from the reader's short answers (pure: candidates built by hand)."""

from __future__ import annotations

from assistant.answer.conflicts import disagreeing, value_kind
from assistant.answer.features import Candidate
from assistant.text.lexical import terms

Q = "How many crossing points does the border agency operate?"


def cand(doc: str, text: str, answer: str, prob: float, lex: float = 0.3, start: int = 0) -> Candidate:
    a = text.index(answer)
    return Candidate(doc_id=doc, chunk_id=doc, start=start, end=start + len(text), text=text, rank=0,
                     terms=frozenset(terms(text)), lex=lex, prob=prob, span=(start + a, start + a + len(answer)))


def test_value_kinds() -> None:
    assert value_kind("40,000") == value_kind("fourteen") == value_kind("Twelve") == "number"
    assert value_kind("Treaty of Versailles") == value_kind("Barbara Sommer") == "name"
    assert value_kind("assess pertinent intelligence") is None
    # a short name before the common noun it names
    assert value_kind("Kalb tribe") == value_kind("AIDS epidemic") == "name"


def test_the_same_claim_with_another_value_in_another_document_is_a_rival() -> None:
    a = cand("a", "The agency operates 23 crossing points along the frontier.", "23", 0.9)
    b = cand("b", "The agency operates 31 crossing points along the frontier.", "31", 0.5)
    # the question shares few words with them (lex 0.3), the sentences share all but the answer
    assert disagreeing(Q, a, [a, b], lambda c: c.prob, 0.34, 1.0) is b


def test_a_document_that_agrees_in_its_best_sentence_is_not_a_rival_through_another() -> None:
    a = cand("a", "The agency operates 23 crossing points along the frontier.", "23", 0.9)
    b_same = cand("b", "The agency operates 23 crossing points along the frontier.", "23", 0.9)
    b_other = cand("b", "The agency operates 9 fenced crossing points along the frontier.", "9", 0.6, start=100)
    assert disagreeing(Q, a, [a, b_same, b_other], lambda c: c.prob, 0.34, 1.0) is None


def test_two_phrases_are_two_points_not_a_disagreement() -> None:
    q = "What skills do CTDs lack?"
    a = cand("a", "CTDs lack the skills to assess pertinent intelligence.", "assess pertinent intelligence", 0.9, lex=0.6)
    b = cand("b", "CTDs lack the skills to build a valid method for cooperation.", "valid method for cooperation", 0.8, lex=0.6)
    assert disagreeing(q, a, [a, b], lambda c: c.prob, 0.34, 1.0) is None


def test_a_rival_below_the_threshold_is_not_an_answer() -> None:
    a = cand("a", "The agency operates 23 crossing points along the frontier.", "23", 0.9)
    b = cand("b", "The agency operates 31 crossing points along the frontier.", "31", 0.2)
    assert disagreeing(Q, a, [a, b], lambda c: c.prob, 0.34, 1.0) is None


def test_figures_are_compared_not_the_words_around_them() -> None:
    """"$234 million" and "54 million" disagree though both say million; "twenty-three" and "23"
    agree; "eighty" and "75th year of age" disagree, whatever the question's wording."""
    from assistant.answer.conflicts import _same_value, numbers_in

    assert numbers_in("$234 million") == {"234"} and numbers_in("twenty-three posts") == {"23"} and numbers_in("1,200") == {"1200"}
    assert not _same_value("What dollar amount of chocolate does New York export?", "$234 million", "54 million")
    assert not _same_value("At what age were bishops required to retire?", "eighty", "75th year of age")
    assert _same_value("How many crossing points are there?", "twenty-three", "23")
    assert _same_value("Who leads it?", "Edward Heath", "Heath")


def test_answers_are_compared_by_what_they_do_not_share() -> None:
    """One answer is the other when what it states is part of the other's; sharing a word (a title,
    the noun both name) is not agreeing; an acronym is its expansion where the text defines it."""
    from assistant.answer.conflicts import _same_value

    assert not _same_value("What tribe did Muawiyah's wife belong to?", "Kalb tribe", "Hind tribe")
    assert not _same_value("Who approved the miracle?", "Pope John Paul II", "Pope Francis")
    assert not _same_value("On what date did he arrive?", "5 January 1955", "8 January 1955")
    assert _same_value("On what date did he arrive?", "January 1955", "5 January 1955")
    assert not _same_value("When did he arrive?", "5 January 1955", "5 March 1955")
    defined = "The National Border Management Agency (NBMA) oversees the frontier."
    assert _same_value("Which body leads?", "NBMA", "the National Border Management Agency", defined)
    assert not _same_value("Which body leads?", "NBMA", "the National Border Management Agency")
