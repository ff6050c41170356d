"""Concurrent writers on a shared catalog: two hosts ingesting at once, and kill -9 of one host's
ingest repaired from the other (per-run leases, `assistant.store.pg_runs`). Real PostgreSQL and
`chroma run`; every host a separate process with its own store directory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

PLACES = ["Quetta", "Peshawar", "Lahore", "Karachi", "Multan", "Gwadar", "Swat", "Bannu", "Kohat", "Sukkur", "Hyderabad", "Turbat"]


def _write_docs(folder: Path, prefix: str, n: int) -> None:
    """n distinct documents of about two chunks each."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        place = PLACES[i % len(PLACES)]
        sentences = [
            f"Report {prefix}-{i} describes the counter-terrorism unit of {place}, district number {i}.",
            f"In {2000 + i} the {place} unit of batch {prefix} recorded {17 * i + 3} incidents and {5 * i + 1} arrests.",
            f"Its budget for the year was Rs{100 + i}.{i % 10} million, spent on training and {i + 2} armoured vehicles.",
            f"The {place} commander {prefix.upper()}{i} reported to the provincial home department every {i % 4 + 1} weeks.",
        ]
        text = " ".join(sentences * 3) + "\n\n" + " ".join(reversed(sentences)) * 2
        (folder / f"{prefix}_{i:03d}.txt").write_text(text)


def _child(archive, store: Path, *paths: Path, go: Path | None = None) -> subprocess.Popen[str]:  # type: ignore[no-untyped-def]
    env = {**os.environ, **archive.env(store), "PYTHONPATH": str(ROOT), **({"CT_TEST_GO": str(go)} if go else {})}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.store.pg_child", str(store), *map(str, paths)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _report(proc: subprocess.Popen[str]) -> dict:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.split("done ", 1)[1])


def _consistent(archive) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(documents, chunks), after checking: no duplicate source, Chroma holds exactly the catalog's chunks."""
    import psycopg

    with psycopg.connect(archive.url, autocommit=True) as conn:
        docs, sources = conn.execute("SELECT count(*), count(DISTINCT source) FROM documents").fetchone()
        ids = {r[0] for r in conn.execute("SELECT chunk_id FROM chunks")}
        unfinished = conn.execute("SELECT count(*) FROM ingest_runs WHERE finished_at IS NULL").fetchone()[0]
    assert docs == sources and unfinished == 0
    assert archive.chroma_ids() == ids
    return docs, len(ids)


def test_two_hosts_ingest_at_the_same_time(archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Disjoint folders plus one folder both ingest: both finish, nothing duplicated or lost."""
    _write_docs(tmp_path / "a", "a", 8)
    _write_docs(tmp_path / "b", "b", 8)
    _write_docs(tmp_path / "both", "s", 6)
    (tmp_path / "b" / "a_000.txt").write_text("Another report with the same file name as host A's first file, about Chitral. " * 5)
    go = tmp_path / "go"
    host_a = _child(archive, tmp_path / "host-a", tmp_path / "a", tmp_path / "both", go=go)
    host_b = _child(archive, tmp_path / "host-b", tmp_path / "both", tmp_path / "b", go=go)
    for host in (host_a, host_b):  # both have loaded the model: start them together
        assert host.stdout is not None and host.stdout.readline().strip() == "start"
    go.touch()
    ra, rb = _report(host_a), _report(host_b)
    assert not ra["failed"] and not rb["failed"]
    docs, chunks = _consistent(archive)
    assert docs == 8 + 9 + 6
    import psycopg

    with psycopg.connect(archive.url, autocommit=True) as conn:  # the two runs overlapped in time
        runs = conn.execute("SELECT started_at, finished_at FROM ingest_runs WHERE outcome = 'done' ORDER BY started_at").fetchall()
    assert len(runs) == 2 and runs[1][0] < runs[0][1]
    # the shared folder was added once per document in the end, whichever host wrote it last
    assert ra["added"] + ra["updated"] + ra["unchanged"] == 14 and rb["added"] + rb["updated"] + rb["unchanged"] == 15
    catalog = archive.catalog()
    try:
        sources = set(catalog.sources())
        assert {str((tmp_path / "a" / "a_000.txt").resolve()), str((tmp_path / "b" / "a_000.txt").resolve())} <= sources
        ids = [catalog.doc_by_source(s)[0] for s in sources]  # type: ignore[index]
        assert len(set(ids)) == len(ids) == docs  # same file name on two hosts: two doc ids
    finally:
        catalog.close()


def test_kill_9_of_an_ingest_is_repaired_from_another_host(archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Host A is killed mid-ingest (some batches committed, vectors possibly orphaned); host B's
    next ingest repairs the killed run; A's re-ingest then completes with nothing lost."""
    import psycopg

    _write_docs(tmp_path / "a", "k", 30)
    _write_docs(tmp_path / "b", "m", 2)
    host_a = _child(archive, tmp_path / "host-a", tmp_path / "a")
    assert host_a.stdout is not None and host_a.stdout.readline().strip() == "start"
    deadline = time.time() + 300
    committed = 0
    while time.time() < deadline and committed < 4:
        time.sleep(0.2)
        try:
            with psycopg.connect(archive.url, autocommit=True) as conn:
                committed = conn.execute("SELECT count(*) FROM documents").fetchone()[0]
        except psycopg.Error:
            continue  # schema not created yet
    assert committed >= 4 and host_a.poll() is None, "ingest finished before it could be killed"
    host_a.send_signal(signal.SIGKILL)
    host_a.wait(timeout=30)
    with psycopg.connect(archive.url, autocommit=True) as conn:
        killed = conn.execute("SELECT run_id FROM ingest_runs WHERE finished_at IS NULL").fetchall()
    assert len(killed) == 1

    rb = _report(_child(archive, tmp_path / "host-b", tmp_path / "b"))
    assert rb["added"] == 2
    with psycopg.connect(archive.url, autocommit=True) as conn:
        assert conn.execute("SELECT outcome FROM ingest_runs WHERE run_id=%s", killed[0]).fetchone()[0] == "repaired"
    docs, _ = _consistent(archive)
    assert committed + 2 <= docs < 32

    ra = _report(_child(archive, tmp_path / "host-a", tmp_path / "a"))
    assert ra["added"] + ra["unchanged"] == 30
    assert _consistent(archive)[0] == 32
