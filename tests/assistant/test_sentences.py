from assistant.text.sentences import split_sentences


def texts(t: str) -> list[str]:
    return [t[s:e] for s, e in split_sentences(t)]


def test_spans_are_exact_slices_and_trimmed() -> None:
    t = "  First one.  Second one!\nThird?  "
    spans = split_sentences(t)
    assert [t[s:e] for s, e in spans] == ["First one.", "Second one!", "Third?"]
    assert all(not t[s].isspace() and not t[e - 1].isspace() for s, e in spans)


def test_abbreviations_decimals_initials_do_not_split() -> None:
    t = "He met Gen. Bajwa in the U.S. last year. The cabinet authorized Rs567.7 million. Next."
    assert texts(t) == ["He met Gen. Bajwa in the U.S. last year.", "The cabinet authorized Rs567.7 million.", "Next."]


def test_glued_sentences_split() -> None:
    # the corpus has full stops with no space after them
    t = "skills to assess pertinent intelligence.Furthermore, aside from the Punjab CTD, departments face problems."
    assert texts(t) == ["skills to assess pertinent intelligence.", "Furthermore, aside from the Punjab CTD, departments face problems."]


def test_closing_quotes_and_paragraphs() -> None:
    t = "CTDs “lack clarity.” They said so.\n\nNew paragraph without stop\n\nLast"
    assert texts(t) == ["CTDs “lack clarity.”", "They said so.", "New paragraph without stop", "Last"]


def test_headings_and_list_items_are_boundaries() -> None:
    t = "# Title\nBody text here.\n- item one\n- item two"
    assert texts(t) == ["# Title", "Body text here.", "- item one", "- item two"]


def test_range_restricts_to_window() -> None:
    t = "One. Two. Three."
    spans = split_sentences(t, 5, 16)
    assert [t[s:e] for s, e in spans] == ["Two.", "Three."]


def test_corpus_sentences_cover_text() -> None:
    from tests.conftest import CORPUS
    from ingest.read import read_file

    doc = read_file(CORPUS / "002_f76924cdbd8590c8.txt")
    spans = split_sentences(doc.text)
    assert len(spans) > 40
    covered = "".join(doc.text[s:e] for s, e in spans)
    assert covered.replace(" ", "") == doc.text.replace(" ", "").replace("\n", "")
