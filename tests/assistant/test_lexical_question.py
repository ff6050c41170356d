from assistant.text.lexical import terms
from assistant.answer.question import DATE, NUMBER, analyze, defined_acronyms, mentions, satisfies_type


def test_terms_stem_drop_stopwords_and_split_amounts() -> None:
    assert terms("What is the annual budget of the Punjab CTDs?") == ["annual", "budget", "punjab", "ctd"]
    assert "567_7" in terms("authorized Rs567.7 million") and "rs" in terms("Rs567.7")
    assert terms("integrating") == terms("integration") or terms("integrating")[0].startswith("integr")


def test_answer_types() -> None:
    assert analyze("How much did the KP cabinet authorize?").answer_type == NUMBER
    assert analyze("What is the annual budget of the Punjab CTD?").answer_type == NUMBER
    assert analyze("When was the Joint Intelligence Directorate authorized?").answer_type == DATE
    assert analyze("Why did NACTA struggle?").answer_type is None
    assert satisfies_type("authorized Rs567.7 million", NUMBER)
    assert not satisfies_type("departments are facing funding problems", NUMBER)
    assert satisfies_type("authorized in 2016", DATE) and not satisfies_type("was authorized", DATE)


def test_entities_skip_question_words() -> None:
    assert analyze("What is the capital of France?").entities == ("France",)
    assert analyze("Why did NACTA struggle with CTD integration?").entities == ("NACTA", "CTD")
    assert analyze("What did the Pakistan Institute for Peace Studies find?").entities == ("Pakistan Institute for Peace Studies",)


def test_aliases_from_known_list_and_defined_acronyms() -> None:
    text = "the National Intelligence Fusion and Threat Assessment Centre (NIFTAC) within NACTA"
    assert ("NIFTAC", "National Intelligence Fusion and Threat Assessment Centre") in defined_acronyms(text)
    assert mentions("KP", set(terms("Khyber Pakhtunkhwa approved a model")))
    assert mentions("Balochistan", set(terms("attacks in Baluchistan")))
    assert mentions("NIFTAC", set(terms("National Intelligence Fusion and Threat Assessment Centre")), text)
    assert not mentions("France", set(terms(text)), text)


def test_position_capitals_and_hyphenated_compounds_are_not_entities() -> None:
    assert analyze("Besides coordination cells, what does counter-terrorism involve?").entities == ()
    assert analyze("Which CTD-related area is addressed in the plan?").entities == ("CTD",)
    assert analyze("NACTA struggles why?").entities == ("NACTA",)  # a sentence-initial acronym still counts


def test_name_questions_need_a_name() -> None:
    from assistant.answer.question import PERSON

    assert analyze("What is the name of the senior military officer chosen to head NACTA?").answer_type == PERSON
    assert analyze("Who are the coordinators at NACTA?").answer_type == PERSON
    assert not satisfies_type("the government had chosen to name a senior military officer as the head", PERSON)
    assert satisfies_type("the cabinet, which is led by Chief Minister Ali Amin Khan Gandapur", PERSON)
