"""Fixtures for the assistant tests. The SmolLM2 server fixtures (`smollm_server`, `llm_assistant`)
live in tests/conftest.py, shared with tests/llamaindex; the names are re-exported for imports."""

from __future__ import annotations

import pytest

from tests.conftest import SMOLLM_ALIAS, llm_settings, smollm_gguf  # noqa: F401  (test_llm imports them from here)


@pytest.fixture
def fresh_corpus(make_assistant):  # type: ignore[no-untyped-def]
    """An Assistant on its own new store holding the shipped corpus (tests that change the store)."""
    from tests.conftest import CORPUS

    a = make_assistant()
    a.ingest([CORPUS])
    return a
