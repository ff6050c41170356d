"""Conflict probes, built the way counterfactual benchmarks build them: a passage and a copy of it
whose answer is swapped for another answer of the same kind from the same article.

For each answerable item whose answer is a number / year or a name (capitalised words), the
replacement is another question's answer of that kind in the same article that the passage does
not contain. The answerer gets two documents, the true passage and the swapped copy (in an order
fixed by the question id), and must say "Sources disagree" (`Answer.conflicts`) naming both. The
false-alarm twin gives it the same passage twice (two documents, identical text): no note allowed.

Counted: `flagged` (probes with a conflicts note), `swapped_unflagged` (the swapped copy's sentence
quoted with no note), `false_alarms` (notes on the twins), `refused` (either kind).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from evals.qa_data import Item, Passage

_NUM = re.compile(r"\d")
_NAME = re.compile(r"^(?:[A-Z][\w'’.-]*)(?:\s+(?:of|the|de|von|van|and|[A-Z][\w'’.-]*))*$")


@dataclass
class Probe:
    item: Item
    passages: list[Passage]  # [true, swapped] or [swapped, true]
    swapped_pid: str
    twin: list[Passage]  # the true passage twice


def kind_of(value: str) -> str | None:
    v = value.strip()
    if _NUM.search(v) and len(v) <= 20:
        return "year" if re.fullmatch(r"(1\d{3}|20\d\d)", v) else "number"
    if _NAME.match(v) and len(v.split()) <= 5:
        return "name"
    return None


def build(items: Sequence[Item], limit: int) -> list[Probe]:
    """Up to `limit` probes from answerable single-passage items (deterministic)."""
    by_article: dict[str, dict[str, list[str]]] = {}
    for it in items:
        if it.answerable:
            p = it.passages[0]
            value = p.text[it.gold[0][1] : it.gold[0][2]]
            k = kind_of(value)
            if k:
                by_article.setdefault(it.group, {}).setdefault(k, []).append(value)
    probes: list[Probe] = []
    for it in sorted((i for i in items if i.answerable), key=lambda i: hashlib.sha1(i.qid.encode()).hexdigest()):
        p = it.passages[0]
        s, e = it.gold[0][1], it.gold[0][2]
        value = p.text[s:e]
        k = kind_of(value)
        if not k:
            continue
        pool = [v for v in by_article.get(it.group, {}).get(k, []) if v != value and v not in p.text and value not in v]
        if not pool:
            continue
        other = sorted(set(pool))[int(hashlib.sha1(it.qid.encode()).hexdigest(), 16) % len(set(pool))]
        swapped = Passage(p.pid + "-swap", p.title + " (copy)", p.text[:s] + other + p.text[e:])
        true = Passage(p.pid + "-a", p.title, p.text)
        pair = [true, swapped] if int(hashlib.sha1(it.qid.encode()).hexdigest(), 16) % 2 else [swapped, true]
        twin = [true, Passage(p.pid + "-b", p.title + " (copy)", p.text)]
        probes.append(Probe(it, pair, swapped.pid, twin))
        if len(probes) >= limit:
            break
    return probes


def run(probes: Sequence[Probe], answer: Callable[[str, list, dict, dict], Any], as_inputs: Callable[..., tuple[list, dict, dict]], df: dict, n: int) -> dict[str, float]:
    """`answer(question, contexts, documents, idf) -> Answer`; the counts over the probes."""
    flagged = swapped_unflagged = false_alarms = refused = 0
    for pr in probes:
        contexts, documents, idf = as_inputs(pr.passages, df, n, pr.item.question)
        ans = answer(pr.item.question, contexts, documents, idf)
        refused += ans.refused
        if ans.conflicts:
            flagged += 1
        elif any(c.doc_id == pr.swapped_pid for c in ans.citations):
            swapped_unflagged += 1
        contexts, documents, idf = as_inputs(pr.twin, df, n, pr.item.question)
        twin = answer(pr.item.question, contexts, documents, idf)
        false_alarms += bool(twin.conflicts)
        refused += twin.refused
    k = max(1, len(probes))
    return {
        "probes": len(probes), "flagged": round(flagged / k, 4), "swapped_unflagged": round(swapped_unflagged / k, 4),
        "false_alarms": round(false_alarms / k, 4), "refused": round(refused / (2 * k), 4),
    }
