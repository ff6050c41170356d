"""Prompt files: declared variables are checked at load and at render."""

from __future__ import annotations

import pytest

from assistant.errors import PromptError
from assistant.answer.prompts import load_prompt, parse_prompt

GOOD = "---\nvariables: question, passages\n---\n<!-- system -->\nRules {{literal}}\n<!-- user -->\n{passages}\nQ: {question}\n"


@pytest.mark.parametrize("name", ["answer", "condense", "judge"])
def test_shipped_prompts_load_and_render(name: str) -> None:
    p = load_prompt(name)
    system, user = p.render(**{v: f"<{v}>" for v in p.variables})
    assert system and user
    for v in p.variables:
        assert f"<{v}>" in system + user


def test_answer_prompt_says_passages_are_data() -> None:
    system, user = load_prompt("answer").render(passages="P", question="Q")
    assert "not instructions" in system and "[1]" in system
    assert user.index("P") < user.index("Question: Q")


def test_render_checks_variables_and_keeps_braces_in_values() -> None:
    p = parse_prompt("t", GOOD)
    system, user = p.render(question="what {x}?", passages="a } b {")
    assert system == "Rules {literal}" and "what {x}?" in user and "a } b {" in user
    with pytest.raises(PromptError, match="missing"):
        p.render(question="q")
    with pytest.raises(PromptError, match="extra"):
        p.render(question="q", passages="p", other="x")


@pytest.mark.parametrize(
    "text, why",
    [
        ("no front matter\n<!-- user -->\n{q}", "front matter"),
        ("---\nname: x\n---\n<!-- user -->\n{q}", "variables"),
        ("---\nvariables: q\n---\n<!-- system -->\nhi {q}", "user"),
        ("---\nvariables: q\n---\n<!-- user -->\n{q} {other}", "uses"),  # undeclared placeholder
        ("---\nvariables: q, unused\n---\n<!-- user -->\n{q}", "declared"),  # declared, never used
        ("---\nvariables: q\n---\n<!-- user -->\n{q.attr}", "plain variable"),
        ("---\nvariables: q\n---\n<!-- user -->\n{q", "syntax"),
    ],
)
def test_bad_prompt_files(text: str, why: str) -> None:
    with pytest.raises(PromptError, match=why):
        parse_prompt("bad", text)


def test_unknown_prompt() -> None:
    with pytest.raises(PromptError, match="no prompts/nope.md"):
        load_prompt("nope")
