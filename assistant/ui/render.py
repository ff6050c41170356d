"""Rendering for the web chat: pure functions from our types to Markdown/HTML.

All document and model text is untrusted and escaped; a citation's passage view highlights
exactly `document.text[start:end]`.
"""

from __future__ import annotations

import html
import re

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


def render_answer_md(answer: Answer, turn: int) -> str:
    """The chat message for a finished answer: markers become links, unsupported sentences are flagged."""
    parts: list[str] = []
    if answer.standalone_question and answer.standalone_question != answer.question:
        parts.append(f"<em class=\"ct-standalone\">Understood as: {md_escape(answer.standalone_question)}</em>")
    if answer.refused:
        # A <div> at the start of a line is an HTML block: Markdown inside it is not parsed, so its
        # text is HTML-escaped only (backslash escapes would show up literally, "\\(").
        reason = f"<br>Reason: {html.escape(answer.refusal_reason, quote=False)}." if answer.refusal_reason else ""
        parts.append(
            f'<div class="ct-refusal"><strong>Cannot answer from the documents.</strong> {html.escape(answer.answer, quote=False)}{reason}</div>'
        )
    else:
        known = {c.n for c in answer.citations}
        if answer.sentences:
            body = []
            for s in answer.sentences:
                text = md_escape(_MARKER.sub("", s.text).strip())
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
                pieces.append(md_escape(answer.answer[last : m.start()]))
                n = int(m.group(1))
                pieces.append(" " + _cite_link(turn, n) if n in known else "")
                last = m.end()
            pieces.append(md_escape(answer.answer[last:]))
            parts.append("".join(pieces))
    if answer.notice:
        parts.append(f'<span class="ct-notice">Note: {md_escape(answer.notice)}</span>')
    parts.append(f"<sub class=\"ct-mode\">mode: {md_escape(answer.mode)}</sub>")
    return "\n\n".join(parts)


def render_sources_html(answer: Answer | None, turn: int, dates: dict[str, str | None], selected: int | None = None) -> str:
    if answer is None:
        return NO_SOURCES
    if not answer.citations:
        note = "No sources: the assistant refused." if answer.refused else "No sources."
        return f'<div class="ct-sources"><div class="ct-empty">{note}</div></div>'
    items = []
    for c in answer.citations:
        date = dates.get(c.doc_id) or "no date"
        quote = c.quote if len(c.quote) <= 220 else c.quote[:217].rstrip() + "…"
        cls = ' class="ct-selected"' if c.n == selected else ""
        items.append(
            f'<li{cls}><a class="ct-cite" href="#cite-{turn}-{c.n}">[{c.n}]</a> '
            f'<span class="ct-title">{html.escape(c.title)}</span> '
            f'<span class="ct-date">{html.escape(date)}</span>'
            + (f' <span class="ct-pageref">{html.escape(c.page_text() or "")}</span>' if c.page is not None else "")
            + f'<div class="ct-quote">“{html.escape(quote)}”</div></li>'
        )
    return f'<div class="ct-sources"><ol>{"".join(items)}</ol></div>'


def render_passage_html(citation: Citation, text: str, date: str | None, window: int = PASSAGE_WINDOW) -> str:
    """The document around `text[start:end]`, with the span in <mark>. Everything escaped."""
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
    meta = f"{html.escape(date or 'no date')} · {html.escape(citation.doc_id)} · characters {start}–{end}"
    if citation.page is not None:
        meta += f" · {html.escape(citation.page_text() or '')}"
    return (
        f'<div class="ct-passage"><div class="ct-passage-head"><b>[{citation.n}] {html.escape(citation.title)}</b>'
        f'<div class="ct-meta">{meta}</div></div>'
        f'<div class="ct-doc">{html.escape(before)}<mark class="ct-hl">{html.escape(text[start:end])}</mark>{html.escape(after)}</div></div>'
    )


CSS = """
.ct-mode-badge { font-size: 0.9em; opacity: 0.85; }
.ct-empty { opacity: 0.7; font-style: italic; padding: 6px 2px; }
.ct-sources ol { padding-left: 0; list-style: none; margin: 0; }
.ct-sources li { margin: 0 0 10px 0; padding: 6px 8px; border-radius: 6px; border: 1px solid var(--border-color-primary); }
.ct-sources li.ct-selected { border-color: var(--color-accent); background: var(--color-accent-soft); }
.ct-sources .ct-title { font-weight: 600; }
.ct-sources .ct-date { opacity: 0.75; font-size: 0.9em; margin-left: 4px; }
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
