"""Fixtures for the web chat: the app served over the shipped corpus, and one headless Chromium per module."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, free_port, missing

ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Served:
    url: str
    app: Any
    settings: Any
    assistant: Any


def start(settings: Any, assistant: Any) -> Served:
    from assistant.ui.app import serve

    app = serve(settings, assistant=assistant, block=False, quiet=True, warm=True)
    return Served(url=f"http://127.0.0.1:{settings.port}/", app=app, settings=settings, assistant=assistant)


@pytest.fixture(scope="module")
def served(corpus_store: Path, embedder: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`serve()` over the shipped corpus on 127.0.0.1:<free port>, in this process (shares the loaded model)."""
    from assistant.api import Assistant
    from assistant.config import Settings

    settings = Settings(store=corpus_store, port=free_port(), feedback_db=tmp_path_factory.mktemp("feedback") / "feedback.sqlite3")
    a = Assistant(settings, embedder)
    s = start(settings, a)
    yield s
    s.app.close()
    a.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        missing(f"{CHROMIUM} not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
