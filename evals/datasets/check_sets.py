#!/usr/bin/env python3
"""Validate the evaluation question sets (stdlib only).

Usage:
    python evals/datasets/check_sets.py                 # the three shipped sets
    python evals/datasets/check_sets.py FILE.jsonl ...  # any single-turn or conversation set
    python evals/datasets/check_sets.py --corpus DIR    # corpus other than data/corpus

A file is a conversation set when its records carry "turns"; otherwise it is a
single-turn set. Checks (see README.md in this folder for the schema):

* one JSON object per line (blank lines are not allowed), unique ids per file
  and across all files given;
* required fields and their types, `kind` in {answerable, unanswerable, off_topic},
  tags from the fixed vocabulary;
* answerable: 1-3 evidence passages and 1-3 key facts; unanswerable/off_topic:
  both empty;
* every evidence `text` is an exact substring of ONE line of
  <corpus>/<doc_id>.txt (never crossing a newline, never touching the stripped
  ` date YYYY-MM-DD ` header of the first line);
* every key fact (or one of its alternatives) occurs, case-insensitively, in at
  least one of the item's evidence texts;
* `multi-doc` items (answerable only) cite at least two documents and items
  citing two documents are tagged `multi-doc`; `paraphrase` and `lexical` are
  exclusive; follow-up turns carry a `standalone` rewrite that differs from
  the user turn;
* no question is repeated within or across the files given.

Prints a summary (counts per kind and tag) and exits 1, naming file:line, on any
problem.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DEFAULT_FILES = [HERE / "ct_editorials.jsonl", HERE / "ct_conversations.jsonl", HERE / "ct_dev.jsonl"]

KINDS = {"answerable", "unanswerable", "off_topic"}
TAGS = {
    "number", "date", "name", "why", "how", "what", "where", "who", "list",
    "multi-doc", "paraphrase", "lexical",
}
# The ingest step strips this header from the first line of a document.
HEADER_RE = re.compile(r"^\s*date\s+\d{4}-\d{2}-\d{2}\s+")
MAX_EVIDENCE = 3
MAX_KEY_FACTS = 3


class Checker:
    def __init__(self, corpus: Path) -> None:
        self.corpus = corpus
        self.problems: list[str] = []
        self._lines: dict[str, list[str] | None] = {}
        self.ids: dict[str, str] = {}  # id -> where first seen
        self.questions: dict[str, str] = {}  # normalised question -> where first seen

    # -- helpers -----------------------------------------------------------------
    def problem(self, where: str, msg: str) -> None:
        self.problems.append(f"{where}: {msg}")

    def doc_lines(self, doc_id: str) -> list[str] | None:
        if doc_id not in self._lines:
            path = self.corpus / f"{doc_id}.txt"
            if not path.is_file():
                self._lines[doc_id] = None
            else:
                lines = path.read_text(encoding="utf-8").split("\n")
                lines = [ln.rstrip("\r") for ln in lines]
                if lines:
                    m = HEADER_RE.match(lines[0])
                    if m:
                        lines[0] = lines[0][m.end():]
                self._lines[doc_id] = lines
        return self._lines[doc_id]

    def note_question(self, where: str, question: str) -> None:
        key = " ".join(re.findall(r"[a-z0-9]+", question.lower()))
        if key in self.questions:
            self.problem(where, f"question repeats {self.questions[key]}")
        else:
            self.questions[key] = where

    def note_id(self, where: str, item_id: object) -> None:
        if not isinstance(item_id, str) or not item_id:
            self.problem(where, "id must be a non-empty string")
            return
        if item_id in self.ids:
            self.problem(where, f"duplicate id {item_id!r} (first at {self.ids[item_id]})")
        else:
            self.ids[item_id] = where

    # -- one question (a single-turn item or a conversation turn) ------------------
    def check_question(self, where: str, item: dict, question_field: str) -> tuple[str | None, list[str]]:
        q = item.get(question_field)
        if not isinstance(q, str) or not q.strip():
            self.problem(where, f"{question_field!r} must be a non-empty string")
        kind = item.get("kind")
        if kind not in KINDS:
            self.problem(where, f"kind must be one of {sorted(KINDS)}, got {kind!r}")
            kind = None

        evidence = item.get("evidence")
        if not isinstance(evidence, list):
            self.problem(where, "evidence must be a list")
            evidence = []
        texts: list[str] = []
        docs: set[str] = set()
        for i, ev in enumerate(evidence):
            ew = f"{where} evidence[{i}]"
            if not isinstance(ev, dict) or set(ev) != {"doc_id", "text"}:
                self.problem(ew, "must be an object with exactly doc_id and text")
                continue
            doc_id, text = ev["doc_id"], ev["text"]
            if not isinstance(doc_id, str) or not isinstance(text, str) or not text.strip():
                self.problem(ew, "doc_id and text must be non-empty strings")
                continue
            if text != text.strip():
                self.problem(ew, "text has leading/trailing whitespace")
            if "\n" in text:
                self.problem(ew, "text crosses a newline")
                continue
            lines = self.doc_lines(doc_id)
            if lines is None:
                self.problem(ew, f"no such document {self.corpus / (doc_id + '.txt')}")
                continue
            if not any(text in line for line in lines):
                self.problem(ew, f"text is not an exact substring of a line of {doc_id}.txt: {text[:80]!r}")
                continue
            texts.append(text)
            docs.add(doc_id)

        facts = item.get("key_facts")
        if not isinstance(facts, list):
            self.problem(where, "key_facts must be a list")
            facts = []
        for i, fact in enumerate(facts):
            fw = f"{where} key_facts[{i}]"
            alts = fact if isinstance(fact, list) else [fact]
            if not alts or not all(isinstance(a, str) and a.strip() for a in alts):
                self.problem(fw, "must be a non-empty string or a non-empty list of non-empty strings")
                continue
            if texts and not any(a.lower() in t.lower() for a in alts for t in texts):
                self.problem(fw, f"{alts!r} occurs in none of the item's evidence texts")

        if kind == "answerable":
            if not 1 <= len(evidence) <= MAX_EVIDENCE:
                self.problem(where, f"answerable items need 1-{MAX_EVIDENCE} evidence passages, got {len(evidence)}")
            if not 1 <= len(facts) <= MAX_KEY_FACTS:
                self.problem(where, f"answerable items need 1-{MAX_KEY_FACTS} key facts, got {len(facts)}")
        elif kind is not None:
            if evidence:
                self.problem(where, f"{kind} items must have empty evidence")
            if facts:
                self.problem(where, f"{kind} items must have empty key_facts")
        return kind, sorted(docs)

    # -- files -------------------------------------------------------------------
    def check_file(self, path: Path) -> dict:
        summary: dict = {"file": path, "items": 0, "kinds": Counter(), "tags": Counter(), "turns": 0,
                         "turn_kinds": Counter(), "conversations": 0, "unanswerable_followups": 0}
        try:
            raw = path.read_text(encoding="utf-8")
        except OSError as exc:
            self.problem(str(path), f"cannot read: {exc}")
            return summary
        try:
            shown = path.relative_to(ROOT)
        except ValueError:
            shown = path
        lines = raw.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        for lineno, line in enumerate(lines, 1):
            where = f"{shown}:{lineno}"
            if not line.strip():
                self.problem(where, "blank line")
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                self.problem(where, f"invalid JSON: {exc}")
                continue
            if not isinstance(obj, dict):
                self.problem(where, "line is not a JSON object")
                continue
            summary["items"] += 1
            self.note_id(where, obj.get("id"))
            if "turns" in obj:
                self.check_conversation(where, obj, summary)
            else:
                self.check_single(where, obj, summary)
        if summary["items"] == 0:
            self.problem(str(shown), "file is empty")
        elif summary["conversations"] and summary["items"] != summary["conversations"]:
            self.problem(str(shown), "file mixes conversations and single-turn items")
        return summary

    def check_single(self, where: str, obj: dict, summary: dict) -> None:
        allowed = {"id", "kind", "question", "evidence", "key_facts", "tags"}
        extra = set(obj) - allowed
        if extra:
            self.problem(where, f"unknown fields {sorted(extra)}")
        missing = allowed - set(obj)
        if missing:
            self.problem(where, f"missing fields {sorted(missing)}")
        kind, docs = self.check_question(where, obj, "question")
        if isinstance(obj.get("question"), str):
            self.note_question(where, obj["question"])
        tags = obj.get("tags")
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            self.problem(where, "tags must be a list of strings")
            tags = []
        bad = [t for t in tags if t not in TAGS]
        if bad:
            self.problem(where, f"unknown tags {bad}")
        if len(set(tags)) != len(tags):
            self.problem(where, "repeated tag")
        if "paraphrase" in tags and "lexical" in tags:
            self.problem(where, "an item is either paraphrase or lexical, not both")
        if kind != "answerable" and "multi-doc" in tags:
            self.problem(where, "only answerable items can be multi-doc")
        if "multi-doc" in tags and len(docs) < 2:
            self.problem(where, "multi-doc item must cite evidence from at least two documents")
        if kind == "answerable" and len(docs) >= 2 and "multi-doc" not in tags:
            self.problem(where, "evidence spans several documents but the item is not tagged multi-doc")
        if kind:
            summary["kinds"][kind] += 1
            for t in tags:
                summary["tags"][(kind, t)] += 1

    def check_conversation(self, where: str, obj: dict, summary: dict) -> None:
        extra = set(obj) - {"id", "turns"}
        if extra:
            self.problem(where, f"unknown fields {sorted(extra)}")
        turns = obj.get("turns")
        if not isinstance(turns, list) or not 2 <= len(turns) <= 3:
            self.problem(where, "turns must be a list of 2-3 turns")
            return
        summary["conversations"] += 1
        allowed = {"user", "standalone", "kind", "evidence", "key_facts"}
        for i, turn in enumerate(turns):
            tw = f"{where} turn[{i}]"
            if not isinstance(turn, dict):
                self.problem(tw, "turn is not an object")
                continue
            extra = set(turn) - allowed
            if extra:
                self.problem(tw, f"unknown fields {sorted(extra)}")
            missing = {"user", "kind", "evidence", "key_facts"} - set(turn)
            if missing:
                self.problem(tw, f"missing fields {sorted(missing)}")
            kind, _ = self.check_question(tw, turn, "user")
            if i > 0:
                sa = turn.get("standalone")
                if not isinstance(sa, str) or not sa.strip():
                    self.problem(tw, "follow-up turns need a non-empty 'standalone' rewrite")
                elif isinstance(turn.get("user"), str) and sa.strip() == turn["user"].strip():
                    self.problem(tw, "standalone equals the user turn; a follow-up should depend on earlier turns")
                if kind == "unanswerable":
                    summary["unanswerable_followups"] += 1
            elif "standalone" in turn and not isinstance(turn["standalone"], str):
                self.problem(tw, "standalone must be a string")
            summary["turns"] += 1
            if kind:
                summary["turn_kinds"][kind] += 1


def print_summary(s: dict) -> None:
    try:
        name = s["file"].relative_to(ROOT)
    except ValueError:
        name = s["file"]
    if s["conversations"]:
        kinds = ", ".join(f"{k}={v}" for k, v in sorted(s["turn_kinds"].items()))
        print(f"{name}: {s['conversations']} conversations, {s['turns']} turns ({kinds}); "
              f"unanswerable follow-ups={s['unanswerable_followups']}")
        if not s["kinds"]:
            return
    kinds = ", ".join(f"{k}={v}" for k, v in sorted(s["kinds"].items()))
    print(f"{name}: {sum(s['kinds'].values())} items ({kinds})")
    for kind in sorted({k for k, _ in s["tags"]}):
        tags = ", ".join(f"{t}={n}" for (k, t), n in sorted(s["tags"].items()) if k == kind)
        print(f"  tags[{kind}]: {tags}")
    n_ans = s["kinds"].get("answerable", 0)
    if n_ans:
        para = s["tags"].get(("answerable", "paraphrase"), 0)
        multi = s["tags"].get(("answerable", "multi-doc"), 0)
        print(f"  answerable: paraphrase {para}/{n_ans} ({para / n_ans:.0%}), multi-doc {multi}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*", type=Path, help="JSONL sets (default: the three shipped sets)")
    ap.add_argument("--corpus", type=Path, default=ROOT / "data" / "corpus", help="folder of <doc_id>.txt files")
    args = ap.parse_args(argv)

    checker = Checker(args.corpus)
    files = [f.resolve() for f in args.files] or DEFAULT_FILES
    summaries = [checker.check_file(f) for f in files]
    for s in summaries:
        print_summary(s)
    if checker.problems:
        print(f"\n{len(checker.problems)} problem(s):", file=sys.stderr)
        for p in checker.problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
