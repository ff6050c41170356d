"""Every `python` block of docs/llamaindex.md runs, in order, in one namespace (the `llm` blocks
with the SmolLM2 server); the page's promises are then checked on what the blocks made."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import CORPUS, ROOT

PAGE = ROOT / "docs" / "llamaindex.md"
BLOCK = re.compile(r"^```python( llm)?\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def blocks(llm: bool) -> list[str]:
    """The blocks' code, each padded with blank lines so a traceback names the page's line."""
    text = PAGE.read_text(encoding="utf-8")
    return ["\n" * text.count("\n", 0, m.start(2)) + m.group(2) for m in BLOCK.finditer(text) if bool(m.group(1)) == llm]


@pytest.fixture(scope="module")
def namespace(corpus_store: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:  # type: ignore[type-arg]
    # a copy, so the page's snippets cannot change the session's corpus store
    store = tmp_path_factory.mktemp("docs") / "store"
    shutil.copytree(corpus_store, store)
    ns = {"STORE": str(store), "NEW_STORE": str(tmp_path_factory.mktemp("docs-new") / "store"), "CORPUS": str(CORPUS)}
    yield ns
    for name in ("a", "fresh", "a_llm"):
        if name in ns:
            ns[name].close()


def test_the_page_has_snippets() -> None:
    assert len(blocks(llm=False)) >= 6 and len(blocks(llm=True)) >= 1


def test_snippets_run(namespace: dict, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[type-arg]
    for code in blocks(llm=False):
        exec(compile(code, str(PAGE), "exec"), namespace)  # noqa: S102  (the page's own snippets)
    out = capsys.readouterr().out
    assert "[1]" in out and "The documents don't say" in out
    assert namespace["reply"].metadata["standalone_question"] == "Where was NIFTAC approved?"
    assert namespace["report"].added == 2 and namespace["summary"]["questions"] == 56
    assert namespace["summary"]["llamaindex"]["mrr"] == pytest.approx(namespace["summary"]["ours"]["mrr"])
    assert namespace["result"].metric_vals_dict["hit_rate"] == 1.0


@pytest.mark.llm
def test_llm_snippets_run(namespace: dict, smollm_server: str) -> None:  # type: ignore[type-arg]
    if "niftac" not in namespace:
        for code in blocks(llm=False):
            exec(compile(code, str(PAGE), "exec"), namespace)  # noqa: S102  (the page's own snippets)
    namespace["LLM_URL"] = smollm_server
    for code in blocks(llm=True):
        exec(compile(code, str(PAGE), "exec"), namespace)  # noqa: S102  (the page's own snippets)
    r = namespace["r"]
    assert r.metadata["selector_result"].ind == 1  # the NIFTAC tool, chosen by embedding the descriptions
    for n in r.source_nodes:
        assert namespace["a_llm"].document(n.node.ref_doc_id).text[n.node.start_char_idx : n.node.end_char_idx] == n.node.text


def test_readme_llamaindex_example_runs(namespace: dict) -> None:  # type: ignore[type-arg]
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### LlamaIndex") :]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code
    ns: dict = {}  # type: ignore[type-arg]
    exec(code.group(1).replace('"data/store"', repr(namespace["STORE"])), ns)  # noqa: S102  (the page's own snippets)
    assert not ns["response"].metadata["refused"]
    node = ns["response"].source_nodes[0].node
    assert ns["a"].document(node.ref_doc_id).text[node.start_char_idx : node.end_char_idx] == node.text
    assert ns["chat"].chat_history[-2].content == "Where was it approved?"
    ns["a"].close()
