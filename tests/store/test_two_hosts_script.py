"""`make two-hosts` as CI runs it: PostgreSQL, `chroma run` and two `serve` hosts with separate
store dirs on loopback; host B's web API answers from host A's ingest with exact quotes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_two_serve_hosts_share_one_archive(pg_cluster, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # pg_cluster: only to skip (or fail in CI) where PostgreSQL is missing; the script starts its own
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GRADIO_ANALYTICS_ENABLED": "False"}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.two_hosts", "--check", "--work", str(tmp_path / "work")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    out = done.stdout
    assert "host A ingested" in out and "host B answers" in out and "Rs567.7 million" in out and "exact quotes: True" in out
    assert "ct-secret" not in out  # the password is not printed
    for host in ("host-a", "host-b"):
        assert not (tmp_path / "work" / host / "catalog.sqlite3").exists()
