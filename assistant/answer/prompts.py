"""Prompt templates in `prompts/*.md`, loaded through importlib.resources.

A prompt file starts with a front-matter block declaring its variables, then a system part and a
user part separated by marker lines:

    ---
    variables: question, passages
    ---
    <!-- system -->
    You answer ...
    <!-- user -->
    Question: {question}

Placeholders are `str.format` fields (`{{` / `}}` for literal braces). The placeholders used
must equal the declared variables (checked at load), and `render()` needs exactly those
variables (checked at render): a mismatch raises `PromptError`. Values are inserted verbatim,
so braces inside document text are safe.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from assistant.errors import PromptError

_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
_PART = re.compile(r"^<!--\s*(system|user)\s*-->\s*$", re.M)


@dataclass(frozen=True)
class Prompt:
    name: str
    system: str
    user: str
    variables: frozenset[str]

    def render(self, **values: object) -> tuple[str, str]:
        """(system, user) with the variables filled in."""
        given = set(values)
        if given != self.variables:
            missing, extra = sorted(self.variables - given), sorted(given - self.variables)
            raise PromptError(self.name, f"render needs {sorted(self.variables)}; missing {missing}, extra {extra}")
        try:
            return self.system.format(**values), self.user.format(**values)
        except (IndexError, KeyError, ValueError) as exc:  # pragma: no cover - guarded at load
            raise PromptError(self.name, f"cannot render: {exc}") from exc


def _fields(name: str, text: str) -> set[str]:
    out: set[str] = set()
    try:
        for _, field, _, _ in string.Formatter().parse(text):
            if field is None:
                continue
            if not field.isidentifier():
                raise PromptError(name, f"placeholder {{{field}}} is not a plain variable name")
            out.add(field)
    except ValueError as exc:
        raise PromptError(name, f"bad placeholder syntax: {exc}") from exc
    return out


def parse_prompt(name: str, text: str) -> Prompt:
    front = _FRONT.match(text)
    if not front:
        raise PromptError(name, "missing front matter (--- variables: a, b ---)")
    declared: set[str] | None = None
    for line in front.group(1).splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "variables":
            declared = {v.strip() for v in value.split(",") if v.strip()}
    if declared is None:
        raise PromptError(name, "front matter does not declare `variables:`")
    body = text[front.end() :]
    parts: dict[str, str] = {}
    marks = list(_PART.finditer(body))
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(body)
        parts[m.group(1)] = body[m.end() : end].strip()
    if "user" not in parts:
        raise PromptError(name, "no <!-- user --> part")
    system, user = parts.get("system", ""), parts["user"]
    used = _fields(name, system) | _fields(name, user)
    if used != declared:
        raise PromptError(name, f"declared {sorted(declared)} but the text uses {sorted(used)}")
    return Prompt(name=name, system=system, user=user, variables=frozenset(declared))


@lru_cache(maxsize=32)
def load_prompt(name: str) -> Prompt:
    """Load `prompts/<name>.md` from the installed `prompts` package."""
    try:
        text = resources.files("prompts").joinpath(f"{name}.md").read_text(encoding="utf-8")
    except (FileNotFoundError, OSError) as exc:
        raise PromptError(name, f"no prompts/{name}.md") from exc
    return parse_prompt(name, text)
