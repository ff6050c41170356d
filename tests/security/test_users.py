"""The users file (issue 21): Argon2id hashes with a salt per user, groups, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import AuthFileError, InvalidGroupError, UnknownUserError
from assistant.ui.users import add_user, read_users, remove_user, verify
from tests.conftest import run_cli


def test_add_verify_replace_remove(tmp_path: Path) -> None:
    f = tmp_path / "users.txt"
    first = add_user(f, "alice", "correct horse", "cell-k, legal")
    second = add_user(f, "carol", "correct horse", None)
    assert first.hash != second.hash  # a salt per user: the same password hashes differently
    assert first.hash.startswith("$argon2id$") and "correct horse" not in f.read_text(encoding="utf-8")
    users = read_users(f)
    assert users["alice"].groups == ["cell-k", "legal"] and users["alice"].reader_groups() == ["all", "cell-k", "legal", "user:alice"]
    assert verify(users["alice"], "correct horse") and not verify(users["alice"], "Correct horse") and not verify(None, "correct horse")
    add_user(f, "alice", "new password", "legal")  # replaced: new hash, new groups
    users = read_users(f)
    assert not verify(users["alice"], "correct horse") and verify(users["alice"], "new password") and users["alice"].groups == ["legal"]
    remove_user(f, "carol")
    assert list(read_users(f)) == ["alice"]
    with pytest.raises(UnknownUserError, match="no user 'carol'"):
        remove_user(f, "carol")
    assert oct(f.stat().st_mode & 0o777) == "0o600"


def test_bad_input_is_one_line_and_changes_nothing(tmp_path: Path) -> None:
    f = tmp_path / "users.txt"
    add_user(f, "alice", "pw", None)
    before = f.read_text(encoding="utf-8")
    with pytest.raises(AuthFileError, match="user name 'a b'"):
        add_user(f, "a b", "pw", None)
    with pytest.raises(InvalidGroupError, match="access group 'x y'"):
        add_user(f, "bob", "pw", "x y")
    assert f.read_text(encoding="utf-8") == before
    f.write_text(before + "mallory:hunter2:admins\n", encoding="utf-8")
    with pytest.raises(AuthFileError, match=r"line 3: a plain-text password for 'mallory'; store it hashed with `ct-assistant users add mallory"):
        read_users(f)


@pytest.mark.slow
def test_cli_users(tmp_path: Path) -> None:
    f = str(tmp_path / "users.txt")
    r = run_cli("users", "add", "dave", "--groups", "analysts", "--auth-file", f, input="s3cret-pw\n")
    assert r.returncode == 0 and "dave: groups all, analysts, user:dave" in r.stderr
    assert "s3cret-pw" not in Path(f).read_text(encoding="utf-8")
    assert run_cli("users", "list", "--auth-file", f).stdout == "dave\tanalysts\n"
    r = run_cli("users", "add", "erin", "--auth-file", f, input="\n")
    assert r.returncode == 2 and r.stderr.strip() == "ct-assistant: error: empty password (give it on stdin or at the prompt)"
    r = run_cli("users", "remove", "nobody", "--auth-file", f)
    assert r.returncode == 2 and "no user 'nobody'" in r.stderr and r.stderr.count("\n") == 1
    assert run_cli("users", "remove", "dave", "--auth-file", f).returncode == 0
    assert run_cli("users", "list", "--auth-file", f).stdout == ""


def _add_on_terminal(path: Path, first: str, again: str) -> tuple[int, str]:
    """`users add carol` on a terminal (pexpect), answering the two prompts: (exit status, what it printed)."""
    import sys

    import pexpect

    cmd = [sys.executable, "-m", "assistant", "users", "add", "carol", "--groups", "legal", "--auth-file", str(path)]
    # poll, not select: late in a full run the test process holds over 1024 descriptors, past select()'s limit
    child = pexpect.spawn(cmd[0], cmd[1:], encoding="utf-8", timeout=60, use_poll=True)
    child.expect("password for carol: ")
    child.sendline(first)
    child.expect("again: ")
    child.sendline(again)
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, child.before


def test_users_add_asks_twice_on_a_terminal(tmp_path: Path) -> None:
    """On a terminal the password is asked for twice, never echoed; two different answers change nothing."""
    f = tmp_path / "users.txt"
    status, out = _add_on_terminal(f, "first-pw", "other-pw")
    assert status == 2 and "the passwords differ" in out and "other-pw" not in out
    assert not f.exists()
    status, out = _add_on_terminal(f, "terminal-pw", "terminal-pw")
    assert status == 0 and "terminal-pw" not in out  # not echoed
    assert verify(read_users(f)["carol"], "terminal-pw") and "terminal-pw" not in f.read_text(encoding="utf-8")
