"""Run a question set through the public API and score every item (metrics: evals/metrics.py).

    from evals.runner import run_set
    result = run_set("evals/datasets/ct_editorials.jsonl", store="data/store", judge="offline")
    result.metrics["citation_validity"]

* The store is opened with `Assistant.open(store=...)`; when it lacks documents the set cites
  and the shipped corpus (`data/corpus`) has them, the corpus is ingested first.
* Single-turn items: `Assistant.ask(question)`; retrieval metrics from
  `Assistant.retrieve(question, top_k=10)` (the same retriever; its top 5 are the answer's
  contexts under the default settings).
* Conversations: one `Assistant.chat()` session per conversation, `ChatSession.send(user)` per
  turn; every turn is scored like a single-turn item, retrieval on the session's standalone
  question, plus `rewrite_token_f1` against the gold rewrite. When chat sessions are not
  available, each turn is asked with its *gold* standalone question
  (`Assistant.ask(user, standalone=gold)`) and the report says so (`conversation_mode`).
* The judge (offline or LLM) scores ALCE citation recall/precision and faithfulness; `judge=None`
  skips those metrics.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import platform
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals import metrics as M
from evals.dataset import Dataset, load_dataset

if TYPE_CHECKING:
    from assistant.api import Assistant
    from assistant.config import Settings
    from assistant.types import Answer, Citation, Context

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT / "data" / "corpus"
RETRIEVAL_K = 10


class JudgeUnavailableError(RuntimeError):
    """The requested grounding judge cannot be built (module missing, no LLM configured...)."""


class GateError(ValueError):
    """A `--fail-under` gate is malformed or names an unknown metric."""


# --- judge ------------------------------------------------------------------------------------
def load_judge(name: str | None, settings: Settings | None = None, embedder: Any = None) -> Any:
    """`offline` -> assistant.answer.ground.OfflineJudge; `llm` -> assistant.answer.judge_llm; None/"none" -> None."""
    if name in (None, "none"):
        return None
    if name == "offline":
        try:
            from assistant.answer.ground import OfflineJudge
        except ImportError as exc:
            raise JudgeUnavailableError(f"offline judge unavailable: {exc}") from exc
        return OfflineJudge(embedder) if embedder is not None else OfflineJudge()
    if name == "llm":
        try:
            mod = importlib.import_module("assistant.answer.judge_llm")
        except ImportError as exc:
            raise JudgeUnavailableError(f"LLM judge unavailable (assistant.answer.judge_llm: {exc})") from exc
        if settings is None:
            from assistant.config import Settings

            settings = Settings()
        if settings.llm_backend == "none":
            raise JudgeUnavailableError("--judge llm needs an LLM: pass --llm openai|llamacpp (or set CT_ASSISTANT_LLM_BACKEND)")
        judge_cls = getattr(mod, "LLMJudge", None)
        if judge_cls is None:
            raise JudgeUnavailableError("assistant.answer.judge_llm defines no LLMJudge")
        from assistant.answer.llm import ChatLLM

        return judge_cls(ChatLLM(settings))
    raise JudgeUnavailableError(f"unknown judge {name!r} (want offline, llm or none)")


class CachedSupport:
    """`(claim, passages) -> bool` over a judge, memoised; keeps every score for the report plots."""

    def __init__(self, judge: Any) -> None:
        self.judge = judge
        self.threshold = float(getattr(judge, "threshold", 0.5))
        self.scores: dict[tuple[str, tuple[str, ...]], float] = {}

    def score(self, claim: str, passages: Sequence[str]) -> float:
        key = (claim, tuple(passages))
        if key not in self.scores:
            self.scores[key] = float(self.judge.score(claim, list(passages)))
        return self.scores[key]

    def __call__(self, claim: str, passages: Sequence[str]) -> bool:
        return self.score(claim, passages) >= self.threshold


# --- result -------------------------------------------------------------------------------------
@dataclass
class EvalResult:
    rows: list[dict[str, Any]]
    metrics: dict[str, Any]
    metadata: dict[str, Any]
    judge_scores: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"metadata": self.metadata, "metrics": self.metrics, "items": self.rows, "judge_scores": self.judge_scores}


# --- helpers -------------------------------------------------------------------------------------
def git_commit(root: Path = ROOT) -> str | None:
    """HEAD commit, with `+dirty` when tracked files have uncommitted changes; None outside git."""
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "")


def ensure_corpus(a: Assistant, doc_ids: set[str], corpus: Path = DEFAULT_CORPUS) -> dict[str, Any] | None:
    """Ingest the shipped corpus when the store lacks documents the set cites; returns the ingest report."""
    from assistant.errors import StoreNotFoundError

    try:
        have = {d.doc_id for d in a.documents()}
    except StoreNotFoundError:
        have = set()
    missing = doc_ids - have
    if not missing:
        return None
    if not corpus.is_dir():
        log.warning("store lacks %s and there is no corpus at %s to ingest", sorted(missing), corpus)
        return None
    log.info("store lacks %s: ingesting %s", sorted(missing), corpus)
    report = a.ingest([corpus])
    still = doc_ids - {d.doc_id for d in a.documents()}
    if still:
        log.warning("documents cited by the set are not in the store even after ingesting %s: %s", corpus, sorted(still))
    return report.to_dict()


class _Docs:
    """Document texts by id, cached; None for ids the store does not hold."""

    def __init__(self, a: Assistant) -> None:
        self.a = a
        self.cache: dict[str, str | None] = {}

    def text(self, doc_id: str) -> str | None:
        if doc_id not in self.cache:
            from assistant.errors import UnknownDocumentError

            try:
                self.cache[doc_id] = self.a.document(doc_id).text
            except UnknownDocumentError:
                self.cache[doc_id] = None
        return self.cache[doc_id]

    def texts(self, doc_ids: Sequence[str]) -> dict[str, str]:
        return {d: t for d in doc_ids if (t := self.text(d)) is not None}


def gold_spans(q: Any, docs: _Docs, unlocated: list[str]) -> list[M.GoldSpan]:
    out = []
    for ev in q.evidence:
        text = docs.text(ev.doc_id)
        span = M.locate(ev.text, text) if text is not None else None
        if span is None:
            unlocated.append(f"{ev.doc_id}: {ev.text[:60]}")
            out.append(M.GoldSpan(ev.doc_id, ev.text))
        else:
            out.append(M.GoldSpan(ev.doc_id, ev.text, span[0], span[1]))
    return out


def _sentences(answer: Answer) -> list[tuple[str, list[Citation]]]:
    """Answer sentences (markers stripped) with the citations they carry."""
    by_n = {c.n: c for c in answer.citations}
    if answer.sentences:
        return [(" ".join(M.strip_markers(s.text).split()), [by_n[n] for n in s.citations if n in by_n]) for s in answer.sentences]
    text = " ".join(M.strip_markers(answer.answer).split())
    return [(text, [by_n[int(n)] for n in dict.fromkeys(M.MARKER.findall(answer.answer)) if int(n) in by_n])] if text else []


def score_answer(
    q: Any,
    kind: str,
    answer: Answer,
    retrieved: Sequence[Context],
    docs: _Docs,
    support: CachedSupport | None,
    unlocated: list[str],
) -> dict[str, Any]:
    """One row of the per-item table."""
    gold = gold_spans(q, docs, unlocated)
    cited_docs = [c.doc_id for c in answer.citations]
    problems = M.citation_problems(answer.answer, answer.citations, docs.texts(cited_docs))
    coverage = M.key_fact_coverage(answer.answer, q.key_facts, answer.refused)
    missing = [alts[0] for alts in q.key_facts if answer.refused or not M.fact_covered(answer.answer, alts)]
    row: dict[str, Any] = {
        "kind": kind,
        "answer": answer.answer,
        "refused": answer.refused,
        "refusal_reason": answer.refusal_reason,
        "mode": answer.mode,
        "citations": [{"n": c.n, "doc_id": c.doc_id, "start": c.start, "end": c.end, "quote": c.quote} for c in answer.citations],
        "citation_valid": not problems,
        "citation_problems": problems,
        "key_fact_coverage": coverage,
        "correct": (coverage == 1.0) if coverage is not None else None,
        "missing_facts": missing,
        "refusal_correct": M.refusal_correct(kind, answer.refused),
        "retrieval": M.retrieval_scores(gold, retrieved) if gold else {},
        "retrieved": [c.doc_id + f"[{c.start}:{c.end}]" for c in retrieved],
        "latency_ms": round(answer.timings_ms.total, 2),
    }
    if not answer.refused and gold:
        row.update(M.citation_scores_gold(answer.citations, gold))
    if support is not None and not answer.refused:
        sents = _sentences(answer)
        row.update({k: v for k, v in M.citation_scores_judge(sents, support).items() if k in ("citation_recall", "citation_precision")})
        chunk_text = {c.chunk_id: c.text for c in answer.contexts}
        faith_in = [(text, [chunk_text.get(c.chunk_id, c.quote) for c in cits]) for text, cits in sents]
        row["faithfulness"] = M.faithfulness(faith_in, support)
        row["sentence_scores"] = [
            round(support.score(text, passages), 4) if passages else 0.0 for text, passages in faith_in
        ]
    return row


# --- run ------------------------------------------------------------------------------------------
def run(
    dataset: Dataset,
    a: Assistant,
    judge: Any = None,
    *,
    show_progress: bool = False,
    corpus: Path | None = DEFAULT_CORPUS,
    on_item: Callable[[dict[str, Any]], None] | None = None,
) -> EvalResult:
    """Score every item (or conversation turn) of `dataset` with assistant `a`."""
    from tqdm import tqdm

    from assistant.errors import AssistantError

    started = dt.datetime.now(dt.timezone.utc)
    ingest_report = ensure_corpus(a, dataset.doc_ids(), corpus) if corpus is not None else None
    docs = _Docs(a)
    support = CachedSupport(judge) if judge is not None else None
    unlocated: list[str] = []
    rows: list[dict[str, Any]] = []
    conversation_mode: str | None = None
    bar = tqdm(total=dataset.n_turns(), desc=f"eval {dataset.name}", unit="q", disable=not show_progress)

    def record(row: dict[str, Any]) -> None:
        rows.append(row)
        bar.update(1)
        if on_item:
            on_item(row)

    def failed(base: dict[str, Any], kind: str, exc: Exception) -> dict[str, Any]:
        log.warning("%s: %s", base["id"], exc)
        return {
            **base, "kind": kind, "answer": "", "refused": True, "refusal_reason": None, "error": str(exc), "citations": [],
            "citation_valid": True, "citation_problems": [], "key_fact_coverage": 0.0 if kind == "answerable" else None,
            "correct": False if kind == "answerable" else None, "missing_facts": [], "refusal_correct": kind != "answerable",
            "retrieval": {}, "latency_ms": None,
        }

    try:
        if dataset.kind == "single":
            for item in dataset.items:
                base = {"id": item.id, "tags": item.tags, "question": item.question}
                try:
                    answer = a.ask(item.question)
                    retrieved = a.retrieve(item.question, top_k=RETRIEVAL_K)
                except AssistantError as exc:
                    record(failed(base, item.kind, exc))
                    continue
                record({**base, **score_answer(item, item.kind, answer, retrieved, docs, support, unlocated)})
        else:
            chat_ok = _chat_available(a)
            conversation_mode = "chat" if chat_ok else "gold_standalone"
            if not chat_ok:
                log.warning("chat sessions unavailable: asking each turn with its gold standalone question")
            for conv in dataset.conversations:
                session = a.chat() if chat_ok else None
                for i, turn in enumerate(conv.turns, start=1):
                    base = {"id": f"{conv.id}.t{i}", "tags": [], "question": turn.user, "gold_standalone": turn.standalone}
                    try:
                        if session is not None:
                            answer = session.send(turn.user)
                            standalone = answer.standalone_question or turn.user
                        else:
                            answer = a.ask(turn.user, standalone=turn.standalone)
                            standalone = turn.standalone or turn.user
                        retrieved = a.retrieve(standalone, top_k=RETRIEVAL_K)
                    except AssistantError as exc:
                        record(failed(base, turn.kind, exc))
                        continue
                    row = {**base, "standalone": standalone, **score_answer(turn, turn.kind, answer, retrieved, docs, support, unlocated)}
                    if turn.standalone and session is not None:
                        row["rewrite_token_f1"] = round(M.token_f1(standalone, turn.standalone), 4)
                    record(row)
    finally:
        bar.close()
    if unlocated:
        log.warning("%d gold evidence passages not found in the store's documents, e.g. %s", len(unlocated), unlocated[0])
    metrics = M.aggregate(rows)
    s = a.settings
    metadata = {
        "dataset": str(dataset.path),
        "dataset_name": dataset.name,
        "dataset_kind": dataset.kind,
        "dataset_sha256": dataset.sha256,
        "store": str(s.store),
        "settings_fingerprint": s.fingerprint(),
        "git_commit": git_commit(),
        "embedding_model": a.embedder.name,
        "llm": s.llm_name(),
        "answer_modes": sorted({r.get("mode") for r in rows if r.get("mode")}),
        "judge": getattr(judge, "name", type(judge).__name__) if judge is not None else None,
        "judge_threshold": support.threshold if support is not None else None,
        "top_k": s.top_k,
        "retrieval_k": RETRIEVAL_K,
        "conversation_mode": conversation_mode,
        "evidence_not_located": unlocated,
        "ingested_corpus": ingest_report,
        "started": started.isoformat(timespec="seconds"),
        "seconds": round((dt.datetime.now(dt.timezone.utc) - started).total_seconds(), 1),
        "python": platform.python_version(),
    }
    scores = [sc for r in rows for sc in r.get("sentence_scores", [])]
    return EvalResult(rows=rows, metrics=metrics, metadata=metadata, judge_scores=scores)


def _chat_available(a: Assistant) -> bool:
    try:
        importlib.import_module("assistant.chat")
    except ImportError:
        return False
    return hasattr(a, "chat")


def run_set(
    path: str | Path,
    *,
    store: str | Path | None = None,
    settings: Settings | None = None,
    judge: str | None = "offline",
    show_progress: bool = False,
    assistant: Assistant | None = None,
) -> EvalResult:
    """Load a set, open the store (or use `assistant`), build the judge and run."""
    dataset = load_dataset(path)
    if assistant is None:
        from assistant import Assistant

        assistant = Assistant.open(store=store, settings=settings)
        owned = True
    else:
        owned = False
    try:
        j = load_judge(judge, assistant.settings)
        return run(dataset, assistant, j, show_progress=show_progress)
    finally:
        if owned:
            assistant.close()


# --- gates --------------------------------------------------------------------------------------
def parse_gate(spec: str) -> tuple[str, float]:
    """`metric=value` (value a fraction, or a percentage like `100%`)."""
    name, sep, value = spec.partition("=")
    name = name.strip()
    if not sep or not name:
        raise GateError(f"gate {spec!r}: want metric=value, e.g. citation_validity=1.0")
    if name not in M.METRICS:
        raise GateError(f"gate {spec!r}: unknown metric {name!r}; known: {', '.join(M.METRICS)}")
    v = value.strip()
    try:
        threshold = float(v[:-1]) / 100.0 if v.endswith("%") else float(v)
    except ValueError as exc:
        raise GateError(f"gate {spec!r}: {v!r} is not a number") from exc
    return name, threshold


def check_gates(metrics: dict[str, Any], gates: Sequence[tuple[str, float]]) -> list[str]:
    """Failed gates as messages; a higher-is-better metric fails below its value, latency above it."""
    failures = []
    for name, threshold in gates:
        value = metrics.get(name)
        higher_better = M.METRICS[name][0]
        if value is None:
            failures.append(f"{name}: not measured (needs a judge or items of that kind) - gate {threshold:g}")
        elif higher_better and value < threshold - 1e-12:
            failures.append(f"{name} = {value:.4f} < {threshold:g}")
        elif not higher_better and value > threshold + 1e-12:
            failures.append(f"{name} = {value:.1f} > {threshold:g}")
    return failures
