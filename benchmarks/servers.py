"""Servers on loopback for benchmarks and tests: start a process, wait until it answers, stop it.

`running()` is the one lifecycle (start, poll until ready, terminate, kill after a grace period);
`chroma_server()` starts a real `chroma run` with it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def running(
    cmd: Sequence[str],
    *,
    log_path: Path,
    port: int | None = None,
    ready: Callable[[], bool] | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `cmd` (output to `log_path`) until the block ends; ready = `ready()` or the port accepting."""
    is_ready = ready or (lambda: port is not None and port_open(port))
    log = log_path.open("w")
    proc = subprocess.Popen(list(cmd), stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    try:
        deadline = time.time() + timeout
        while not is_ready():
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[0]} exited ({proc.returncode}): {log_path.read_text()[-2000:]}")
            if time.time() > deadline:
                raise RuntimeError(f"{cmd[0]} not ready after {timeout:.0f} s: {log_path.read_text()[-2000:]}")
            time.sleep(0.3)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@contextmanager
def chroma_server(path: Path, timeout: float = 90.0) -> Iterator[tuple[str, int]]:
    """A real `chroma run --path PATH` on 127.0.0.1; yields (host, port)."""
    port = free_port()
    exe = Path(sys.executable).with_name("chroma")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "chromadb.cli.cli"]
    path.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    args = [*cmd, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)]
    with running(args, log_path=path.parent / f"{path.name}.log", port=port, env=env, timeout=timeout):
        yield "127.0.0.1", port
