from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.errors import ReadError
from ingest.read import normalize, read_file, split_date_header
from tests.conftest import CORPUS, DATA

GOOD = DATA / "docs"
BAD = DATA / "bad"


@pytest.mark.parametrize(
    ("name", "title", "fact"),
    [
        ("brief.txt", "brief", "Rs120 million"),
        ("notes.md", "Balochistan Levies reform", "merged into the Balochistan police in 2021"),
        ("page.html", "Punjab Safe Cities", "installed 8,000 cameras in Lahore"),
        ("report.pdf", "Counter-terrorism financing report", "312 suspicious transactions"),
        ("policy.docx", "Madrassa registration policy", "18,000 madrassas"),
    ],
)
def test_each_supported_type(name: str, title: str, fact: str) -> None:
    parsed = read_file(GOOD / name)
    assert parsed.title == title
    assert fact in parsed.text
    assert parsed.text == normalize(parsed.text)


def test_html_drops_scripts_and_navigation() -> None:
    text = read_file(GOOD / "page.html").text
    assert "ignore me" not in text and "Home | About" not in text


def test_date_header_becomes_metadata() -> None:
    parsed = read_file(GOOD / "brief.txt")
    assert parsed.date == "2023-11-02" and not parsed.text.startswith("date")
    seed = read_file(CORPUS / "000_e17f9ff628b617e6.txt")
    assert seed.date == "2024-05-16" and seed.text.startswith("WHILE military forces")
    assert read_file(CORPUS / "002_f76924cdbd8590c8.txt").date is None
    assert split_date_header("no header here") == (None, "no header here")


def test_manifest_gives_titles() -> None:
    assert read_file(CORPUS / "002_f76924cdbd8590c8.txt").title.startswith("NIFTAC, NACTA")


def test_normalize_whitespace_and_controls() -> None:
    assert normalize("a\u00a0\u00a0b\r\n\r\n\r\n\r\nc\u200b d\x07e  ") == "a b\n\nc d e"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("corrupt.pdf", "corrupt PDF"),
        ("notapdf.pdf", "corrupt PDF"),
        ("corrupt.docx", "corrupt DOCX"),
        ("binary.txt", "binary content"),
        ("empty.txt", "empty file"),
        ("blank.md", "empty"),
        ("latin1.txt", "undecodable"),
        ("image.png", "unsupported file type '.png'"),
    ],
)
def test_each_bad_file_kind_names_path_and_reason(name: str, reason: str) -> None:
    with pytest.raises(ReadError) as err:
        read_file(BAD / name)
    assert err.value.path == str(BAD / name)
    assert reason in err.value.reason
    assert "\n" not in str(err.value)


def test_unreadable_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "gone.txt"
    os.symlink(tmp_path / "nowhere.txt", missing)  # a dangling link
    with pytest.raises(ReadError, match="no such file"):
        read_file(missing)
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    with pytest.raises(ReadError, match="is a directory"):
        read_file(folder)
    locked = tmp_path / "locked.txt"
    locked.write_text("secret")

    real_open = os.open

    def deny(path: object, *args: object, **kwargs: object) -> int:  # root ignores chmod, so simulate the OS refusing
        if str(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", deny)
    with pytest.raises(ReadError, match="permission denied"):
        read_file(locked)
    monkeypatch.undo()
