"""`ct-assistant chat`: a terminal conversation, or `--json` (one user turn per stdin line in, one
answer JSON per line out). `/new` starts a new conversation. Imports stay inside the commands so
`ct-assistant --help` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

NEW = "/new"
QUIT = {"/quit", "/exit"}


def register(sub: Any) -> None:
    from assistant.cli.common import add_llm_flags, add_store_flags

    p = sub.add_parser("chat", help="a conversation: follow-up questions are rewritten from earlier turns")
    add_store_flags(p)
    add_llm_flags(p)
    p.add_argument("--top-k", type=int, default=None, help="passages to retrieve (default 5)")
    p.add_argument("--json", action="store_true", help="read one turn per stdin line, write one answer JSON per line")
    from assistant.cli.access import add_groups_flag

    add_groups_flag(p)
    p.set_defaults(func=cmd_chat)


def cmd_chat(args: argparse.Namespace) -> int:
    from assistant.api import Assistant
    from assistant.cli.access import groups_of, local_user
    from assistant.cli.common import emit, format_answer, settings_from
    from assistant.errors import AssistantError

    assistant = Assistant(settings_from(args), groups=groups_of(args), user=local_user())
    session = assistant.chat()
    failed = 0
    interactive = not args.json and sys.stdin.isatty()
    if interactive:
        print(f"Ask about the documents ({NEW} = new conversation, Ctrl-D = quit).")
    while True:
        if interactive:
            try:
                line = input("> ")
            except EOFError:
                print()
                break
        else:
            raw = sys.stdin.readline()
            if not raw:
                break
            line = raw
        text = line.strip()
        if not text:
            continue
        if text in QUIT:
            break
        if text == NEW:
            session.reset()
            if not args.json:
                print("(new conversation)")
            continue
        try:
            answer = session.send(text, top_k=args.top_k)
        except AssistantError as exc:
            failed += 1
            if args.json:
                emit({"question": text, "error": str(exc)})
            else:
                print(f"error: {exc}", file=sys.stderr)
            continue
        d = answer.to_dict()
        if args.json:
            emit(d)
        else:
            print(format_answer(d))
            if d.get("notice"):
                print(f"(note: {d['notice']})")
            print()
    assistant.close()
    return 1 if failed and args.json else 0
