"""The client/server path against a real `chroma run` on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import StoreUnavailableError
from tests.conftest import CORPUS, free_port


def test_ingest_and_ask_through_a_chroma_server(make_assistant, chroma_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    host, port = chroma_server
    a = make_assistant(chroma_host=host, chroma_port=port)
    r = a.ingest([CORPUS])
    assert r.added == 2 and r.chunks > 0
    assert a.store().vectors.where == f"http://{host}:{port}"
    assert a.store().vectors.count() == r.chunks
    assert not (tmp_path / "store" / "chroma").exists()  # vectors live on the server
    ans = a.ask("How much did the KP cabinet authorize for police equipment?")
    assert "Rs567.7 million" in ans.answer
    assert a.ingest([CORPUS]).embedded == 0


def test_unreachable_server_is_a_clear_error(make_assistant) -> None:  # type: ignore[no-untyped-def]
    a = make_assistant(chroma_host="127.0.0.1", chroma_port=free_port())
    with pytest.raises(StoreUnavailableError, match="127.0.0.1"):
        a.ingest([CORPUS])
