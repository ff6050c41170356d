"""Each logged-in web user's own view of the chat (issue 21): their groups decide what they see.

`Viewers(assistant, settings, users)` keeps one `ChatUI` per user name over
`assistant.as_user(name, groups)`: the document list and filter, answers, citations, the passage
and page views, the API endpoints and uploads all go through that user's assistant, so a
document outside their groups is absent everywhere, exactly like an unknown id. Without logins
(loopback, no `--auth`) there is one view, the server's assistant as given.

`handlers()` returns the Gradio event functions: each takes the request (Gradio injects it
through the `request` annotation) and calls the handler of the logged-in user's `ChatUI`.
Uploads are private to the uploader (group `user:<name>`) unless they pick one of their groups.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from assistant.store.access import ALL
from assistant.ui.feedback import open_feedback
from assistant.ui.handlers import ChatUI
from assistant.ui.users import PRIVATE, User

if TYPE_CHECKING:
    from assistant.api import Assistant
    from assistant.config import Settings

ONLY_ME = "only me"


class Viewers:
    def __init__(self, assistant: Assistant, settings: Settings, users: dict[str, User] | None = None) -> None:
        self.assistant = assistant
        self.settings = settings
        self.users = users or {}
        self._lock = threading.Lock()
        self._ingest_lock = threading.Lock()  # one ingest at a time across all users
        self._uis: dict[str | None, ChatUI] = {}
        self.feedback = open_feedback(settings)  # one for every user's view (with a shared catalog: one pool)

    def groups(self, user: str | None) -> list[str] | None:
        """A user's reader groups (None: no logins, everything the server's assistant sees)."""
        if not self.users:
            return None
        found = self.users.get(user or "")
        return found.reader_groups() if found else [ALL, PRIVATE + (user or "anonymous")]

    def ui(self, user: str | None) -> ChatUI:
        key = user if self.users else None
        with self._lock:
            ui = self._uis.get(key)
            if ui is None:
                view = self.assistant if key is None else self.assistant.as_user(key, self.groups(key))
                ui = ChatUI(view, self.settings, self.feedback)
                ui._ingest_lock = self._ingest_lock  # noqa: SLF001
                self._uis[key] = ui
            return ui

    def upload_choices(self, user: str | None) -> list[tuple[str, str]]:
        """Who may read an upload: only the uploader (the default), or one of their groups."""
        found = self.users.get(user or "")
        own = sorted(found.groups) if found else []
        return [(ONLY_ME, ONLY_ME), *((g, g) for g in own), ("everyone (all)", ALL)]

    def upload_access(self, user: str | None, choice: str | None) -> list[str]:
        """The groups an upload gets: `user:<name>` unless the user picked a group they belong to."""
        allowed = {g for _, g in self.upload_choices(user)} - {ONLY_ME}
        if choice and choice in allowed:
            return [choice]
        return [PRIVATE + (user or "anonymous")]

    def handlers(self) -> dict[str, Any]:
        """The event functions, each routed to the logged-in user's view."""
        import gradio as gr

        def name(request: Any) -> str | None:
            return getattr(request, "username", None)

        def respond(message: str, doc_ids: Sequence[str] | None, state: Any, request: Any = None) -> Iterator[tuple[Any, ...]]:
            yield from self.ui(name(request)).respond(message, doc_ids, state)

        def open_citation(ref: str, state: Any, request: Any = None) -> tuple[str, str]:
            return self.ui(name(request)).open_citation(ref, state)

        def filter_update(seen: Any = None, selected: Sequence[str] | None = None, request: Any = None) -> tuple[Any, Any]:
            return self.ui(name(request)).filter_update(seen, selected)

        def upload_choices(request: Any = None) -> Any:
            choices = self.upload_choices(name(request))
            return gr.update(choices=choices, value=ONLY_ME)

        def upload(files: Any, choice: str | None = None, request: Any = None) -> tuple[str, Any]:
            user = name(request)
            ui = self.ui(user)
            access = self.upload_access(user, choice)
            status, update = ui.upload(files, user, access=access)
            ui.assistant.audit("upload", files=[getattr(f, "orig_name", None) or str(getattr(f, "name", f)).rsplit("/", 1)[-1] for f in files or []],
                               access=access, status=status)
            return status, update

        def ask(question: str, doc_ids: list[str] | None = None, top_k: int | None = None, request: Any = None) -> dict:
            """Answer one question from the documents (no conversation); returns the answer JSON."""
            return self.ui(name(request)).api_ask(question, doc_ids, top_k)

        def documents(request: Any = None) -> list:
            """List the documents in the store: id, display name, file name, date, chunks (no server paths)."""
            return self.ui(name(request)).api_documents()

        fns = {"respond": respond, "open_citation": open_citation, "filter_update": filter_update, "upload_choices": upload_choices,
               "upload": upload, "ask": ask, "documents": documents}
        for fn in fns.values():
            fn.__annotations__ = {**fn.__annotations__, "request": gr.Request}  # Gradio injects the request by this annotation
        ask.__annotations__.update({"question": str, "doc_ids": list[str] | None, "top_k": int | None, "return": dict})
        documents.__annotations__["return"] = list
        return fns
