"""Retrieval: a question (plus `Filters`) -> the best `Context` passages, dense + BM25 fused.

Owns: hybrid retrieval (dense top-N re-ordered by stored sentences, BM25 top-N, reciprocal rank
fusion, filters), and any future re-ranking.
May import: `assistant.store` and the layers below it. Never `answer`, `chat`, `api`, `ui`, `cli`.
"""
