"""Who may reach the web chat and what may be uploaded: bind/auth checks, upload limits.

Binds 127.0.0.1 by default; any other interface needs authentication (`--auth user:password`
or an auth file of hashed passwords and groups, `assistant.ui.users`). Uploads are checked for type and size before anything is stored.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.errors import AuthFileError, ConfigError, ReadError
from assistant.ui.users import User, hash_password, read_users

if TYPE_CHECKING:
    from assistant.config import Settings

UPLOAD_TYPES: tuple[str, ...] = (".txt", ".md", ".html", ".pdf", ".docx")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


# --- network & auth -----------------------------------------------------------------------------
def is_loopback(host: str) -> bool:
    """True for localhost, 127.0.0.1 and ::1 only; any other address counts as another interface."""
    h = host.strip().strip("[]").lower()
    if h == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(h)
    except ValueError:
        return False
    return ip in (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))


def load_auth(settings: Settings) -> dict[str, User]:
    """The users who may log in: `settings.auth_file` (hashed, with groups; `assistant.ui.users`)
    and `settings.auth` ("user:password", hashed here in memory; groups: `all` and their own)."""
    users: dict[str, User] = {}
    if settings.auth_file:
        path = Path(settings.auth_file)
        if not path.is_file():
            raise AuthFileError(str(path), "cannot read: no such file (create it with `ct-assistant users add NAME --auth-file FILE`)")
        users.update(read_users(path))
        if not users:
            raise AuthFileError(str(path), "no users (add one with `ct-assistant users add NAME --auth-file FILE`)")
    if settings.auth:
        name, password = _split_pair(settings.auth, "auth")
        users[name] = User(name, hash_password(password), [])
    return users


def _split_pair(text: str, where: str) -> tuple[str, str]:
    user, sep, password = text.partition(":")
    if not sep or not user.strip() or not password:
        raise ConfigError(where, "<hidden>", "want user:password with a non-empty user and password")
    return user.strip(), password


def check_bind(host: str, auth: Sequence[object] | dict[str, User]) -> None:
    """Refuse to serve on anything but loopback without authentication."""
    if not host or host != host.strip() or any(ch.isspace() or ch < " " for ch in host):
        raise ConfigError("host", host, "not a host name or address (no spaces or control characters)")
    if not is_loopback(host) and not auth:
        raise ConfigError("host", host, "binding an interface other than 127.0.0.1 requires --auth USER:PASSWORD or --auth-file FILE")


# --- uploads ------------------------------------------------------------------------------------
def validate_upload(path: str | Path, max_mb: float, name: str | None = None) -> None:
    """Raise ReadError unless the file has an allowed type and is at most `max_mb` megabytes."""
    p = Path(path)
    shown = name or p.name
    ext = Path(shown).suffix.lower()
    if ext not in UPLOAD_TYPES:
        raise ReadError(shown, f"type {ext or '(none)'} not allowed (allowed: {' '.join(UPLOAD_TYPES)})")
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise ReadError(shown, f"cannot read upload: {exc.strerror or exc}") from exc
    if size > max_mb * 1024 * 1024:
        raise ReadError(shown, f"{size / 1024 / 1024:.1f} MB is over the {max_mb:g} MB limit")
    if size == 0:
        raise ReadError(shown, "empty file")


def safe_upload_name(name: str) -> str:
    base = Path(name.replace("\\", "/")).name
    stem, ext = os.path.splitext(base)
    stem = _SAFE_NAME.sub("_", stem).strip(" ._") or "upload"
    return f"{stem[:100]}{ext.lower()}"
