"""The reconstructed SQuAD 2.0 train set (`../shared/benchmarks/squad2-train`), split by article.

Splits (fixed, by article title; questions of one paragraph are near-duplicates, so never by question):
- the 10 articles of `squad2-train-sample` keep the split `evals.qa_data.SQUAD_SPLIT` gives them;
- every other article goes to `test` when sha1(title) % 100 < 6, to `dev` when < 10, else `train`.
`dev` chooses operating points; `test` is only reported. Nothing here is SQuAD 2.0 dev data.

Records are plain dicts: {qid, question, title, context, pid, answers: [(start, end)], impossible}.
`answers` are character spans in `context`; the reconstruction gives the first occurrence of the
answer text, so `answer_spans` re-places it at the occurrence whose neighbourhood shares most
words with the question.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from evals.qa_data import ROOT, SQUAD_SPLIT, Item, Passage, QADataError, _pid

FILE = "squad2-train/squad2-train-reconstructed.json.gz"
SPLITS = ("train", "dev", "test")
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "the a an of in on at to for by with from and or is are was were be been what which who whom whose when where why how "
    "did do does that this these those it its as into than then there their they he she his her has have had not".split()
)


@dataclass(frozen=True)
class Record:
    qid: str
    question: str
    title: str
    pid: str
    context: str
    answers: tuple[tuple[int, int], ...]

    @property
    def impossible(self) -> bool:
        return not self.answers


def split_of(title: str) -> str:
    for name, titles in SQUAD_SPLIT.items():
        if title in titles:
            return name
    h = int(hashlib.sha1(title.encode("utf-8")).hexdigest(), 16) % 100
    return "test" if h < 6 else "dev" if h < 10 else "train"


def words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1}


def answer_spans(context: str, question: str, text: str, given: int) -> tuple[int, int]:
    """The answer's span: the given offset, or the occurrence that sits among the question's words."""
    occurrences = [m.start() for m in re.finditer(re.escape(text), context)]
    if not occurrences:
        return given, given + len(text)
    if len(occurrences) == 1:
        return occurrences[0], occurrences[0] + len(text)
    q = words(question)

    def near(i: int) -> tuple[int, int]:
        return len(q & words(context[max(0, i - 150) : i + len(text) + 150])), int(i == given)

    best = max(occurrences, key=near)
    return best, best + len(text)


@lru_cache(maxsize=1)
def _articles(root: Path = ROOT) -> tuple[dict, ...]:
    path = root / FILE
    if not path.exists():
        raise QADataError(f"{path}: missing (see {path.parent}/SOURCE.md)")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return tuple(json.load(f)["data"])


def load(split: str, root: Path = ROOT) -> list[Record]:
    """Every question of the split's articles, in file order."""
    if split not in SPLITS:
        raise QADataError(f"squad2-train: unknown split {split!r} ({', '.join(SPLITS)})")
    out: list[Record] = []
    for art in _articles(root):
        title = art["title"]
        if split_of(title) != split:
            continue
        for p_no, para in enumerate(art["paragraphs"]):
            ctx = para["context"]
            pid = f"{title}#{p_no}"
            for qa in para["qas"]:
                spans: list[tuple[int, int]] = []
                if not qa.get("is_impossible"):
                    for a in qa.get("answers", [])[:1]:
                        spans.append(answer_spans(ctx, qa["question"], a["text"], int(a["answer_start"])))
                out.append(Record(qa["id"], qa["question"], title, pid, ctx, tuple(spans)))
    return out


def paragraphs(split: str, root: Path = ROOT) -> dict[str, list[tuple[str, str]]]:
    """Per article of the split: its paragraphs as (pid, text)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for art in _articles(root):
        if split_of(art["title"]) == split:
            out[art["title"]] = [(f"{art['title']}#{i}", p["context"]) for i, p in enumerate(art["paragraphs"])]
    return out


def topical_others(rec: Record, article: list[tuple[str, str]], k: int = 1) -> list[tuple[str, str]]:
    """The k other paragraphs of the record's article sharing most words with its question,
    skipping any that contains the answer text (so none of them answers)."""
    q = words(rec.question)
    answers = [rec.context[s:e].lower() for s, e in rec.answers]
    cands = [(pid, text) for pid, text in article if pid != rec.pid and not any(a and a in _lower(text) for a in answers)]
    cands.sort(key=lambda pt: len(q & _words(pt[1])), reverse=True)
    return cands[:k]


@lru_cache(maxsize=32768)
def _words(text: str) -> frozenset[str]:
    return frozenset(words(text))


@lru_cache(maxsize=32768)
def _lower(text: str) -> str:
    return text.lower()


def items(split: str, root: Path = ROOT) -> list[Item]:
    """The split as answer-selection items (`evals.qa_data.Item`); gold = the answer span."""
    out = []
    for r in load(split, root):
        p = Passage(_pid("squadfull", r.pid), r.title.replace("_", " "), r.context)
        out.append(Item(r.qid, r.question, [p], [(p.pid, s, e) for s, e in r.answers], group=r.title))
    return out


def article_passages(split: str, root: Path = ROOT) -> dict[str, list[Passage]]:
    """Per article of the split, its paragraphs as `Passage`s (the pool of open and topical modes)."""
    return {
        art: [Passage(_pid("squadfull", pid), art.replace("_", " "), text) for pid, text in paras]
        for art, paras in paragraphs(split, root).items()
    }
