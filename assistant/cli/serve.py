"""`ct-assistant serve` (the Gradio chat) and `ct-assistant feedback export`.

Registered by `assistant.cli.main` through `register_serve(sub)` and `register_feedback(sub)`.
Cheap to import: Gradio is only imported when `serve` runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from assistant.cli.common import UsageError, add_llm_flags, add_store_flags, settings_from


def register_serve(sub: Any) -> None:
    p = sub.add_parser("serve", help="start the web chat for staff (Gradio; 127.0.0.1 by default)")
    add_store_flags(p)
    add_llm_flags(p)
    p.add_argument("--host", help="interface to bind (default 127.0.0.1; anything else needs --auth or --auth-file)")
    p.add_argument("--port", type=int, help="port (default 7860)")
    p.add_argument("--auth", metavar="USER:PASSWORD", help="require this login")
    p.add_argument("--auth-file", dest="auth_file", metavar="FILE", help="require a login from FILE (written by `ct-assistant users add`: name, password hash, groups)")
    p.add_argument("--allow-upload", dest="allow_upload", action="store_true", default=None, help="let users upload documents for ingestion")
    p.add_argument("--upload-max-mb", dest="upload_max_mb", type=float, help="largest upload in MB (default 20)")
    p.add_argument(
        "--feedback-db", dest="feedback_db", metavar="FILE",
        help="SQLite file for feedback (default: the shared catalog's table with --catalog-url, else <store>/feedback.sqlite3)",
    )  # fmt: skip
    p.set_defaults(func=cmd_serve)


def register_feedback(sub: Any) -> None:
    p = sub.add_parser("feedback", help="export the feedback staff gave in the web chat")
    p.add_argument("action", choices=["export"])
    add_store_flags(p)
    p.add_argument(
        "--feedback-db", dest="feedback_db", metavar="FILE",
        help="SQLite file (default: the shared catalog's table with --catalog-url, else <store>/feedback.sqlite3)",
    )  # fmt: skip
    p.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    p.add_argument("--format", dest="fmt", choices=["jsonl", "csv"], default="jsonl")
    from assistant.cli.access import add_groups_flag

    add_groups_flag(p)  # only rows about documents these groups may read
    p.set_defaults(func=cmd_feedback)


def register(sub: Any) -> None:
    """Both subcommands (for callers that want them together)."""
    register_serve(sub)
    register_feedback(sub)


def _settings(args: argparse.Namespace) -> Any:
    s = settings_from(args)
    update: dict[str, Any] = {}
    for flag in ("host", "port", "auth", "auth_file", "allow_upload", "upload_max_mb", "feedback_db"):
        value = getattr(args, flag, None)
        if value is not None:
            update[flag] = value
    if update:
        s = type(s).model_validate({**s.model_dump(), **update})
    return s


def cmd_serve(args: argparse.Namespace) -> int:
    from assistant.ui.app import serve

    settings = _settings(args)
    app = serve(settings, block=False, quiet=True)  # raises (one line) before binding when the rules are broken
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    print(f"ct-assistant: serving http://{host}:{app.server_port or settings.port}/ (Ctrl+C to stop)", file=sys.stderr)
    try:
        while app.is_running:
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("ct-assistant: stopping", file=sys.stderr)
    finally:
        app.close()
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    """Export from where `serve` keeps feedback (`open_feedback`: the SQLite file, or with
    --catalog-url the shared table, whichever host the rows were given on)."""
    from assistant.ui.feedback import open_feedback

    settings = _settings(args)
    store = open_feedback(settings)
    try:
        if not store.exists():
            raise UsageError(f"no {store.kind} at {store.where}")
        visible = None
        if args.groups is not None:  # only rows about documents these groups may read (issue 21)
            from assistant.api import Assistant
            from assistant.cli.access import groups_of

            reader = Assistant(settings, groups=groups_of(args))
            try:
                visible = {d.doc_id for d in reader.documents()}
            finally:
                reader.close()
        if args.out:
            n = store.export(Path(args.out).expanduser(), args.fmt, visible)
            print(f"exported {n} feedback rows to {args.out}", file=sys.stderr)
        else:
            store.export(sys.stdout, args.fmt, visible)
    finally:
        store.close()
    return 0
