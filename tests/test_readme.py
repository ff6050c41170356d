"""The README's console example is what a new user sees: each `ct-assistant` command in it is run
against a fresh store of the shipped corpus and its output compared line by line."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
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


# --- every code block of the README, as copied (issue 20 defect 1) ---------------------------------
LANGUAGES = {"bash", "console", "python", "text"}  # `text`: diagrams and listings, not commands


def readme_blocks() -> list[tuple[str, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M)]


def test_every_readme_block_says_what_it_is() -> None:
    """Each block is a command (bash, console, python: the tests below run them) or `text`."""
    blocks = readme_blocks()
    assert blocks and {lang for lang, _ in blocks} <= LANGUAGES, [lang for lang, _ in blocks]
    assert sum(lang == "python" for lang, _ in blocks) >= 2


def test_readme_make_commands_name_real_targets() -> None:
    """`make demo` / `make test` install, serve and run the whole suite, which no test can repeat
    inside the suite; `make -n` checks that each target exists and expands as written."""
    commands = [line.split("#")[0].split() for lang, body in readme_blocks() if lang == "bash" for line in body.splitlines()]
    makes = [c for c in commands if c and c[0] == "make"]
    assert [c[1] for c in makes] == ["demo", "test"]
    for c in makes:
        r = subprocess.run(["make", "-n", *c[1:]], capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert r.returncode == 0, r.stderr


@pytest.mark.slow
def test_readme_python_blocks_run_as_copied(tmp_path: Path) -> None:
    """The store is built the way the README builds it (`ct-assistant ingest data/corpus --store
    data/store`, from a folder holding `data/corpus`); then each Python block runs unchanged in a
    fresh interpreter there."""
    work = tmp_path / "work"
    shutil.copytree(CORPUS, work / "data" / "corpus")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))}
    env.pop("CT_ASSISTANT_STORE", None)
    built = subprocess.run([sys.executable, "-m", "assistant", "ingest", "data/corpus", "--store", "data/store"],
                           capture_output=True, text=True, cwd=work, env=env, timeout=600)
    assert built.returncode == 0, built.stderr
    blocks = [body for lang, body in readme_blocks() if lang == "python"]
    for body in blocks:
        r = subprocess.run([sys.executable, "-c", body], capture_output=True, text=True, cwd=work, env=env, timeout=900)
        assert r.returncode == 0, f"README block failed as copied:\n{body}\n--- stderr ---\n{r.stderr[-3000:]}"
        assert "Traceback" not in r.stderr
