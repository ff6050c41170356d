"""Misspelled question words corrected against the store's own vocabulary (assistant/retrieve/spelling.py)."""

from __future__ import annotations

from assistant.retrieve.spelling import Speller, english_words, unknown_words, vocabulary


def test_vocabulary_counts_lowercased_words() -> None:
    counts = vocabulary(["NACTA met NACTA's board.", "The board met."])
    assert counts["nacta"] == 1 and counts["board"] == 2 and counts["met"] == 2


def test_speller_corrects_only_words_unknown_to_store_and_english() -> None:
    sp = Speller(vocabulary(["The National Counter Terrorism Authority (NACTA) coordinates intelligence agencies."]))
    fixed, fixes = sp.correct("Does NCATA share intelligance with the agencies?")
    assert fixes == {"NCATA": "NACTA", "intelligance": "intelligence"}
    assert fixed == "Does NACTA share intelligence with the agencies?"
    # an English word the documents never use is left alone (refused on its merits, not read as 'coordinates')
    assert sp.correct("When was it dissolved?") == ("When was it dissolved?", {})
    # short words are never corrected
    assert sp.suggest("NCA") is None


def test_unknown_words_skips_english_and_known() -> None:
    assert "dissolved" in english_words()
    assert unknown_words("When was NCATA dissolved?") == ["NCATA"]
    assert unknown_words("When was NCATA dissolved?", known=["ncata"]) == []


def test_ask_reads_misspelled_words_as_the_store_spells_them(corpus_assistant) -> None:  # type: ignore[no-untyped-def]
    a = corpus_assistant.ask("What was NIFTCA set up to do?")
    assert a.spelling == {"NIFTCA": "NIFTAC"}
    assert a.to_dict()["spelling"] == {"NIFTCA": "NIFTAC"}
    assert "NIFTAC" in a.contexts[0].text  # retrieval read the corrected word
    # a correctly spelled question is untouched
    assert corpus_assistant.ask("What was NIFTAC set up to do?").spelling == {}


def test_spelling_setting_off(make_assistant) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import CORPUS

    a = make_assistant(spelling=False)
    a.ingest([CORPUS])
    assert a.correct_spelling("What was NIFTCA set up to do?") == ("What was NIFTCA set up to do?", {})


def test_a_rare_english_word_typed_for_a_store_word_is_corrected() -> None:
    sp = Speller(vocabulary(["The Interior Minister, Tomas Reyes, ordered a review after severe floods."]))
    assert sp.correct("Who is the Interior Minster?") == ("Who is the Interior Minister?", {"Minster": "Minister"})
    # a real word only 26 times rarer than the store's word is the user's word ("sever ties", not "severe")
    assert sp.correct("Did they sever ties?") == ("Did they sever ties?", {})
    # a common word is never a typo, and a word the store has is never changed
    assert sp.correct("Who ordered the review?") == ("Who ordered the review?", {})
    assert "Minster" in unknown_words("Who is the Interior Minster?")
