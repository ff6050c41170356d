"""Rendering for the web chat: pure functions from our types to Markdown/HTML.

All document and model text is untrusted and escaped; a citation's passage view highlights
exactly `document.text[start:end]`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from assistant.types import Answer, Citation

PASSAGE_WINDOW = 1200  # characters of document shown either side of a quoted span
_MARKER = re.compile(r"\s*\[(\d+)\]")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>$])")

NO_PASSAGE = '<div class="ct-empty">Click a citation such as [1] to see the passage in its document.</div>'
NO_SOURCES = '<div class="ct-empty">Sources of the latest answer appear here.</div>'


# --- rendering (pure functions; all document and model text is escaped) -------------------------
def md_escape(text: str) -> str:
    """Text safe to put in a chat message: HTML escaped, Markdown/LaTeX specials backslashed."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def _cite_link(turn: int, n: int) -> str:
    return f"[\\[{n}\\]](#cite-{turn}-{n})"


def _with_short_answer(text: str, citations: list[Citation], escape: Callable[[str], str]) -> str:
    """`escape(text)`, with the reader's short answer in <mark class="ct-answer"> where `text`
    holds the quote of a citation that has one (issue 18: the answer and the sentence proving it)."""
    for c in citations:
        a, b = c.answer_start, c.answer_end
        if a is None or b is None or not 0 <= a < b <= len(c.quote):
            continue
        at = text.find(c.quote)
        if at < 0:
            continue
        lo, hi = at + a, at + b
        return f'{escape(text[:lo])}<mark class="ct-answer">{escape(text[lo:hi])}</mark>{escape(text[hi:])}'
    return escape(text)


def _html(text: str) -> str:
    return html.escape(text, quote=False)


def mode_words(mode: str) -> str:
    """How the answer was written, for a reader."""
    if mode == "extractive":
        return "Sentences quoted from the documents (extractive mode)."
    return f"Written by the language model {mode}; each sentence checked against the passage it cites."


def refusal_text(answer: Answer, searched: str | None = None) -> str:
    """One plain statement: the documents don't say, what was looked for, under which filters."""
    reason = (answer.refusal_reason or "no passage answers this question").strip().rstrip(".")
    text = f"The documents don't say: {reason}."
    if searched:
        text += f" Searched only {searched}."
    return text


def render_answer_md(answer: Answer, turn: int, searched: str | None = None) -> str:
    """The chat message for a finished answer: markers become links, unsupported sentences are
    flagged, the short answer is highlighted; how it was made sits in a folded "About" line."""
    parts: list[str] = []
    if answer.standalone_question and answer.standalone_question != answer.question:
        parts.append(f"<em class=\"ct-standalone\">Understood as: {md_escape(answer.standalone_question)}</em>")
    if answer.refused:
        # A <div> at the start of a line is an HTML block: Markdown inside it is not parsed, so its
        # text is HTML-escaped only (backslash escapes would show up literally, "\\(").
        parts.append(f'<div class="ct-refusal">{_html(refusal_text(answer, searched))}</div>')
    else:
        known = {c.n for c in answer.citations}
        if answer.sentences:
            body = []
            for s in answer.sentences:
                cited = [c for c in answer.citations if c.n in s.citations]
                text = _with_short_answer(_MARKER.sub("", s.text).strip(), cited, md_escape)
                links = "".join(_cite_link(turn, n) for n in s.citations if n in known)
                sentence = f"{text} {links}".rstrip()
                if not s.supported:
                    sentence = (
                        f'<span class="ct-unsupported" title="not supported by its cited passage">{sentence}</span>'
                        ' <span class="ct-flag">unsupported</span>'
                    )
                body.append(sentence)
            parts.append(" ".join(body))
        else:
            pieces = []
            last = 0
            for m in _MARKER.finditer(answer.answer):
                pieces.append(_with_short_answer(answer.answer[last : m.start()], answer.citations, md_escape))
                n = int(m.group(1))
                pieces.append(" " + _cite_link(turn, n) if n in known else "")
                last = m.end()
            pieces.append(md_escape(answer.answer[last:]))
            parts.append("".join(pieces))
    if answer.notice:
        parts.append(f'<span class="ct-notice">Note: {md_escape(answer.notice)}</span>')
    parts.append(f'<details class="ct-about"><summary>About this answer</summary>{_html(mode_words(answer.mode))}</details>')
    return "\n\n".join(parts)


def where_text(c: Citation, date: str | None) -> str:
    """What a reader needs to find the passage: date when known, page, section."""
    bits = [date] if date else []
    if c.page is not None:
        bits.append(c.page_text() or "")
    if c.section:
        bits.append(f"§ {c.section}")
    return " · ".join(b for b in bits if b)


def render_sources_html(answer: Answer | None, turn: int, dates: dict[str, str | None], selected: int | None = None) -> str:
    if answer is None:
        return NO_SOURCES
    if not answer.citations:
        note = "No sources: the documents don't say." if answer.refused else "No sources."
        return f'<div class="ct-sources"><div class="ct-empty">{note}</div></div>'
    items = []
    for c in answer.citations:
        quote = c.quote if len(c.quote) <= 220 else c.quote[:217].rstrip() + "…"
        quoted = _with_short_answer(quote, [c] if quote == c.quote else [], _html)
        where = where_text(c, dates.get(c.doc_id))
        cls = ' class="ct-selected"' if c.n == selected else ""
        items.append(
            f'<li{cls}><a class="ct-cite" href="#cite-{turn}-{c.n}">[{c.n}]</a> '
            f'<span class="ct-title">{html.escape(c.title)}</span>'
            + (f' <span class="ct-where">{html.escape(where)}</span>' if where else "")
            + f'<div class="ct-quote">“{quoted}”</div></li>'
        )
    return f'<div class="ct-sources"><ol>{"".join(items)}</ol></div>'


