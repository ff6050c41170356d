"""Public question sets for the answer selector, as (question, passages, gold spans) items.

Sets (files under `/work/shared/benchmarks/`, see each folder's SOURCE.md):

| set | source | split here | used for |
|---|---|---|---|
| `squad2full` | SQuAD 2.0 train reconstructed (123k questions), `evals/squad_full.py` | by article: train / dev / test (sha1 of the title; the 10 sample articles keep their split) | the span reader: train / dev (operating point) / test |
| `squad2` | SQuAD 2.0 train, first 10 articles | by article: train = Beyoncé, Frédéric_Chopin, Sino-Tibetan_relations..., IPod, 2008_Sichuan_earthquake, To_Kill_a_Mockingbird, The_Legend_of_Zelda:_Twilight_Princess; dev = New_York_City, Solar_energy; test = Spectre_(2015_film) | train / dev (operating point) / test |
| `selqa` | SelQA answer-sentence selection | its dev = our train, its test = our test | train / test |
| `trecqa` | TREC-QA (jacana) | its train = train, dev = dev, test = test | train / dev / test |
| `wikiqa` | WikiQA | dev, test | evaluation only (research licence) |

An item is one question with its passages (documents) and the gold spans in them; an item
with no gold span is unanswerable. Passages of SelQA / WikiQA are the candidate sentences of a
section joined by blank lines (each a sentence block, gold = the candidate's span); TREC-QA's
candidates come from different news articles, so each is its own passage.

Synthetic unanswerable items (`synthetic_unanswerable`) are made from answerable ones:
- `neighbour`: the question paired with the paragraph before/after its own (same article);
- `swap`: one entity, number or year of the question replaced with another of the same kind
  that the paragraph does not contain, or a key word replaced with its antonym / negated;
the gold sentence is then a hard negative. SelQA's test set gets `other-section` items: the
question paired with the section of the next question from another article.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import os

#: `../shared/benchmarks` beside the repository (or $CT_BENCHMARKS)
ROOT = Path(os.environ.get("CT_BENCHMARKS") or next(
    (p for p in (Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks", Path("/work/shared/benchmarks")) if p.exists()),
    Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks",
))

SQUAD_SPLIT = {
    "train": (
        "Beyoncé",
        "Frédéric_Chopin",
        "Sino-Tibetan_relations_during_the_Ming_dynasty",
        "IPod",
        "2008_Sichuan_earthquake",
        "To_Kill_a_Mockingbird",
        "The_Legend_of_Zelda:_Twilight_Princess",
    ),
    "dev": ("New_York_City", "Solar_energy"),
    "test": ("Spectre_(2015_film)",),
}
SETS = ("squad2", "selqa", "trecqa", "wikiqa")  # squad2full: evals/squad_full.py
#: splits our training may read (never wikiqa, never a test split)
TRAIN_SPLITS = {"squad2": ("train",), "selqa": ("train",), "trecqa": ("train",)}


class QADataError(ValueError):
    """A set or split name is unknown, or its files are missing."""


@dataclass
class Passage:
    pid: str
    title: str
    text: str


@dataclass
class Item:
    qid: str
    question: str
    passages: list[Passage]
    #: gold (pid, start, end) character spans: the answer (SQuAD) or the answering sentence
    gold: list[tuple[str, int, int]] = field(default_factory=list)
    kind: str = "natural"  # natural | neighbour | swap | other-section
    group: str = ""  # article / topic (for grouped splits)

    @property
    def answerable(self) -> bool:
        return bool(self.gold)


def _pid(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode()).hexdigest()[:12]


def _open(path: Path) -> io.TextIOBase:
    if not path.exists():
        raise QADataError(f"{path}: missing (see {path.parent}/SOURCE.md)")
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")  # noqa: SIM115


def _joined(title: str, sentences: list[str], key: str) -> tuple[Passage, list[tuple[int, int]]]:
    spans, parts, pos = [], [], 0
    for s in sentences:
        s = " ".join(s.split())
        spans.append((pos, pos + len(s)))
        parts.append(s)
        pos += len(s) + 2
    return Passage(_pid(key, title), title, "\n\n".join(parts)), spans


# --- loaders ---------------------------------------------------------------------------------
def squad2(split: str, root: Path = ROOT) -> list[Item]:
    if split not in SQUAD_SPLIT:
        raise QADataError(f"squad2: unknown split {split!r} (train, dev, test)")
    with _open(root / "squad2-train-sample" / "train-v2.0.first10articles.json") as f:
        data = json.load(f)["data"]
    items = []
    for art in data:
        if art["title"] not in SQUAD_SPLIT[split]:
            continue
        for i, para in enumerate(art["paragraphs"]):
            p = Passage(_pid("squad", art["title"], str(i)), art["title"].replace("_", " "), para["context"])
            for qa in para["qas"]:
                gold = [(p.pid, a["answer_start"], a["answer_start"] + len(a["text"])) for a in qa["answers"]]
                items.append(Item(qa["id"], qa["question"], [p], gold, group=art["title"]))
    return items


def squad2_paragraphs(split: str, root: Path = ROOT) -> dict[str, list[Passage]]:
    """Article -> its paragraphs in order (the pool for open mode and neighbour negatives)."""
    out: dict[str, list[Passage]] = {}
    seen: set[str] = set()
    for it in squad2(split, root):
        p = it.passages[0]
        if p.pid not in seen:
            seen.add(p.pid)
            out.setdefault(it.group, []).append(p)
    return out


def selqa(split: str, root: Path = ROOT) -> list[Item]:
    files = {"train": "selqa-ass-dev.json.gz", "test": "selqa-ass-test.json.gz"}
    if split not in files:
        raise QADataError(f"selqa: unknown split {split!r} (train = the official dev, test)")
    with _open(root / "selqa-ass" / files[split]) as f:
        data = json.load(f)
    items = []
    for n, q in enumerate(data):
        p, spans = _joined(f"{q['article']}: {q['section']}", q["candidates"], f"selqa{split}{n}")
        gold = [(p.pid, *spans[i]) for i in q["answers"]]
        items.append(Item(f"selqa-{split}-{n}", q["question"], [p], gold, group=q["article"]))
    return items


def selqa_with_other_sections(split: str, root: Path = ROOT) -> list[Item]:
    """The set plus, per question, an unanswerable twin: the next question's section from another article."""
    items = selqa(split, root)
    out = list(items)
    for i, it in enumerate(items):
        for j in range(1, len(items)):
            other = items[(i + j) % len(items)]
            if other.group != it.group:
                out.append(Item(it.qid + "-other", it.question, other.passages, [], "other-section", it.group))
                break
    return out


