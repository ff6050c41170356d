"""The README's console example is what a new user sees: each `ct-assistant` command in it is run
against a fresh store of the shipped corpus and its output compared line by line."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.conftest import CORPUS, ROOT, run_cli


def console_examples() -> list[tuple[list[str], str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```console\n(.*?)```", text, re.S)
    assert block, "README has no console example"
    examples: list[tuple[list[str], str]] = []
    for chunk in re.split(r"^\$ ", block.group(1), flags=re.M)[1:]:
        command, _, output = chunk.partition("\n")
        examples.append((shlex.split(command), output.strip()))
    return examples


@pytest.mark.slow
def test_readme_console_example_matches_what_the_cli_prints(tmp_path: Path) -> None:
    examples = console_examples()
    assert [argv[:2] for argv, _ in examples] == [["ct-assistant", "ingest"], ["ct-assistant", "ask"], ["ct-assistant", "ask"]]
    store = tmp_path / "store"
    for argv, expected in examples:
        args = [str(CORPUS) if a == "data/corpus" else str(store) if a == "data/store" else a for a in argv[1:]]
        # the refusal prints scores, which move by ~0.01 with the precision (`auto` = int8 on VNNI CPUs): pin fp32
        r = run_cli(*args, env={"CT_ASSISTANT_EMBED_PRECISION": "fp32"})
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == expected, f"README example out of date for: {' '.join(argv)}"
        assert r.stderr.strip() == "", f"unexpected stderr for {' '.join(argv)}: {r.stderr}"
