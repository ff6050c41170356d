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


def test_python_api_first_use_writes_nothing_to_stderr(tmp_path: Path) -> None:
    """A new user's first `ingest()` and `ask()` in a script: no progress bars, no warnings."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = (
        "import sys\nfrom assistant import Assistant\n"
        "a = Assistant.open(store=sys.argv[1])\na.ingest([sys.argv[2]])\n"
        "print(a.ask('Why did NACTA struggle with CTD integration?').refused)\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env["PYTHONPATH"] = str(ROOT)
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "store"), str(CORPUS)], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip() == "False"
    assert r.stderr == ""
