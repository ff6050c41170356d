"""Issue 20 defect 5: a service account whose ONNX cache folder it cannot create, read or write
still answers from a store it may only read: the graph is built in a private temporary cache,
with one log line, and nothing is left behind."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

QUESTION = "How much did the KP cabinet authorize for police equipment?"


def _unshare_available() -> bool:
    if not shutil.which("unshare") or not shutil.which("mount"):
        return False
    return subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode == 0


def _env(cache: Path) -> dict[str, str]:
    env = {**os.environ, "CT_ASSISTANT_ONNX_CACHE": str(cache)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    return env


def _one_warning(stderr: str, cache: Path) -> None:
    lines = [line for line in stderr.strip().splitlines() if line]
    assert len(lines) == 1, stderr[-3000:]
    assert f"ONNX cache {cache} unusable" in lines[0] and "private temporary cache" in lines[0], lines[0]
    assert "Traceback" not in stderr


def test_cache_folder_that_cannot_be_created_falls_back(corpus_store: Path, tmp_path: Path) -> None:
    """The configured folder lies under a file (ENOTDIR stops root too): `ask` answers, one log line."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    cache = blocker / "onnx"
    r = subprocess.run([sys.executable, "-m", "assistant", "ask", QUESTION, "--store", str(corpus_store), "--json"],
                       capture_output=True, text=True, env=_env(cache), cwd=ROOT, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads(r.stdout)["refused"] is False
    _one_warning(r.stderr, cache)
    temp = r.stderr.strip().rsplit(": ", 1)[-1]
    assert "ct-assistant-onnx-" in temp and not Path(temp).exists(), "the private cache is removed when the process ends"


@pytest.mark.slow
def test_read_only_store_and_read_only_empty_cache_still_answer(corpus_store: Path, tmp_path: Path) -> None:
    """A read-only deployment: store and cache folder on read-only bind mounts (EROFS stops root
    as file modes do not), the cache empty, so the graph cannot be written where it is configured."""
    if not _unshare_available():
        pytest.skip("needs `unshare -m` and `mount` (Linux, root or user namespaces)")
    store, cache = tmp_path / "store", tmp_path / "cache"
    shutil.copytree(corpus_store, store)
    cache.mkdir()
    script = (
        f"mount --bind {store} {store} && mount -o remount,bind,ro {store} || exit 99\n"
        f"mount --bind {cache} {cache} && mount -o remount,bind,ro {cache} || exit 99\n"
        f"touch {cache}/probe 2>/dev/null && exit 98\n"
        f"exec {sys.executable} -m assistant ask {QUESTION!r} --store {store} --json\n"
    )
    r = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, env=_env(cache), cwd=ROOT, timeout=900)
    if r.returncode == 99:
        pytest.skip("cannot bind-mount read-only here")
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads(r.stdout)["refused"] is False
    _one_warning(r.stderr, cache)
    assert list(cache.iterdir()) == []
