"""CI gate: the main editorial set over the shipped corpus must stay above these thresholds.

Thresholds = what the extractive answerer scored when the gate was set (docs/evaluation.md),
minus a small margin (about 0.05; citation validity has none). They are regression gates for
the current system, not targets: ct_editorials.jsonl is the reported set, not a held-out one,
and nothing here was tuned on it (thresholds of the answerer are tuned on ct_dev.jsonl).
Raise them when the system gets better. Run alone with `pytest -s tests/evals/test_gate.py`
to see the metrics.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from evals import runner
from evals.dataset import load_dataset
from evals.report import metrics_table, write_reports

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
EDITORIALS = ROOT / "evals" / "datasets" / "ct_editorials.jsonl"
CONVERSATIONS = ROOT / "evals" / "datasets" / "ct_conversations.jsonl"

#: re-derived for the span reader (the default) after the second session of 2026-12-05: each gate is
#: the score then minus about 0.05 (four to five items). Measured: validity 1.000, correctness 0.786,
#: accuracy 0.768, refusal accuracy 0.912, refusal recall 1.000, answer rate 0.875, recall@5 0.943.
#: Earlier gates, set for the heuristic at dbdcbe3: correctness 0.70, accuracy 0.66, refusal accuracy
#: 0.85, refusal recall 0.74, answer rate 0.89, recall@5 0.87 (docs/evaluation.md §2).
GATES: list[tuple[str, float]] = [
    ("citation_validity", 1.0),
    ("answer_correctness", 0.74),
    ("answer_accuracy", 0.72),
    ("refusal_accuracy", 0.86),
    ("refusal_recall", 0.95),
    ("answer_rate", 0.82),
    ("recall@5", 0.89),
]
JUDGE_GATES: list[tuple[str, float]] = [("faithfulness", 0.95), ("citation_recall", 0.95)]

log = logging.getLogger(__name__)


def _judge(embedder: Any) -> Any:
    try:
        return runner.load_judge("offline", None, embedder)
    except (runner.JudgeUnavailableError, OSError, ValueError, KeyError) as exc:  # the judge is another module's work
        log.warning("offline judge unavailable, judge metrics skipped: %s", exc)
        return None


@pytest.fixture(scope="module")
def judge(embedder: Any) -> Any:
    return _judge(embedder)


@pytest.fixture(scope="module")
def editorial_result(corpus_store: Path, embedder: Any, judge: Any) -> runner.EvalResult:
    from assistant.api import Assistant
    from assistant.config import Settings

    a = Assistant(Settings(store=corpus_store), embedder)
    try:
        return runner.run(load_dataset(EDITORIALS), a, judge)
    finally:
        a.close()


def test_gate_editorials(editorial_result: runner.EvalResult) -> None:
    m = editorial_result.metrics
    print("\n" + metrics_table(m))
    wrong = [r["id"] for r in editorial_result.rows if not (r["correct"] if r["kind"] == "answerable" else r["refusal_correct"])]
    print("wrong items:", ", ".join(wrong))
    gates = GATES + (JUDGE_GATES if editorial_result.metadata["judge"] else [])
    failures = runner.check_gates(m, gates)
    assert not failures, "eval gate failed: " + "; ".join(failures)
    assert m["items"] == 80 and not editorial_result.metadata["evidence_not_located"]


def test_reports_written(editorial_result: runner.EvalResult, tmp_path: Path) -> None:
    import json

    paths = write_reports(editorial_result, tmp_path, ["demo gate"])
    data = json.loads(Path(paths["json"]).read_text())
    meta = data["metadata"]
    assert meta["dataset_sha256"] == load_dataset(EDITORIALS).sha256
    for key in ("settings_fingerprint", "git_commit", "embedding_model", "llm", "judge", "started"):
        assert key in meta
    assert meta["llm"] == "extractive" and meta["embedding_model"]
    assert len(data["items"]) == 80 and data["gates_failed"] == ["demo gate"]
    md = Path(paths["markdown"]).read_text()
    assert "| `citation_validity` |" in md and "| a01 |" in md and "| o01 |" in md and "demo gate" in md
    assert paths["plots"], "no plots"
    for p in paths["plots"]:
        assert Path(p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({Path(p).name})" in md


def test_conversations(corpus_store: Path, embedder: Any, judge: Any) -> None:
    from assistant.api import Assistant
    from assistant.config import Settings

    ds = load_dataset(CONVERSATIONS)
    a = Assistant(Settings(store=corpus_store), embedder)
    try:
        result = runner.run(ds, a, judge)
    finally:
        a.close()
    m = result.metrics
    print(f"\nconversations ({result.metadata['conversation_mode']}):\n" + metrics_table(m))
    assert len(result.rows) == ds.n_turns()
    assert m["citation_validity"] == 1.0
    if result.metadata["conversation_mode"] == "chat":
        assert m["rewrite_token_f1"] is not None
    else:
        assert result.metadata["conversation_mode"] == "gold_standalone"
