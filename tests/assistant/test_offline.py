"""Ingest and ask work with every IP socket blocked (a fresh process with a socket guard)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import CORPUS, NO_NETWORK_DIR, run_cli


def test_ingest_and_ask_with_sockets_blocked(tmp_path: Path) -> None:
    env = {"PYTHONPATH": str(NO_NETWORK_DIR), "HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "0"}
    # the guard itself works: anything that tries the network fails
    probe = run_cli("ingest", "--help", env=env)
    assert probe.returncode == 0
    store = str(tmp_path / "store")
    r = run_cli("ingest", str(CORPUS), "--store", store, "--json", env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads(r.stdout)["documents"] == 2
    r = run_cli("ask", "Why did NACTA struggle with CTD integration?", "--store", store, "--json", env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "lacked a valid method for cooperation" in json.loads(r.stdout)["answer"]


def test_the_guard_blocks_sockets() -> None:
    import subprocess
    import sys

    code = "import socket\ntry:\n    socket.create_connection(('127.0.0.1', 9))\nexcept OSError as e:\n    print('blocked', e)"
    out = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": str(NO_NETWORK_DIR)}, capture_output=True, text=True)
    assert "network blocked by test" in out.stdout
