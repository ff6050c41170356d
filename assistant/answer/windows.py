"""Question + passage windows for the span reader, and the best span of a window's logits.

One function cuts a passage into the overlapping token windows that the reader reads
(`[CLS] question [SEP] passage piece [SEP]`), keeping each passage token's character offsets, so
training (`evals/train_reader.py`) and question time (`assistant/answer/reader.py`) see the
same inputs. Pure: a `tokenizers.Tokenizer` in, lists and numpy arrays out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

#: tokens per window (question, passage piece and the three special tokens)
MAX_LEN = 192
#: tokens shared by consecutive windows of one passage
STRIDE = 64
#: question tokens kept (the rest is cut)
MAX_QUESTION = 48
#: the longest answer span, in tokens
MAX_ANSWER = 30


@dataclass(frozen=True)
class Window:
    """One model input: token ids and type ids, and where its passage tokens come from."""

    ids: list[int]
    type_ids: list[int]
    #: index in `ids` of the first passage token
    first: int
    #: (start, end) character offsets in the passage of ids[first:first+len(offsets)]
    offsets: list[tuple[int, int]]

    def char_span(self, start_tok: int, end_tok: int) -> tuple[int, int]:
        """Passage character span of input tokens start_tok..end_tok (inclusive)."""
        return self.offsets[start_tok - self.first][0], self.offsets[end_tok - self.first][1]

    def overlaps(self, ranges: list[tuple[int, int]]) -> bool:
        """Whether a passage token of this window lies inside one of the character ranges [a, b)."""
        return any(a >= lo and b <= hi and b > a for a, b in self.offsets for lo, hi in ranges)

    def context_around(self, lo: int, hi: int) -> int | None:
        """For passage characters [lo, hi) wholly inside this window: the passage tokens it has on
        the shorter side of them (its "context"); None when the range is not wholly inside."""
        inside = [k for k, (a, b) in enumerate(self.offsets) if a >= lo and b <= hi and b > a]
        if not inside or self.offsets[0][0] > lo or self.offsets[-1][1] < hi:
            return None
        return min(inside[0], len(self.offsets) - 1 - inside[-1])

    def token_of(self, char_start: int, char_end: int) -> tuple[int, int] | None:
        """Input token indices (start, end inclusive) covering passage chars [char_start, char_end), if inside."""
        if not self.offsets or char_start < self.offsets[0][0] or char_end > self.offsets[-1][1]:
            return None
        s = e = None
        for k, (a, b) in enumerate(self.offsets):
            if s is None and b > char_start:
                s = k
            if a < char_end:
                e = k
        if s is None or e is None or e < s:
            return None
        return s + self.first, e + self.first


def special_ids(tok: Any) -> tuple[int, int]:
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    if cls is None or sep is None:
        raise ValueError("the reader's tokenizer has no [CLS]/[SEP] token")
    return cls, sep


def question_ids(tok: Any, question: str) -> list[int]:
    return tok.encode(question, add_special_tokens=False).ids[:MAX_QUESTION]


def windows(tok: Any, q_ids: list[int], passage: str, max_len: int = MAX_LEN, stride: int = STRIDE) -> list[Window]:
    """The passage cut into windows of at most `max_len` tokens with `q_ids` in front of each."""
    cls, sep = special_ids(tok)
    enc = tok.encode(passage, add_special_tokens=False)
    ids, offsets = enc.ids, enc.offsets
    head = [cls, *q_ids, sep]
    budget = max(16, max_len - len(head) - 1)
    step = max(1, budget - stride)
    out: list[Window] = []
    start = 0
    while True:
        piece = ids[start : start + budget]
        out.append(
            Window(
                ids=head + piece + [sep],
                type_ids=[0] * len(head) + [1] * (len(piece) + 1),
                first=len(head),
                offsets=[tuple(o) for o in offsets[start : start + budget]],  # type: ignore[misc]
            )
        )
        if start + budget >= len(ids):
            break
        start += step
    return out


def max_context(windows: list[Window], ranges: list[tuple[int, int]]) -> list[Window]:
    """The windows to read so that each range is read once, in the window where it has the most
    context on both sides (as SQuAD readers score a token in its "max context" window); a range no
    window holds whole is read in every window it touches. In passage order."""
    keep: set[int] = set()
    for lo, hi in ranges:
        ctx = [(c, k) for k, w in enumerate(windows) if (c := w.context_around(lo, hi)) is not None]
        if ctx:
            keep.add(max(ctx, key=lambda t: (t[0], -t[1]))[1])  # ties: the earlier window
        else:
            keep.update(k for k, w in enumerate(windows) if w.overlaps([(lo, hi)]))
    return [w for k, w in enumerate(windows) if k in keep]


def best_pair(start_logits: np.ndarray, end_logits: np.ndarray, max_answer: int = MAX_ANSWER) -> tuple[float, int, int]:
    """(score, i, j) of the best span i <= j < i + max_answer, score = start[i] + end[j]."""
    s = np.asarray(start_logits, dtype=np.float32)
    e = np.asarray(end_logits, dtype=np.float32)
    n = len(s)
    scores = s[:, None] + e[None, :]
    idx = np.arange(n)
    valid = (idx[None, :] >= idx[:, None]) & (idx[None, :] < idx[:, None] + max_answer)
    scores = np.where(valid, scores, -np.inf)
    i, j = divmod(int(np.argmax(scores)), n)
    return float(scores[i, j]), i, j
