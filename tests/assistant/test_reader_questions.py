"""The span reader on the kinds of question SQuAD 2.0 has few of (why, how, yes/no, what a document
says), on offices ("the name of the interior minister") and on person answers, with the shipped
parameters and the shipped corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answer.question import acronym_asked, defines, explanatory, names_person_at, office_asked, satisfies_role


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Why did NACTA struggle with CTD integration?", True),
        ("How do the two editorials see the role of the police in counter-terrorism changing?", True),
        ("Has the idea of a national CTD been assessed?", True),
        ("What does the CTD editorial say has to be fixed before NACTA can be reorganised?", True),
        ("How many CTDs are there?", False),
        ("What does NIFTAC stand for?", False),
        ("Who heads NACTA?", False),
    ],
)
def test_explanatory_questions(question: str, expected: bool) -> None:
    assert explanatory(question) is expected


def test_an_office_asked_must_be_the_office_the_sentence_names() -> None:
    q = "What is the name of the federal interior minister who spoke of restructuring NACTA?"
    assert office_asked(q) == ("minister", "interior")
    assert office_asked("Who is the current prime minister of Pakistan?") == ("minister", "prime")
    assert office_asked("What does NACTA do?") is None
    assert not satisfies_role(q, "The cabinet, which is led by Chief Minister Ali Amin Khan Gandapur, approved it.")
    assert satisfies_role(q, "Interior Minister Mohsin Naqvi said NACTA would be restructured.")


def test_a_person_answer_is_a_name_not_a_fragment_of_a_compound() -> None:
    s = "The document, produced by the Islamabad-based Pakistan Institute for Peace Studies, identifies shortcomings."
    i = s.index("Islamabad")
    assert not names_person_at(s, i, i + len("Islamabad"))
    t = "The cabinet, which is led by Chief Minister Ali Amin Khan Gandapur, approved it."
    i = t.index("Ali")
    assert names_person_at(t, i, i + len("Ali Amin Khan Gandapur"))


def test_what_an_acronym_stands_for_needs_the_acronym_or_its_expansion() -> None:
    assert acronym_asked("What does CSM stand for in Khyber Pakhtunkhwa's security plan?") == "CSM"
    assert acronym_asked("What does the acronym NIFTAC stand for?") == "NIFTAC"
    assert acronym_asked("What is the full form of NAP?") == "NAP"
    assert acronym_asked("What does the CTD do?") is None
    assert acronym_asked("What does Pakistan stand for?") is None
    doc = "The National Action Plan (NAP) had twenty points. Later the National Action Plan lost emphasis. NAP was cut."
    assert defines("The National Action Plan (NAP) had twenty points.", "NAP", doc)
    assert defines("Later the National Action Plan lost emphasis.", "NAP", doc)
    assert not defines("Khyber Pakhtunkhwa also approved a hybrid security model last month.", "CSM", doc)
    assert not defines("The SNAP programme grew.", "NAP", doc)
    # using an acronym is not saying what it stands for
    assert not defines("NAP was cut.", "NAP", doc)
    assert not defines("The apex committee approved CSM will provide police with weapons.", "CSM", "The apex committee approved CSM will provide police with weapons.")
    assert defines("CSM stands for Comprehensive Security Model.", "CSM")


@pytest.fixture
def reader(corpus_store: Path, embedder):  # type: ignore[no-untyped-def]
    from assistant.api import Assistant
    from assistant.config import Settings

    a = Assistant(Settings(store=corpus_store, answer_scorer="reader"), embedder)
    yield a
    a.close()


def test_why_question_on_the_editorials_is_answered_with_its_passage(reader) -> None:  # type: ignore[no-untyped-def]
    ans = reader.ask("Why did NACTA struggle with CTD integration?")
    assert not ans.refused and ans.citations
    c = ans.citations[0]
    assert c.quote == reader.document(c.doc_id).text[c.start : c.end]
    assert "NACTA" in c.quote and "integrat" in c.quote


@pytest.mark.parametrize(
    "question",
    [
        "Why did the Roman Empire fall?",
        "How do bees make honey?",
        "Who are the authors of the Pakistan Institute for Peace Studies report on CTDs?",
        "What is the name of the federal interior minister who spoke of restructuring NACTA?",
        "What does CSM stand for in Khyber Pakhtunkhwa's security plan?",
    ],
)
def test_questions_the_editorials_do_not_answer_are_refused(reader, question: str) -> None:  # type: ignore[no-untyped-def]
    ans = reader.ask(question)
    assert ans.refused, (question, ans.answer)


def test_an_it_that_announces_what_follows_points_at_nothing_before_it() -> None:
    from assistant.answer.compose import POINTS_BACK

    assert not POINTS_BACK.search("It is a good move for the government to create NIFTAC within NACTA.")
    assert not POINTS_BACK.search("It is unclear how they would align with NIFTAC's goals.")
    assert POINTS_BACK.search("It was set up in 2016 to bring the agencies under one roof.")
    assert POINTS_BACK.search("It flagged 312 transactions in the first half of 2024.")


def test_what_an_acronym_stands_for_quotes_only_its_definition(reader) -> None:  # type: ignore[no-untyped-def]
    ans = reader.ask("What does NIFTAC stand for?")
    assert not ans.refused
    assert len(ans.citations) == 1, [c.quote for c in ans.citations]
    assert "National Intelligence Fusion and Threat Assessment Centre (NIFTAC)" in ans.citations[0].quote


def test_what_is_x_asks_for_the_sentence_describing_x() -> None:
    from assistant.answer.question import defined_term

    assert defined_term("What is the hybrid security model in KP?") == "hybrid security model in KP"
    assert defined_term("What are CTDs?") == "CTDs"
    for q in ("What is the capital of France?", "What is the name of the minister?", "What is the risk if threats are not contained?"):
        assert defined_term(q) is None, q


def test_what_is_x_answered_by_the_sentence_describing_it(reader) -> None:  # type: ignore[no-untyped-def]
    ans = reader.ask("What is the hybrid security model in KP?")
    assert not ans.refused and "substitutes police for security troops" in ans.citations[0].quote
    assert reader.ask("What is the Kestrel protocol?").refused


def test_the_name_of_a_thing_is_not_a_persons_name() -> None:
    """"The name of the minister / officer" asks for a person; "the name of the project / standard"
    does not, so the person gates (a name at the short answer) do not apply to it."""
    from assistant.answer.question import PERSON, answer_type

    assert answer_type("What is the name of the senior military officer chosen to head NACTA?") == PERSON
    assert answer_type("What is the name of the minister?") == PERSON
    assert answer_type("What was the name of the project to create a geographical database?") != PERSON
    assert answer_type("What is the name of the standard related to glass in building?") != PERSON


def test_a_short_sentence_inside_a_paragraph_is_no_heading(tmp_path: Path, make_assistant) -> None:  # type: ignore[no-untyped-def]
    """Only a line of its own can be a heading: "Common materials include stone and cement." in a
    paragraph answers, and the standalone "Leadership and budget." line never does."""
    doc = tmp_path / "docs" / "building_note.txt"
    doc.parent.mkdir()
    doc.write_text(
        "Building notes\n\nLeadership and budget.\n\n"
        "The Quetta depot was rebuilt in 2021 after the floods damaged its walls. Common thermal mass materials include stone, cement and water. "
        "INGRES was started as a project using funding allocated for a geographical database.\n",
        encoding="utf-8",
    )
    a = make_assistant(answer_scorer="reader")
    a.ingest([doc.parent])
    ans = a.ask("What are typical thermal mass materials?")
    assert not ans.refused and "stone, cement and water" in ans.citations[0].quote
    ans = a.ask("What was the name of the project funded for a geographical database?")
    assert not ans.refused and "INGRES" in ans.citations[0].quote
    assert all("Leadership and budget" not in c.quote for c in a.ask("What does the note say about leadership and budget?").citations)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When was NACTA established?", "date"),
        ("What do the two reviews say about who took charge and when?", "date"),
        ("In what year was the truce agreed?", "date"),
        # "when" as a conjunction asks for no date
        ("Which points were removed from the National Action Plan when it was cut from twenty to fourteen?", None),
        ("What are the small lines left on paper when handmade in a mould?", None),
        ("When the new university opens, how many institutes will there be?", "number"),
        # "a great number of what ..." asks for a kind, not a number
        ("A great number of what type of buildings still remain?", None),
        ("What is the number of CTDs in Punjab?", "number"),
    ],
)
def test_when_and_number_of_ask_for_a_date_or_number_only_as_question_words(question: str, kind: str | None) -> None:
    from assistant.answer.question import answer_type

    assert answer_type(question) == kind


def test_a_question_naming_its_source_asks_a_value_when_its_question_word_does() -> None:
    """"According to the report, who heads X?" asks for a person (the reader's threshold applies);
    "What does the editorial say about X?" asks what the document says (a clause or a sentence)."""
    from assistant.answer.question import explanatory

    assert not explanatory("According to the report, who heads the agency?")
    assert not explanatory("Who showed up on the editorial floor of the Independent?")
    assert not explanatory("How many units does the review count, according to the editorial?")
    assert explanatory("What does the CTD editorial say has to be fixed?")
    assert explanatory("According to the think tank, what do CTDs lack clarity on?")


BORDER_TRADE = """Border Trade Review

The perception that the capital ignores the border districts has grown since the checkpoints closed. Local councils may lose public trust because of this view, particularly in towns that depend on trade. The review also recommends removing the informal toll posts along the highway. They charge fees that push traders towards smuggling routes. The review was published in May 2024.
"""


def test_a_reason_given_elsewhere_brings_its_sentence_along(tmp_path: Path, make_assistant) -> None:  # type: ignore[no-untyped-def]
    """A why-answer whose reason is a pointer ("because of this view") brings the sentence it points
    at; one that states no reason brings the next sentence when that one points back ("They ...")."""
    from assistant.answer.compose import leans_back

    assert leans_back("Police officers may become even more disheartened because of this view.")
    assert leans_back("This was the first time.") and not leans_back("The review was published in May 2024.")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "border_trade.txt").write_text(BORDER_TRADE, encoding="utf-8")
    a = make_assistant(answer_scorer="reader")
    a.ingest([docs])
    ans = a.ask("Why might local councils lose public trust?")
    assert "the capital ignores the border districts" in ans.answer and len(ans.citations) == 2
    ans = a.ask("Why does the review recommend removing the informal toll posts?")
    assert "push traders towards smuggling" in ans.answer
    # a sentence with its own reason, or a question that is no why-question, brings nothing more
    assert "smuggling" not in a.ask("What does the review recommend removing?").answer