def trecqa(split: str, root: Path = ROOT) -> list[Item]:
    if split not in ("train", "dev", "test"):
        raise QADataError(f"trecqa: unknown split {split!r} (train, dev, test)")
    groups: dict[str, list[tuple[str, int]]] = {}
    with _open(root / "trecqa" / f"trecqa-{split}.csv.gz") as f:
        for row in csv.DictReader(f):
            groups.setdefault(row["qtext"], []).append((row["atext"], int(row["label"])))
    items = []
    for n, (q, cands) in enumerate(groups.items()):
        passages, gold = [], []
        for k, (text, label) in enumerate(cands):
            text = " ".join(text.split())
            p = Passage(_pid("trec", split, str(n), str(k)), "", text)
            passages.append(p)
            if label:
                gold.append((p.pid, 0, len(text)))
        items.append(Item(f"trecqa-{split}-{n}", q, passages, gold))
    return items


def wikiqa(split: str, root: Path = ROOT) -> list[Item]:
    if split not in ("dev", "test"):
        raise QADataError(f"wikiqa: split {split!r} not allowed (dev, test; evaluation only)")
    rows: dict[str, list[list[str]]] = {}
    with _open(root / "wikiqa" / f"WikiQA-{split}.tsv.gz") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        for r in reader:
            rows.setdefault(r[0], []).append(r)
    items = []
    for qid, rs in rows.items():
        p, spans = _joined(rs[0][3], [r[5] for r in rs], f"wikiqa{qid}")
        gold = [(p.pid, *spans[i]) for i, r in enumerate(rs) if r[6].strip() == "1"]
        items.append(Item(f"wikiqa-{qid}", rs[0][1], [p], gold, group=rs[0][3]))
    return items


