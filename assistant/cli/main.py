"""`ct-assistant`: ingest, ask, docs (and chat, serve, eval, bench from their own modules).

Exit status: 0 ok; 1 the command ran but something failed (e.g. some files could not be
ingested, an eval gate failed); 2 usage or input error, reported as one line on stderr.
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
from collections.abc import Callable, Sequence
from typing import Any

from assistant.cli.access import add_groups_flag, groups_of, local_user
from assistant.cli.common import UsageError, add_llm_flags, add_store_flags, emit, filters_from, format_answer, plural, settings_from
from assistant.text.oneline import shown

PROG = "ct-assistant"
SUPPORTED_TEXT = "documents are .txt .md .html .pdf .docx"


# --- commands --------------------------------------------------------------------------
def cmd_ingest(args: argparse.Namespace) -> int:
    from assistant.api import Assistant

    a = Assistant(settings_from(args), user=local_user())
    report = a.ingest(args.paths, prune=args.prune, show_progress=not args.json and sys.stderr.isatty(), access=args.access)
    if args.json:
        emit(report.to_dict())
    else:
        print(
            f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, removed {report.removed}, "
            f"failed {len(report.failed)}; store has {plural(report.documents, 'document')}, {plural(report.chunks, 'chunk')}"
        )
        if report.skipped:
            print(f"skipped {plural(report.skipped, 'file')} that {'is' if report.skipped == 1 else 'are'} not a document type ({SUPPORTED_TEXT})")
        for f in report.failed:
            print(f"failed: {shown(f.path)}: {shown(f.error)}", file=sys.stderr)
        for f in report.warnings:
            print(f"warning: {shown(f.path)}: {shown(f.error)}", file=sys.stderr)
    return 1 if report.failed else 0


def cmd_ask(args: argparse.Namespace) -> int:
    from assistant.api import Assistant

    a = Assistant(settings_from(args), groups=groups_of(args), user=local_user())
    filters = filters_from(args)
    answer = a.ask(args.question, top_k=args.top_k, filters=filters)
    d = answer.to_dict()
    if args.json:
        emit(d)
    else:
        print(format_answer(d, filters))
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from assistant.api import Assistant

    a = Assistant(settings_from(args), groups=groups_of(args))
    if args.action == "list":
        docs = a.documents()
        if args.json:
            emit([d.model_dump() for d in docs])
        else:
            for d in docs:
                print(f"{shown(d.doc_id)}\t{d.date or '-'}\t{plural(d.chunks, 'chunk')}\t{shown(d.title)}")
        return 0
    if not args.doc_id:
        raise UsageError("docs show needs a DOC_ID")
    doc = a.document(args.doc_id)
    if args.json:
        pages = [p.model_dump() for p in doc.pages] if doc.pages else None
        sections = [x.model_dump() for x in doc.sections] if doc.sections else None
        emit({"doc_id": doc.doc_id, "source": doc.source, "title": doc.title, "date": doc.date, "text": doc.text, "pages": pages, "sections": sections})
    else:
        print(f"{doc.title}\n{doc.doc_id} | {doc.date or 'no date'} | {doc.source}\n\n{doc.text}")
    return 0


# --- parser ------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Answers about CT policy documents, citing exact passages.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="read, chunk and embed documents into the store")
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or folders (.txt .md .html .pdf .docx)")
    add_store_flags(p)
    p.add_argument("--prune", action="store_true", help="remove documents whose files are gone")
    p.add_argument(
        "--access", metavar="G1,G2", default=None,
        help="who may read these documents: access groups (default: `all` for new documents; stored ones keep theirs)",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("ask", help="answer one question with citations")
    p.add_argument("question")
    add_store_flags(p)
    add_llm_flags(p)
    p.add_argument("--top-k", type=int, default=None, help="passages to retrieve (default 5)")
    p.add_argument("--doc", action="append", metavar="DOC_ID", help="only this document (repeatable)")
    p.add_argument("--source", action="append", metavar="PATH", help="only documents from this source path (repeatable)")
    p.add_argument("--date-from", metavar="YYYY-MM-DD")
    p.add_argument("--date-to", metavar="YYYY-MM-DD")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    add_groups_flag(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("docs", help="list documents or show one")
    p.add_argument("action", choices=["list", "show"])
    p.add_argument("doc_id", nargs="?")
    add_store_flags(p)
    p.add_argument("--json", action="store_true")
    add_groups_flag(p)
    p.set_defaults(func=cmd_docs)

    for register in _extensions():
        register(sub)
    return parser


def _extensions() -> list[Callable[[Any], None]]:
    """Subcommands defined next to their code (chat, serve/feedback, eval, bench); each import is cheap."""
    import importlib

    modules = ("assistant.cli.chat", "assistant.cli.serve", "assistant.cli.access", "evals.cli", "benchmarks.cli")
    return [importlib.import_module(m).register for m in modules]


def main(argv: Sequence[str] | None = None) -> int:
    from assistant.config import apply_offline_env

    apply_offline_env()
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING if args.verbose == 0 else logging.INFO if args.verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("sentence_transformers", "chromadb", "httpx", "transformers"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    # pypdf warns about every repaired cross-reference; a file it cannot read is reported once, by ingest
    logging.getLogger("pypdf").setLevel(logging.ERROR if args.verbose < 2 else logging.DEBUG)
    from pydantic import ValidationError

    from assistant.errors import AssistantError

    try:
        return int(args.func(args) or 0)
    except AssistantError as exc:
        print(f"{PROG}: error: {shown(exc)}", file=sys.stderr)
        return 2
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ())) or "settings"
        print(f"{PROG}: error: invalid setting {where}: {first.get('msg')}", file=sys.stderr)
        return 2
    except sqlite3.DatabaseError as exc:  # a catalog damaged in a way only a query finds ("malformed")
        store = getattr(args, "store", None) or "the store"
        print(f"{PROG}: error: store {shown(store)}: damaged catalog ({exc}); rebuild it with `ct-assistant ingest`", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
