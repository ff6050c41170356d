"""The dense index: one Chroma collection of chunk vectors, local (PersistentClient) or a server.

We always pass embeddings we computed ourselves, and give Chroma our own embedding function
explicitly, so Chroma never falls back to its default model (which downloads weights).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.encode.embed import Embedder
from assistant.store.access import replace_groups
from assistant.errors import StoreUnavailableError

log = logging.getLogger(__name__)

EF_NAME = "ct_assistant_minilm"
_BATCH = 2000


def _embedding_function(embedder: Embedder | None) -> Any:
    from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
    from chromadb.utils.embedding_functions import register_embedding_function

    @register_embedding_function
    class MiniLMEmbeddingFunction(EmbeddingFunction[Documents]):
        """Chroma-facing wrapper of our Embedder (loaded only if Chroma ever calls it)."""

        def __init__(self, embedder: Embedder | None = None, model_path: str | None = None) -> None:
            self._embedder = embedder
            self._model_path = model_path or (str(embedder.model_path) if embedder else None)

        def __call__(self, input: Documents) -> Embeddings:
            if self._embedder is None:
                self._embedder = Embedder(Path(self._model_path) if self._model_path else None)
            return list(self._embedder.embed(list(input)))

        @staticmethod
        def name() -> str:
            return EF_NAME

        def get_config(self) -> dict[str, Any]:
            return {"model_path": self._model_path}

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> MiniLMEmbeddingFunction:
            return MiniLMEmbeddingFunction(model_path=config.get("model_path"))

        def default_space(self) -> str:  # type: ignore[override]
            return "cosine"

    return MiniLMEmbeddingFunction(embedder)


class VectorIndex:
    def __init__(self, collection: Any, where: str, client: Any = None) -> None:
        self.collection = collection
        self.where = where
        self._client = client

    def close(self) -> None:
        """Release the Chroma client: the last one open on a path stops its system (its SQLite
        connection and index files are let go; a store opened and closed many times in one
        process kept every one of them open, deleted stores' files too)."""
        client, self._client = self._client, None
        if client is not None and hasattr(client, "close"):
            client.close()

    @classmethod
    def open(
        cls, *, path: Path | None, host: str | None, port: int, ssl: bool, name: str, embedder: Embedder | None
    ) -> VectorIndex:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        where = f"{'https' if ssl else 'http'}://{host}:{port}" if host else str(path)
        try:
            if host:
                client = chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=chroma_settings)
                client.heartbeat()
            else:
                assert path is not None
                path.mkdir(parents=True, exist_ok=True)
                client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
            collection = client.get_or_create_collection(
                name=name, embedding_function=_embedding_function(embedder), metadata={"hnsw:space": "cosine"}
            )
        except Exception as exc:  # noqa: BLE001 - chromadb raises many types (connection, value, sqlite)
            raise StoreUnavailableError(where, f"{type(exc).__name__}: {exc}".splitlines()[0][:300]) from exc
        return cls(collection, where, client)

    def count(self) -> int:
        return int(self.collection.count())

    def all_ids(self) -> set[str]:
        ids: set[str] = set()
        offset, step = 0, 5000
        while True:
            got = self.collection.get(include=[], limit=step, offset=offset)["ids"]
            ids.update(got)
            if len(got) < step:
                return ids
            offset += step

    def has(self, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(ids), _BATCH):
            found.update(self.collection.get(ids=list(ids[i : i + _BATCH]), include=[])["ids"])
        return found

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, texts: Sequence[str], metas: Sequence[dict[str, Any]]) -> None:
        for i in range(0, len(ids), _BATCH):
            self.collection.upsert(
                ids=list(ids[i : i + _BATCH]),
                embeddings=vectors[i : i + _BATCH],
                documents=list(texts[i : i + _BATCH]),
                metadatas=list(metas[i : i + _BATCH]),
            )

    def delete(self, ids: Sequence[str]) -> None:
        ids = list(ids)
        for i in range(0, len(ids), _BATCH):
            self.collection.delete(ids=ids[i : i + _BATCH])

    def set_groups(self, ids: Sequence[str], groups: Sequence[str]) -> None:
        """Replace the access-group keys in these chunks' metadata (assistant.store.access)."""
        ids = list(ids)
        for i in range(0, len(ids), _BATCH):
            got = self.collection.get(ids=ids[i : i + _BATCH], include=["metadatas"])
            if got["ids"]:
                self.collection.update(ids=got["ids"], metadatas=[replace_groups(m, groups) for m in got["metadatas"]])

    def query(
        self, vector: np.ndarray, k: int, doc_ids: Sequence[str] | None = None, where: dict[str, Any] | None = None
    ) -> list[tuple[str, float]]:
        """[(chunk_id, cosine similarity)], best first; `where`: a further metadata filter (access groups)."""
        if doc_ids is not None and not doc_ids:
            return []
        clauses = [where] if where else []
        if doc_ids is not None:
            clauses.append({"doc_id": doc_ids[0]} if len(doc_ids) == 1 else {"doc_id": {"$in": list(doc_ids)}})
        where = None if not clauses else clauses[0] if len(clauses) == 1 else {"$and": clauses}
        # no count() first: Chroma (>= 1.0) returns fewer than k results for a small or empty
        # collection, and count() cost ~40 ms per question at 100k chunks
        res = self.collection.query(query_embeddings=[vector], n_results=k, where=where, include=["distances"])
        if not res["ids"] or not res["ids"][0]:
            return []
        return [(cid, 1.0 - float(d)) for cid, d in zip(res["ids"][0], res["distances"][0], strict=True)]
