"""Markdown as a reader sees it: the text without `#` heading marks, the title and date it states.

- ATX heading marks (`# Title`, `## Funding ##`) are dropped: the stored text (what quotes show)
  keeps the heading's words only. Lines inside fenced code blocks are left as they are.
- The date: a `Date: YYYY-MM-DD` line (also `**Date:** ...`, any case) among the first lines,
  or `date:` in a YAML front matter block (`---` ... `---` at the very start). The line (or the
  front matter) is metadata and leaves the text, as the `date YYYY-MM-DD` header does elsewhere.
- The title: `title:` in the front matter, else the first `# ` heading.
"""

from __future__ import annotations

import re

_HEADING = re.compile(r"^[ ]{0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^[ ]{0,3}(`{3,}|~{3,})")
_DATE_LINE = re.compile(r"^\s*(?:[*_]{1,2})?date(?:[*_]{1,2})?\s*:\s*(?:[*_]{1,2})?\s*(\d{4}-\d{2}-\d{2})\s*(?:[*_]{1,2})?\s*$", re.I)
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.S)
_FM_FIELD = re.compile(r"^(title|date)\s*:\s*(.*?)\s*$", re.I | re.M)
#: a `Date:` line counts as the document's date only among this many first non-blank lines
DATE_LINES = 6


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1].strip()
    return value


def front_matter(text: str) -> tuple[dict[str, str], str]:
    """(title/date fields of a leading YAML front matter block, the text after it)."""
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, text
    fields = {k.lower(): _unquote(v) for k, v in _FM_FIELD.findall(m.group(1))}
    return fields, text[m.end() :]


def strip_headings(text: str) -> tuple[str, list[tuple[int, str]]]:
    """The text with ATX heading marks removed (outside fenced code), and the (level, heading) in order."""
    out: list[str] = []
    headings: list[tuple[int, str]] = []
    fence: str | None = None
    for line in text.split("\n"):
        f = _FENCE.match(line)
        if f:
            mark = f.group(1)
            if fence is None:
                fence = mark[0] * 3
            elif mark.startswith(fence):
                fence = None
            out.append(line)
            continue
        m = None if fence else _HEADING.match(line)
        if m:
            words = (m.group(2) or "").strip()
            out.append(words)
            if words:
                headings.append((len(m.group(1)), words))
        else:
            out.append(line)
    return "\n".join(out), headings


def take_date_line(text: str) -> tuple[str | None, str]:
    """(the date of a `Date: YYYY-MM-DD` line among the first lines, the text without that line)."""
    lines = text.split("\n")
    seen = 0
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        m = _DATE_LINE.match(line)
        if m:
            return m.group(1), "\n".join(lines[:i] + lines[i + 1 :])
        seen += 1
        if seen >= DATE_LINES:
            break
    return None, text


def parse_markdown(text: str) -> tuple[str, str | None, str | None, list[str]]:
    """(text as stored, title, date, headings) of a Markdown document."""
    fields, body = front_matter(text)
    date = fields.get("date", "")[:10] if re.match(r"\d{4}-\d{2}-\d{2}", fields.get("date", "")) else None
    date_line, body = take_date_line(body)
    date = date or date_line
    body, headings = strip_headings(body)
    title = fields.get("title") or next((words for level, words in headings if level == 1), None)
    return body, title or None, date, [words for _, words in headings]