def render_passage_html(citation: Citation, text: str, date: str | None, window: int = PASSAGE_WINDOW) -> str:
    """The document around `text[start:end]`, with the span in <mark> (the short answer inside it
    marked again), title, date and page on top and the rest folded in "Details". Everything escaped."""
    start, end = citation.start, citation.end
    lo = max(0, start - window)
    hi = min(len(text), end + window)
    # snap the window to whitespace so it does not cut words
    if lo > 0:
        sp = text.find(" ", lo, start)
        lo = sp + 1 if sp != -1 else lo
    if hi < len(text):
        sp = text.rfind(" ", end, hi)
        hi = sp if sp != -1 else hi
    before = ("…" if lo > 0 else "") + text[lo:start]
    after = text[end:hi] + ("…" if hi < len(text) else "")
    where = where_text(citation, date)
    details = f"Document id {citation.doc_id}; characters {start}–{end} of its text"
    if citation.page is not None:
        details += f"; page {citation.page} of the file" + (f" (to page {citation.page_end})" if citation.page_end else "")
    quoted = _with_short_answer(text[start:end], [citation], _html)
    return (
        f'<div class="ct-passage"><div class="ct-passage-head"><b>[{citation.n}] {html.escape(citation.title)}</b>'
        + (f'<div class="ct-meta">{html.escape(where)}</div>' if where else "")
        + f'<details class="ct-details"><summary>Details</summary>{html.escape(details)}</details></div>'
        f'<div class="ct-doc">{html.escape(before)}<mark class="ct-hl">{quoted}</mark>{html.escape(after)}</div></div>'
    )


CSS = """
.ct-mode-badge { font-size: 0.9em; opacity: 0.85; }
#ct-header { align-items: flex-start; flex-wrap: nowrap; }
#ct-header #ct-title { flex: 1 1 auto; }
#ct-header #ct-title h3 { margin: 0 0 2px 0; }
#ct-header #ct-mode { flex: 0 0 auto; width: auto; min-width: 0; text-align: right; margin-left: auto; }
#ct-status-row { align-items: center; }
/* a right gutter in the chat: the bin (top) and the scroll-down arrow (bottom) sit in it, never over
   a message or its copy icon; room at the bottom so the arrow covers no text */
#ct-chat .message-wrap { padding-right: 34px; padding-bottom: 40px; }
#ct-chat .top-panel { right: 4px; }
#ct-chat .scroll-down-button-container { left: auto; right: 2px; bottom: 6px; transform: none; }
@media (max-width: 640px) {
  #ct-header { flex-wrap: wrap; }
  #ct-header #ct-mode { text-align: left; margin-left: 0; }
}
.ct-empty { opacity: 0.7; font-style: italic; padding: 6px 2px; }
.ct-sources ol { padding-left: 0; list-style: none; margin: 0; }
.ct-sources li { margin: 0 0 10px 0; padding: 6px 8px; border-radius: 6px; border: 1px solid var(--border-color-primary); }
.ct-sources li.ct-selected { border-color: var(--color-accent); background: var(--color-accent-soft); }
.ct-sources .ct-title { font-weight: 600; }
.ct-sources .ct-where { opacity: 0.75; font-size: 0.9em; margin-left: 4px; }
mark.ct-answer { background: #ffc107; color: #111; font-weight: 700; padding: 0 2px; border-radius: 3px; }
mark.ct-hl mark.ct-answer { background: #ff9f1c; }
details.ct-about, details.ct-details { font-size: 0.8em; opacity: 0.75; margin-top: 2px; }
details.ct-about summary, details.ct-details summary { cursor: pointer; }
.ct-sources .ct-quote { font-size: 0.88em; opacity: 0.85; margin-top: 3px; }
a.ct-cite, a[href^="#cite-"] { font-weight: 600; text-decoration: none; cursor: pointer; }
.ct-passage { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px; }
.ct-passage .ct-meta { font-size: 0.85em; opacity: 0.75; margin: 2px 0 8px 0; }
.ct-doc { white-space: pre-wrap; line-height: 1.5; max-height: 420px; overflow-y: auto; font-size: 0.95em; }
mark.ct-hl { background: #ffe066; color: #111; padding: 1px 2px; border-radius: 3px; }
.ct-unsupported { background: rgba(255, 120, 0, 0.12); border-bottom: 2px dotted #d9480f; }
.ct-flag { font-size: 0.75em; font-weight: 700; text-transform: uppercase; color: #fff; background: #d9480f; border-radius: 4px; padding: 0 4px; }
.ct-refusal { border-left: 4px solid #c92a2a; background: rgba(201, 42, 42, 0.08); padding: 6px 10px; border-radius: 4px; }
.ct-error { color: #c92a2a; }
.ct-notice { font-size: 0.9em; opacity: 0.85; }
.ct-standalone { opacity: 0.8; }
#ct-cite-bridge { display: none !important; }
"""

# A click on any "#cite-TURN-N" link (in the chat or the sources list) opens that passage:
# the reference goes into a hidden textbox and a hidden button sends it to the server.
JS = """
() => {
  document.addEventListener('click', (e) => {
    const a = e.target.closest && e.target.closest('a[href^="#cite-"]');
    if (!a) return;
    e.preventDefault();
    e.stopPropagation();
    const ref = a.getAttribute('href').slice('#cite-'.length);
    const box = document.querySelector('#ct-cite-ref textarea, #ct-cite-ref input');
    const btn = document.querySelector('#ct-cite-open');
    if (!box || !btn) return;
    box.value = ref;
    box.dispatchEvent(new Event('input', { bubbles: true }));
    setTimeout(() => btn.click(), 30);
  }, true);
}
"""
