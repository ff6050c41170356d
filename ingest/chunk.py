"""Sentence-aware chunking sized to the embedding window, with exact character offsets.

Sentences are packed greedily up to ``max_tokens`` word pieces (all-MiniLM truncates at 256,
so a longer chunk would silently lose its tail). A chunk prefers to end at a paragraph break
once half full. A sentence longer than the budget is cut at the last word boundary that fits.
Consecutive chunks share ``overlap`` sentences. ``chunk_id`` hashes doc id and content.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from assistant.text.sentences import Span, split_sentences
from assistant.types import Chunk

CountTokens = Callable[[Sequence[str]], list[int]]


def chunk_id(doc_id: str, text: str, occurrence: int = 0) -> str:
    h = hashlib.sha256(f"{doc_id}\x00{occurrence}\x00{text}".encode()).hexdigest()
    return f"{h[:20]}"


def _cut_long(text: str, span: Span, max_tokens: int, tokenizer_offsets: Callable[[str], list[tuple[int, int]]]) -> list[Span]:
    """Split one over-long sentence into pieces of at most max_tokens word pieces."""
    s, e = span
    out: list[Span] = []
    while s < e:
        offsets = tokenizer_offsets(text[s:e])
        if len(offsets) <= max_tokens:
            out.append((s, e))
            break
        cut = s + offsets[max_tokens - 1][1]  # end of the last token that fits
        ws = text.rfind(" ", s, cut + 1)
        if ws > s:
            cut = ws
        out.append((s, cut))
        s = cut
        while s < e and text[s].isspace():
            s += 1
    return out


def chunk_text(
    doc_id: str,
    text: str,
    count_tokens: CountTokens,
    max_tokens: int,
    overlap: int = 1,
    token_offsets: Callable[[str], list[tuple[int, int]]] | None = None,
) -> list[Chunk]:
    """Chunks of `text` whose `text[start:end]` equals their content."""
    spans = split_sentences(text)
    if not spans:
        return []
    counts = count_tokens([text[s:e] for s, e in spans])
    units: list[tuple[Span, int]] = []
    for span, n in zip(spans, counts, strict=True):
        if n > max_tokens and token_offsets is not None:
            pieces = _cut_long(text, span, max_tokens, token_offsets)
            for piece, m in zip(pieces, count_tokens([text[a:b] for a, b in pieces]), strict=True):
                units.append((piece, m))
        else:
            units.append((span, n))

    groups: list[list[int]] = []
    current: list[int] = []
    used = 0
    i = 0
    while i < len(units):
        (s, _), n = units[i]
        if current and used + n > max_tokens:
            groups.append(current)
            keep = [j for j in current[-overlap:]] if overlap else []
            # only overlap when it leaves room for new material
            while keep and sum(units[j][1] for j in keep) + n > max_tokens // 2:
                keep = keep[1:]
            current, used = list(keep), sum(units[j][1] for j in keep)
            continue
        current.append(i)
        used += n
        i += 1
        # prefer to end at a paragraph break once the chunk is half full
        if i < len(units) and used >= max_tokens // 2 and "\n\n" in text[units[i - 1][0][1] : units[i][0][0]]:
            groups.append(current)
            current, used = [], 0
    if current:
        groups.append(current)

    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for ordinal, group in enumerate(groups):
        start, end = units[group[0]][0][0], units[group[-1]][0][1]
        body = text[start:end]
        occ = seen.get(body, 0)
        seen[body] = occ + 1
        chunks.append(
            Chunk(
                chunk_id=chunk_id(doc_id, body, occ),
                doc_id=doc_id,
                ordinal=ordinal,
                start=start,
                end=end,
                text=body,
                n_tokens=sum(units[j][1] for j in group),
            )
        )
    return chunks