def load(name: str, split: str, root: Path = ROOT) -> list[Item]:
    if name == "squad2":
        return squad2(split, root)
    if name == "selqa":
        return selqa_with_other_sections(split, root) if split == "test" else selqa(split, root)
    if name == "trecqa":
        return trecqa(split, root)
    if name == "wikiqa":
        return wikiqa(split, root)
    raise QADataError(f"unknown set {name!r} (one of {', '.join(SETS)})")


# --- synthetic unanswerable questions -----------------------------------------------------------
ANTONYMS = {
    "first": "last", "last": "first", "before": "after", "after": "before", "largest": "smallest",
    "smallest": "largest", "most": "least", "least": "most", "highest": "lowest", "lowest": "highest",
    "increase": "decrease", "decrease": "increase", "increased": "decreased", "decreased": "increased",
    "into": "out of", "directly": "indirectly", "north": "south", "south": "north", "east": "west",
    "west": "east", "won": "lost", "lost": "won", "early": "late", "late": "early", "older": "younger",
    "younger": "older", "oldest": "youngest", "youngest": "oldest", "best": "worst", "worst": "best",
    "begin": "end", "began": "ended", "start": "end", "started": "ended", "more": "fewer", "longest": "shortest",
    "public": "private", "private": "public", "major": "minor", "above": "below", "below": "above",
    "inside": "outside", "success": "failure", "positive": "negative", "allowed": "banned", "banned": "allowed",
}
_AUX = re.compile(r"\b(did|does|do|was|were|is|are|can|could|has|have|had|will|would)\b", re.I)
_CAP = re.compile(r"\b[A-Z][a-z]{2,}(?:\s+[A-Z][a-z]+)*\b")
_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")


def _swap(question: str, passage: str, names: list[str], rng: random.Random) -> str | None:
    """A variant of the question that the passage no longer answers, or None."""
    low = passage.lower()
    ops = []
    for m in _YEAR.finditer(question):
        ops.append(("year", m))
    for m in _CAP.finditer(question):
        if m.start() > 0:
            ops.append(("name", m))
    for w in re.finditer(r"\b[a-z]+\b", question):
        if w.group(0) in ANTONYMS:
            ops.append(("antonym", w))
    if _AUX.search(question):
        ops.append(("negate", _AUX.search(question)))
    rng.shuffle(ops)
    for kind, m in ops:
        if kind == "year":
            new = str(int(m.group(0)) + rng.choice([-7, -3, 2, 5, 11]))
            if new in passage:
                continue
        elif kind == "name":
            pool = [n for n in names if n.lower() not in low and n != m.group(0)]
            if not pool:
                continue
            new = rng.choice(pool)
        elif kind == "antonym":
            new = ANTONYMS[m.group(0)]
            if re.search(rf"\b{re.escape(new)}\b", low):
                continue
        else:
            new = m.group(0) + " not"
        return question[: m.start()] + new + question[m.end() :]
    return None


def synthetic_unanswerable(items: list[Item], paragraphs: dict[str, list[Passage]], seed: int = 13) -> Iterator[Item]:
    """For answerable SQuAD items: a neighbour-paragraph twin and a swapped-question twin."""
    rng = random.Random(seed)
    names_by_article: dict[str, list[str]] = {}
    for art, paras in paragraphs.items():
        found: dict[str, None] = {}
        for p in paras:
            for m in _CAP.finditer(p.text):
                found.setdefault(m.group(0))
        names_by_article[art] = list(found)
    index = {p.pid: (art, i) for art, paras in paragraphs.items() for i, p in enumerate(paras)}
    for it in items:
        if not it.answerable:
            continue
        p = it.passages[0]
        art, i = index[p.pid]
        paras = paragraphs[art]
        answer = p.text[it.gold[0][1] : it.gold[0][2]].lower()
        for j in (i + 1, i - 1):
            if 0 <= j < len(paras) and answer not in paras[j].text.lower():
                yield Item(it.qid + "-nb", it.question, [paras[j]], [], "neighbour", it.group)
                break
        q2 = _swap(it.question, p.text, names_by_article[art], rng)
        if q2:
            yield Item(it.qid + "-sw", q2, [p], [], "swap", it.group)
