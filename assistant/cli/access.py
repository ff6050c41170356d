"""`ct-assistant users add|list|remove` (the web chat's users file) and `ct-assistant audit` (the audit
log), plus the `--groups` flag the reading commands share (docs/security.md)."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from assistant.cli.common import UsageError, emit


def add_groups_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--groups", metavar="G1,G2", default=None,
        help="read as a member of these access groups only (default: every document, as the store's owner)",
    )


def local_user() -> str:
    """Who runs the command, for the audit log."""
    try:
        return f"local:{getpass.getuser()}"
    except (KeyError, OSError):
        return "local:?"


def groups_of(args: argparse.Namespace) -> list[str] | None:
    from assistant.store.access import reader_groups

    value = getattr(args, "groups", None)
    return None if value is None else reader_groups(value)


def register(sub: Any) -> None:
    p = sub.add_parser("users", help="add, list or remove web chat users (hashed passwords, access groups)")
    p.add_argument("action", choices=["add", "list", "remove"])
    p.add_argument("name", nargs="?", metavar="NAME")
    p.add_argument("--groups", metavar="G1,G2", default="", help="the user's access groups (add; besides `all` and `user:NAME`)")
    p.add_argument("--auth-file", dest="auth_file", required=True, metavar="FILE", help="the users file `serve --auth-file` reads")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_users)

    p = sub.add_parser("audit", help="export the audit log (one JSON object a line)")
    p.add_argument("action", choices=["export"])
    p.add_argument("--audit-log", dest="audit_log", metavar="FILE", help="the log (default: $CT_ASSISTANT_AUDIT_LOG)")
    p.add_argument("--kind", choices=["question", "ingest", "upload"], help="only these events")
    p.add_argument("--user", help="only this user's events")
    p.add_argument("--since", metavar="YYYY-MM-DD[THH:MM]", help="only events from this UTC time on")
    p.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    p.set_defaults(func=cmd_audit)


def _password(name: str) -> str:
    """From a terminal: asked twice, not echoed; otherwise the first line of stdin."""
    if sys.stdin.isatty():
        first = getpass.getpass(f"password for {name}: ")
        if getpass.getpass("again: ") != first:
            raise UsageError("the passwords differ")
        return first
    line = sys.stdin.readline()
    return line[:-1] if line.endswith("\n") else line


def cmd_users(args: argparse.Namespace) -> int:
    from assistant.ui.users import add_user, read_users, remove_user

    path = Path(args.auth_file).expanduser()
    if args.action == "list":
        users = read_users(path)
        if args.json:
            emit([{"name": u.name, "groups": u.groups} for u in users.values()])
        else:
            for u in sorted(users.values(), key=lambda u: u.name):
                print(f"{u.name}\t{','.join(u.groups) or '-'}")
        return 0
    if not args.name:
        raise UsageError(f"users {args.action} needs a NAME")
    if args.action == "remove":
        remove_user(path, args.name)
        print(f"removed {args.name} from {path}", file=sys.stderr)
        return 0
    password = _password(args.name)
    if not password:
        raise UsageError("empty password (give it on stdin or at the prompt)")
    user = add_user(path, args.name, password, args.groups or None)
    print(f"{user.name}: groups {', '.join(user.reader_groups())} in {path}", file=sys.stderr)
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from assistant.config import Settings
    from assistant.store.audit import read_events

    path = Path(args.audit_log).expanduser() if args.audit_log else Settings().audit_log
    if path is None:
        raise UsageError("no audit log: give --audit-log FILE or set CT_ASSISTANT_AUDIT_LOG")
    if not path.is_file():
        raise UsageError(f"no audit log at {path}")
    events = read_events(path, kind=args.kind, user=args.user, since=args.since)
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout  # noqa: SIM115
    n = 0
    try:
        for e in events:
            out.write(json.dumps(e, ensure_ascii=False) + "\n")
            n += 1
    finally:
        if args.out:
            out.close()
    if args.out:
        print(f"exported {n} audit events to {args.out}", file=sys.stderr)
    return 0
