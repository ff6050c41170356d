"""Defect 10 of issue 14: uploads never replace another user's document, failed files are
removed, and the status counts what reached the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.mark.slow
def test_same_name_from_two_users_is_two_documents_and_failures_are_removed(make_assistant: Any, tmp_path: Path) -> None:
    from assistant.ui.app import ChatUI

    a = make_assistant(allow_upload=True)
    ui = ChatUI(a, a.settings)
    first, second = tmp_path / "alice", tmp_path / "bob"
    first.mkdir()
    second.mkdir()
    (first / "collide.txt").write_text("The Punjab CTD opened a forensic laboratory in Lahore in 2024.\n", encoding="utf-8")
    (second / "collide.txt").write_text("The Sindh CTD trained 400 new investigators in Karachi in 2025.\n", encoding="utf-8")
    status1, _ = ui.upload([str(first / "collide.txt")], "alice")
    status2, _ = ui.upload([str(second / "collide.txt")], "bob")
    assert status1.startswith("Ingested 1 of 1 file(s): added 1") and status2.startswith("Ingested 1 of 1 file(s): added 1")
    assert len(a.documents()) == 2
    assert "forensic laboratory" in a.ask("What did the Punjab CTD open in Lahore?").answer
    assert "400 new investigators" in a.ask("How many investigators did the Sindh CTD train?").answer
    # the same user uploading the same content again changes nothing
    again, _ = ui.upload([str(first / "collide.txt")], "alice")
    assert "unchanged 1" in again and len(a.documents()) == 2

    broken = tmp_path / "broken.txt"
    broken.write_bytes(b"\x00\x01\x02 binary, not text")
    good = tmp_path / "good.md"
    good.write_text("# Note\n\nNACTA employs forty analysts in Islamabad.\n", encoding="utf-8")
    status, _ = ui.upload([str(broken), str(good)], "alice")
    assert status.startswith("Ingested 1 of 2 file(s)"), status
    assert "broken.txt: binary content, not text (not ingested; removed)" in status
    files = sorted(p.name for p in (Path(a.settings.store) / "uploads").rglob("*") if p.is_file())
    assert files == ["collide.txt", "collide.txt", "good.md"]

    only_bad, update = ui.upload([str(broken)], "bob")
    assert only_bad.startswith("Ingested 0 of 1 file(s)")
    assert sorted(p.name for p in (Path(a.settings.store) / "uploads").rglob("*") if p.is_file()) == files
