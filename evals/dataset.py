"""Typed loader for the evaluation question sets (schema: evals/datasets/README.md).

    ds = load_dataset("evals/datasets/ct_editorials.jsonl")
    ds.kind       # "single" or "conversation"
    ds.items      # list[Item] (single-turn sets)
    ds.conversations  # list[Conversation]
    ds.sha256     # hash of the file bytes, recorded in eval reports

A malformed row raises `DatasetError(path, line, reason)`, whose message is one line:
``path:line: reason``. Structural checks only (types, kinds, required/forbidden fields, tag
vocabulary, unique ids); that evidence is an exact substring of the corpus is checked by
`evals/datasets/check_sets.py` and, against the store, by the runner.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

Kind = Literal["answerable", "unanswerable", "off_topic"]
KINDS = ("answerable", "unanswerable", "off_topic")
TAGS = frozenset({"number", "date", "name", "why", "how", "what", "where", "who", "list", "multi-doc", "paraphrase", "lexical"})
MAX_EVIDENCE = 3
MAX_KEY_FACTS = 3


class DatasetError(ValueError):
    """A question set file is unreadable or a row is malformed."""

    def __init__(self, path: str | Path, line: int | None, reason: str) -> None:
        self.path, self.line, self.reason = str(path), line, reason
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")


class Evidence(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    doc_id: str
    text: str

    @field_validator("doc_id", "text")
    @classmethod
    def _nonempty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty")
        return v


def _norm_facts(v: Any) -> Any:
    """Key facts: each a string or a non-empty list of alternative strings -> list of lists."""
    if not isinstance(v, list):
        return v
    out: list[Any] = []
    for fact in v:
        if isinstance(fact, str):
            out.append([fact])
        else:
            out.append(fact)
    return out


class _Question(BaseModel):
    """Fields shared by a single-turn item and a conversation turn."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Kind
    evidence: list[Evidence] = []
    key_facts: list[list[str]] = []

    _facts = field_validator("key_facts", mode="before")(lambda cls, v: _norm_facts(v))

    @field_validator("key_facts")
    @classmethod
    def _facts_nonempty(cls, v: list[list[str]]) -> list[list[str]]:
        for alts in v:
            if not alts or any(not a.strip() for a in alts):
                raise ValueError("a key fact (or alternative) is empty")
        return v

    @model_validator(mode="after")
    def _by_kind(self) -> _Question:
        if self.kind == "answerable":
            if not 1 <= len(self.evidence) <= MAX_EVIDENCE:
                raise ValueError(f"answerable needs 1-{MAX_EVIDENCE} evidence passages, has {len(self.evidence)}")
            if not 1 <= len(self.key_facts) <= MAX_KEY_FACTS:
                raise ValueError(f"answerable needs 1-{MAX_KEY_FACTS} key facts, has {len(self.key_facts)}")
        elif self.evidence or self.key_facts:
            raise ValueError(f"{self.kind} items must have empty evidence and key_facts")
        return self

    @property
    def doc_ids(self) -> list[str]:
        return list(dict.fromkeys(e.doc_id for e in self.evidence))


class Item(_Question):
    id: str
    question: str
    tags: list[str] = []

    @field_validator("id", "question")
    @classmethod
    def _nonempty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty")
        return v

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str]) -> list[str]:
        bad = sorted(set(v) - TAGS)
        if bad:
            raise ValueError(f"unknown tag(s) {bad}; allowed: {sorted(TAGS)}")
        return v


class Turn(_Question):
    user: str
    standalone: str | None = None

    @field_validator("user")
    @classmethod
    def _nonempty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty")
        return v

    @property
    def question(self) -> str:
        """What a retriever should search for: the standalone rewrite when there is one."""
        return self.standalone or self.user


class Conversation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    turns: list[Turn]

    @model_validator(mode="after")
    def _turns(self) -> Conversation:
        if not self.turns:
            raise ValueError("a conversation needs at least one turn")
        for i, t in enumerate(self.turns[1:], start=2):
            if not t.standalone:
                raise ValueError(f"turn {i} is a follow-up and needs a 'standalone' rewrite")
        return self


@dataclass
class Dataset:
    path: Path
    kind: Literal["single", "conversation"]
    sha256: str
    items: list[Item] = field(default_factory=list)
    conversations: list[Conversation] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.stem

    def __len__(self) -> int:
        return len(self.items) if self.kind == "single" else len(self.conversations)

    def doc_ids(self) -> set[str]:
        ids: set[str] = set()
        for q in self.questions():
            ids.update(q.doc_ids)
        return ids

    def questions(self) -> list[_Question]:
        if self.kind == "single":
            return list(self.items)
        return [t for c in self.conversations for t in c.turns]

    def n_turns(self) -> int:
        return len(self.questions())


def _reason(exc: ValidationError) -> str:
    """First pydantic error as `field: message` on one line."""
    err = exc.errors()[0]
    loc = ".".join(str(x) for x in err.get("loc", ()))
    msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    extra = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return (f"{loc}: {msg}" if loc else msg) + extra


def load_dataset(path: str | Path) -> Dataset:
    """Load and validate a single-turn or conversation set; raises DatasetError naming file:line."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise DatasetError(p, None, f"cannot read: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DatasetError(p, line, "not UTF-8") from exc
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline
    if not lines:
        raise DatasetError(p, None, "empty file: no questions")
    kind: Literal["single", "conversation"] | None = None
    items: list[Item] = []
    convs: list[Conversation] = []
    seen: dict[str, int] = {}
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            raise DatasetError(p, n, "blank line (one JSON object per line, no blank lines)")
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(p, n, f"invalid JSON: {exc.msg} at column {exc.colno}") from exc
        if not isinstance(obj, dict):
            raise DatasetError(p, n, f"want a JSON object, got {type(obj).__name__}")
        row_kind: Literal["single", "conversation"] = "conversation" if "turns" in obj else "single"
        if kind is None:
            kind = row_kind
        elif row_kind != kind:
            raise DatasetError(p, n, f"a {row_kind} row in a {kind} set (conversation rows have 'turns', single-turn rows do not)")
        try:
            if row_kind == "single":
                rec: Item | Conversation = Item.model_validate(obj)
                items.append(rec)  # type: ignore[arg-type]
            else:
                rec = Conversation.model_validate(obj)
                convs.append(rec)
        except ValidationError as exc:
            raise DatasetError(p, n, _reason(exc)) from exc
        if rec.id in seen:
            raise DatasetError(p, n, f"duplicate id {rec.id!r} (first on line {seen[rec.id]})")
        seen[rec.id] = n
    assert kind is not None
    return Dataset(path=p, kind=kind, sha256=hashlib.sha256(raw).hexdigest(), items=items, conversations=convs)
