"""The web chat's users: a file of names, salted slow password hashes and access groups.

One user a line, `name:HASH:group1,group2` (HASH: an Argon2id hash in PHC form, `$argon2id$v=19$...`,
salted per user; the groups may be empty). `ct-assistant users add/list/remove` writes and
reads it; `serve --auth-file FILE` logs users in against it. The file never holds a password: a
line in the old `name:password` form is refused with a one-line error naming the command that
stores it hashed. Every user also belongs to `all` and to `user:<name>` (their private uploads).

Writes are atomic (temporary file + rename, mode 0600). Verifying costs ~50 ms of CPU by design
(Argon2id, 64 MiB): the web server logs users in once per session.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import AuthFileError, InvalidGroupError, UnknownUserError
from assistant.store.access import ALL, parse_groups

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
PREFIX = "$argon2"
PRIVATE = "user:"  # a user's own group: `user:<name>`


def _hasher():  # type: ignore[no-untyped-def]
    from argon2 import PasswordHasher

    return PasswordHasher()  # Argon2id, RFC 9106 low-memory profile: t=3, m=64 MiB, p=4, 16-byte salt


def hash_password(password: str) -> str:
    if not password:
        raise AuthFileError("-", "empty password")
    return _hasher().hash(password)


def check_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise AuthFileError("-", f"user name {name!r}: want letters, digits and . _ @ - (at most 64, starting with a letter or digit)")
    return name


@dataclass
class User:
    name: str
    hash: str
    groups: list[str] = field(default_factory=list)  # as given; `reader_groups` adds `all` and `user:<name>`

    def reader_groups(self) -> list[str]:
        return sorted({*self.groups, ALL, PRIVATE + self.name})

    def line(self) -> str:
        return f"{self.name}:{self.hash}:{','.join(self.groups)}"


def convert_hint(name: str, path: Path | str) -> str:
    return f"store it hashed with `ct-assistant users add {name} --groups GROUPS --auth-file {path}` (password on stdin)"


def read_users(path: Path | str) -> dict[str, User]:
    """The users in the file; AuthFileError (one line) for an unreadable file or a bad line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise AuthFileError(str(path), f"cannot read: {getattr(exc, 'strerror', None) or exc}") from exc
    users: dict[str, User] = {}
    for i, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, rest = line.partition(":")
        name = name.strip()
        if not sep or not name:
            raise AuthFileError(str(path), f"line {i}: want name:HASH:groups")
        if not rest.startswith(PREFIX):
            raise AuthFileError(str(path), f"line {i}: a plain-text password for {name!r}; {convert_hint(name, path)}")
        digest, _, groups = rest.partition(":")
        try:
            users[name] = User(check_name(name), digest, parse_groups(groups) if groups.strip() else [])
        except (AuthFileError, InvalidGroupError) as exc:
            raise AuthFileError(str(path), f"line {i}: {exc}") from exc
    return users


def write_users(path: Path | str, users: dict[str, User]) -> None:
    path = Path(path)
    text = "# ct-assistant users: name:argon2id-hash:groups (written by `ct-assistant users`; no passwords)\n"
    text += "".join(u.line() + "\n" for u in sorted(users.values(), key=lambda u: u.name))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".users-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as exc:
        raise AuthFileError(str(path), f"cannot write: {exc.strerror or exc}") from exc


def add_user(path: Path | str, name: str, password: str, groups: str | list[str] | None) -> User:
    """Add or replace a user (a new salt and hash every time)."""
    users = read_users(path)
    names = parse_groups(groups) if groups else []
    user = User(check_name(name), hash_password(password), names)
    users[name] = user
    write_users(path, users)
    return user


def remove_user(path: Path | str, name: str) -> None:
    users = read_users(path)
    if name not in users:
        raise UnknownUserError(name, str(path))
    del users[name]
    write_users(path, users)


def verify(user: User | None, password: str) -> bool:
    """Whether the password matches (constant work for unknown users: no timing hint of who exists)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    ph = _hasher()
    try:
        if user is None:
            ph.verify(_DUMMY[0] or _dummy(), password or "-")
            return False
        return bool(ph.verify(user.hash, password or ""))
    except (VerificationError, InvalidHashError):
        return False


_DUMMY: list[str] = [""]


def _dummy() -> str:
    _DUMMY[0] = _hasher().hash("not a password of anyone")
    return _DUMMY[0]
