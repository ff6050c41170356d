"""Exception classes. Each carries the bad value so callers can name it in one line."""

from __future__ import annotations


class AssistantError(Exception):
    """Base class: anything the CLI/UI should report as a one-line message."""


class ConfigError(AssistantError):
    """A setting has an unusable value."""

    def __init__(self, name: str, value: object, reason: str) -> None:
        super().__init__(f"setting {name}={value!r}: {reason}")
        self.name, self.value, self.reason = name, value, reason


class StoreNotFoundError(AssistantError):
    """Asked to read a store that has never been created."""

    def __init__(self, path: str) -> None:
        super().__init__(f"no store at {path}: run `ct-assistant ingest PATH --store {path}` first")
        self.path = path


class StoreUnavailableError(AssistantError):
    """The vector store (e.g. a Chroma server) cannot be reached or opened."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"vector store {where} unavailable: {reason}")
        self.where, self.reason = where, reason


class UnknownDocumentError(AssistantError):
    def __init__(self, doc_id: str) -> None:
        super().__init__(f"unknown document id: {doc_id!r} (see `ct-assistant docs list`)")
        self.doc_id = doc_id


class EmptyQuestionError(AssistantError):
    def __init__(self, question: str) -> None:
        super().__init__(f"empty question: {question!r}")
        self.question = question


class InvalidFilterError(AssistantError):
    def __init__(self, name: str, value: object, reason: str) -> None:
        super().__init__(f"filter {name}={value!r}: {reason}")
        self.name, self.value = name, value


class ReadError(AssistantError):
    """A file could not be turned into a Document (corrupt, binary, empty, ...)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


class ModelNotFoundError(AssistantError):
    def __init__(self, what: str, where: str) -> None:
        super().__init__(f"{what} not found at {where}")
        self.what, self.where = what, where


class LLMError(AssistantError):
    """The configured LLM endpoint failed (down, timeout, bad reply)."""

    def __init__(self, endpoint: str, reason: str) -> None:
        super().__init__(f"LLM at {endpoint} failed: {reason}")
        self.endpoint, self.reason = endpoint, reason


class PromptError(AssistantError):
    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"prompt {name!r}: {reason}")
        self.name, self.reason = name, reason


class StoreOpenError(AssistantError):
    """The store directory or its catalog cannot be opened or written (not a directory, not
    writable, not a catalog, corrupt)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"store {path}: {reason}")
        self.path, self.reason = path, reason


class CatalogUnavailableError(AssistantError):
    """A shared catalog (PostgreSQL, `catalog_url`) cannot be reached, logged into or used."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"catalog {where} unavailable: {reason}")
        self.where, self.reason = where, reason


class InvalidGroupError(AssistantError):
    """An access group name that cannot be stored (empty, a comma, spaces, too long)."""

    def __init__(self, group: str, reason: str) -> None:
        super().__init__(f"access group {group!r}: {reason}")
        self.group, self.reason = group, reason


class AuthFileError(AssistantError):
    """The users file of the web chat is unreadable or holds a line it must not (a plain-text password)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"auth file {path}: {reason}")
        self.path, self.reason = path, reason


class UnknownUserError(AssistantError):
    def __init__(self, name: str, path: str) -> None:
        super().__init__(f"no user {name!r} in {path} (see `ct-assistant users list --auth-file {path}`)")
        self.name, self.path = name, path
