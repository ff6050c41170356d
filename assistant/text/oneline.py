"""Text for one line of output (terminal, log, status line): control characters escaped.

A newline, tab, ESC or NUL in a file name, a title or an error message would break a one-line
report or drive the terminal; each is shown as Python writes it in a string ("\\n", "\\x1b").
"""

from __future__ import annotations


def shown(value: object) -> str:
    """`str(value)` with C0 controls, DEL and C1 controls escaped; everything else unchanged."""
    return "".join(ch if ch >= " " and not "\x7f" <= ch <= "\x9f" else repr(ch)[1:-1] for ch in str(value))
