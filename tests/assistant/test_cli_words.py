"""What the CLI's text output says (issue 20, issue 18 item 5): the reader's short answer marked
inside the quoted sentence, a refusal naming the filters it searched under."""

from __future__ import annotations

from pathlib import Path

from assistant.cli.common import format_answer, plural
from assistant.types import Answer, Citation, Filters
from tests.conftest import run_cli

QUOTE = "According to an official statement, the cabinet authorized Rs567.7 million for police equipment purchases."


def _answer(**citation: object) -> Answer:
    c = Citation(n=1, doc_id="002_x", source="/srv/docs/x.txt", title="NIFTAC and NACTA", chunk_id="c1", quote=QUOTE, start=100,
                 end=100 + len(QUOTE), **citation)  # type: ignore[arg-type]
    return Answer(question="How much?", answer=QUOTE + " [1]", refused=False, mode="extractive", citations=[c])


def test_short_answer_is_marked_inside_the_quote() -> None:
    start = QUOTE.index("Rs567.7")
    ans = _answer(answer_start=start, answer_end=start + len("Rs567.7 million"))
    assert ans.citations[0].short_answer == "Rs567.7 million"
    text = format_answer(ans.to_dict())
    assert '    "According to an official statement, the cabinet authorized **Rs567.7 million** for police equipment purchases."' in text
    # without a span (or with offsets that do not fit the quote) the quote is printed as it is
    assert f'    "{QUOTE}"' in format_answer(_answer().to_dict())
    assert f'    "{QUOTE}"' in format_answer(_answer(answer_start=5, answer_end=5000).to_dict())


def test_refusal_names_the_filters_it_searched_under() -> None:
    refused = Answer(question="q", answer="The documents don't say.", refused=True, mode="extractive", refusal_reason="no passage gives it")
    text = format_answer(refused.to_dict(), Filters(date_from="2025-01-01", doc_ids=["002_x"]))
    assert text.splitlines() == [
        "The documents don't say.",
        "(reason: no passage gives it)",
        "(searched only: documents dated 2025-01-01 or later; document 002_x)",
    ]
    assert "searched only" not in format_answer(refused.to_dict(), Filters())
    assert (plural(1, "chunk"), plural(0, "chunk"), plural(12, "chunk")) == ("1 chunk", "0 chunks", "12 chunks")


def test_cli_refusal_under_a_date_filter_says_so(corpus_store: Path) -> None:
    r = run_cli("ask", "How much did the KP cabinet authorize for police equipment?", "--store", str(corpus_store), "--date-from", "2030-01-01")
    assert r.returncode == 0, r.stderr
    assert "(searched only: documents dated 2030-01-01 or later)" in r.stdout.splitlines()
