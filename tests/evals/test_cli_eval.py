"""`ct-assistant eval judge|run|compare` (in-process through assistant.cli.main, plus `python -m evals`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.cli.main import main
from evals.report import compare

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "evals"


@pytest.mark.slow
def test_judge_round_trip(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "judge", "--input", str(DATA / "claims.jsonl")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    out = [json.loads(x) for x in lines]
    assert len(out) == 2 and all(set(o) == {"score", "supported"} for o in out)
    assert all(0.0 <= o["score"] <= 1.0 and isinstance(o["supported"], bool) for o in out)
    # same order as the input: the faithful paraphrase outscores the fabricated approval
    assert out[0]["score"] > out[1]["score"]


def test_judge_malformed_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "judge", "--input", str(DATA / "claims_bad.jsonl")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "claims_bad.jsonl:2: 'passages' must be a list of strings" in err


def test_run_bad_set_and_gate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "run", "--set", str(DATA / "bad_kind.jsonl")]) == 2
    assert "bad_kind.jsonl:1: kind:" in capsys.readouterr().err
    assert main(["eval", "run", "--set", str(DATA / "good_single.jsonl"), "--fail-under", "nonsense=1"]) == 2
    assert "unknown metric 'nonsense'" in capsys.readouterr().err


@pytest.mark.slow
def test_run_cli_reports_and_gate(corpus_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rep"
    argv = ["eval", "run", "--set", str(DATA / "good_single.jsonl"), "--store", str(corpus_store), "--judge", "none", "--out", str(out),
            "--json", "--no-progress", "--fail-under", "citation_validity=100%", "--fail-under", "answer_accuracy=1.01"]
    assert main(argv) == 1
    cap = capsys.readouterr()
    d = json.loads(cap.out)
    assert d["metrics"]["items"] == 3 and d["metrics"]["citation_validity"] == 1.0
    assert d["gates_failed"] and d["gates_failed"][0].startswith("answer_accuracy")
    assert "eval gate failed: answer_accuracy" in cap.err and "citation_validity" not in cap.err
    assert (out / "report.json").is_file() and (out / "report.md").is_file()


def _report(items: list[dict[str, object]], **metrics: float) -> dict[str, object]:
    return {"metadata": {"git_commit": "x"}, "metrics": metrics, "items": items}


def test_compare(tmp_path: Path) -> None:
    a = _report(
        [{"id": "a1", "refused": False, "correct": True, "refusal_correct": True, "citation_valid": True},
         {"id": "u1", "refused": False, "correct": None, "refusal_correct": False, "citation_valid": True}],
        answer_correctness=0.8, refusal_accuracy=0.5, latency_p50_ms=100.0,
    )
    b = _report(
        [{"id": "a1", "refused": True, "correct": False, "refusal_correct": False, "citation_valid": True},
         {"id": "u1", "refused": True, "correct": None, "refusal_correct": True, "citation_valid": True},
         {"id": "new", "refused": True, "correct": None, "refusal_correct": True, "citation_valid": True}],
        answer_correctness=0.6, refusal_accuracy=0.5, latency_p50_ms=80.0,
    )
    c = compare(a, b)
    assert c["metrics"]["answer_correctness"]["change"] == "worse" and c["metrics"]["answer_correctness"]["delta"] == pytest.approx(-0.2)
    assert c["metrics"]["refusal_accuracy"]["change"] == "same"
    assert c["metrics"]["latency_p50_ms"]["change"] == "better"
    assert c["flips"]["correct"] == {"fixed": [], "broken": ["a1"]}
    assert c["flips"]["refusal_correct"] == {"fixed": ["u1"], "broken": ["a1"]}
    assert c["refusals"]["now_refused"] == ["a1", "u1"] and c["only_in_b"] == ["new"]
    # the `python -m evals` entry point, text and JSON
    pa, pb = tmp_path / "a.json", tmp_path / "b.json"
    pa.write_text(json.dumps(a))
    pb.write_text(json.dumps(b))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-m", "evals", "compare", str(pa), str(pb)], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "answer_correctness" in p.stdout and "worse" in p.stdout and "broken  a1" in p.stdout
    p = subprocess.run([sys.executable, "-m", "evals", "compare", str(pa), str(tmp_path / "missing.json"), "--json"],
                       capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert p.returncode == 2 and "missing.json: cannot read" in p.stderr
