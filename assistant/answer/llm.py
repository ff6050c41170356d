"""LLM backends through LlamaIndex, chosen by `Settings.llm_backend`.

- ``openai``: any OpenAI-compatible endpoint (Ollama, vLLM, llama.cpp server, OpenAI) through
  `llama_index.llms.openai_like.OpenAILike`;
- ``llamacpp``: a local GGUF file through `llama-cpp-python` (the optional extra
  ``pip install 'ct-assistant[llamacpp]'``), wrapped as a LlamaIndex `CustomLLM`.

LlamaIndex is imported here, lazily (it takes seconds): the extractive path never imports this
module. LlamaIndex's global `Settings` is never touched. `ChatLLM` is the small facade the rest
of the code uses; every backend failure leaves it as `LLMError`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from assistant.config import Settings
from assistant.errors import ConfigError, LLMError

log = logging.getLogger(__name__)

#: retries by the OpenAI client on connection errors; 0 so a down endpoint falls back at once
MAX_RETRIES = 0


def build_llm(settings: Settings) -> Any:
    """A LlamaIndex LLM for the configured backend (`llm_backend` must not be "none")."""
    if settings.llm_backend == "openai":
        from llama_index.llms.openai_like import OpenAILike

        return OpenAILike(
            api_base=settings.llm_base_url,
            model=settings.llm_model or "default",
            api_key=settings.api_key() or "none",
            timeout=settings.llm_timeout,
            max_retries=MAX_RETRIES,
            is_chat_model=True,
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
            context_window=4096,
        )
    if settings.llm_backend == "llamacpp":
        return _llamacpp(settings)
    raise ConfigError("llm_backend", settings.llm_backend, "no LLM configured")


def _llamacpp(settings: Settings) -> Any:
    try:
        import llama_cpp  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            "llm_backend", "llamacpp", "llama-cpp-python is not installed: pip install 'ct-assistant[llamacpp]'"
        ) from exc
    path = settings.llm_gguf_path
    if path is None or not path.is_file():
        raise ConfigError("llm_gguf_path", path, "no such GGUF file")
    from llama_cpp import Llama

    model = Llama(model_path=str(path), n_ctx=4096, verbose=False)
    return _llamacpp_class()(model=model, model_name=path.name, max_tokens=settings.llm_max_tokens, temperature=settings.llm_temperature)


@lru_cache(maxsize=1)
def _llamacpp_class() -> type:
    """A LlamaIndex `CustomLLM` over `llama_cpp.Llama` using the GGUF's own chat template."""
    from llama_index.core.llms import (
        ChatMessage,
        ChatResponse,
        CompletionResponse,
        CustomLLM,
        LLMMetadata,
        MessageRole,
    )
    from pydantic import ConfigDict

    class LlamaCppChat(CustomLLM):  # type: ignore[misc, valid-type]
        model_config = ConfigDict(arbitrary_types_allowed=True)
        model: Any
        model_name: str = "gguf"
        max_tokens: int = 400
        temperature: float = 0.0

        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata(context_window=4096, num_output=self.max_tokens, is_chat_model=True, model_name=self.model_name)

        def _create(self, messages: Any, stream: bool, **kw: Any) -> Any:
            msgs = [{"role": m.role.value, "content": m.content or ""} for m in messages]
            return self.model.create_chat_completion(
                messages=msgs, max_tokens=kw.get("max_tokens", self.max_tokens), temperature=self.temperature, stream=stream
            )

        def chat(self, messages: Any, **kw: Any) -> ChatResponse:
            out = self._create(messages, False, **kw)
            return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=out["choices"][0]["message"]["content"]))

        def stream_chat(self, messages: Any, **kw: Any) -> Iterator[ChatResponse]:
            text = ""
            for part in self._create(messages, True, **kw):
                delta = part["choices"][0]["delta"].get("content") or ""
                text += delta
                yield ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text), delta=delta)

        def complete(self, prompt: str, formatted: bool = False, **kw: Any) -> CompletionResponse:
            return CompletionResponse(text=self.chat([ChatMessage(role=MessageRole.USER, content=prompt)], **kw).message.content or "")

        def stream_complete(self, prompt: str, formatted: bool = False, **kw: Any) -> Iterator[CompletionResponse]:
            for r in self.stream_chat([ChatMessage(role=MessageRole.USER, content=prompt)], **kw):
                yield CompletionResponse(text=r.message.content or "", delta=r.delta)

    return LlamaCppChat


def endpoint(settings: Settings) -> str:
    if settings.llm_backend == "openai":
        return str(settings.llm_base_url)
    return str(settings.llm_gguf_path)


class ChatLLM:
    """System + user prompt in, text out (whole or streamed); failures become `LLMError`."""

    def __init__(self, settings: Settings, llm: Any | None = None) -> None:
        self.settings = settings
        self.name = settings.llm_name()
        self.endpoint = endpoint(settings)
        self._llm = llm

    @property
    def llm(self) -> Any:
        if self._llm is None:
            self._llm = build_llm(self.settings)
        return self._llm

    def _messages(self, system: str, user: str) -> list[Any]:
        from llama_index.core.llms import ChatMessage, MessageRole

        msgs = [ChatMessage(role=MessageRole.SYSTEM, content=system)] if system else []
        return [*msgs, ChatMessage(role=MessageRole.USER, content=user)]

    def complete(self, system: str, user: str, max_tokens: int | None = None) -> str:
        kwargs = {"max_tokens": max_tokens} if max_tokens else {}
        try:
            resp = self.llm.chat(self._messages(system, user), **kwargs)
        except LLMError:
            raise
        except _backend_errors() as exc:
            raise LLMError(self.endpoint, _reason(exc)) from exc
        return (resp.message.content or "").strip()

    def stream(self, system: str, user: str) -> Iterator[str]:
        """Text pieces as the model writes them."""
        try:
            for chunk in self.llm.stream_chat(self._messages(system, user)):
                if chunk.delta:
                    yield chunk.delta
        except LLMError:
            raise
        except _backend_errors() as exc:
            raise LLMError(self.endpoint, _reason(exc)) from exc


def _backend_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [OSError, TimeoutError, ValueError, RuntimeError]
    try:
        import httpx
        import openai

        errors += [openai.OpenAIError, httpx.HTTPError]
    except ImportError:  # pragma: no cover - openai comes with llama-index-llms-openai-like
        pass
    return tuple(errors)


def _reason(exc: BaseException) -> str:
    name = type(exc).__name__
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{name}: {text}"[:200] if text else name
