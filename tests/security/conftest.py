"""A store with a restricted document beside the public corpus (issue 21)."""

from __future__ import annotations

import json
import re
import shutil
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CORPUS, DATA

ACCESS = DATA / "access"
SPEC: dict[str, Any] = json.loads((ACCESS / "probes.json").read_text(encoding="utf-8"))
SECRET_ID = SPEC["doc_id"]
GROUP = "cell-k"


@pytest.fixture(scope="module")
def restricted_store(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:  # type: ignore[no-untyped-def]
    """The shipped corpus (`all`) and operation_kestrel.md (group cell-k), ingested through the API."""
    from assistant.api import Assistant
    from assistant.config import Settings

    root = tmp_path_factory.mktemp("restricted")
    secret = root / "restricted"
    shutil.copytree(ACCESS, secret, ignore=shutil.ignore_patterns("probes.json"))
    a = Assistant(Settings(store=root / "store"), embedder)
    assert not a.ingest([CORPUS]).failed
    report = a.ingest([secret], access=GROUP)
    assert report.added == 1 and not report.failed
    a.close()
    return root / "store"


def secret_source(store: Path) -> str:
    return str((store.parent / "restricted" / "operation_kestrel.md").resolve())


def _without_measurements(out: str) -> str:
    """A JSON answer less what the machine measured (timings, scores): a figure of the restricted
    document ("84.3") must not match a latency of 84.3 ms."""
    try:
        d = json.loads(out)
    except ValueError:
        return out
    if not isinstance(d, dict):
        return out
    d.pop("timings_ms", None)
    d.pop("refusal_score", None)
    for c in d.get("contexts") or []:
        if isinstance(c, dict):
            c.pop("score", None)
    for s in d.get("sentences") or []:
        if isinstance(s, dict):
            s.pop("score", None)
    return json.dumps(d, ensure_ascii=False)


SHINGLE = 4


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {tuple(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


@lru_cache(maxsize=1)
def secret_shingles() -> frozenset[tuple[str, ...]]:
    """Every run of four words of the restricted document that no public document has: a check
    beside the hand-picked markers, so a quote of any of its sentences counts as a leak."""
    secret = _shingles((ACCESS / "operation_kestrel.md").read_text(encoding="utf-8"))
    public = set().union(*(_shingles(p.read_text(encoding="utf-8")) for p in CORPUS.iterdir() if p.suffix in {".md", ".txt"}))
    return frozenset(secret - public)


def leaks(outputs: list[str], asked: list[str]) -> list[str]:
    """Markers of the restricted document, or runs of four of its words, in the outputs that the
    questions asked did not hold."""
    said = " ".join(asked).lower()
    found = []
    outputs = [_without_measurements(o) for o in outputs]
    for marker in [*SPEC["markers"], SPEC["title"]]:
        if marker.lower() in said:
            continue
        for out in outputs:
            if marker.lower() in out.lower():
                found.append(f"{marker!r} in {out[:200]!r}")
                break
    runs = secret_shingles() - _shingles(said)
    for out in outputs:
        hit = sorted(runs & _shingles(out))
        if hit:
            found.append(f"{' '.join(hit[0])!r} (a run of the restricted text) in {out[:200]!r}")
    return found


def answer_outputs(answer: Any) -> list[str]:
    """Everything an answer shows (JSON, less the question as typed)."""
    d = answer.to_dict()
    d.pop("question", None)
    return [json.dumps(d, ensure_ascii=False)]
