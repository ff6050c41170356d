"""The store: where documents, chunks and their vectors live (`Store`, the write protocol).

Owns: the SQLite catalog (source of truth: texts, chunks, FTS5 terms, sentence vectors), the numpy
BM25 snapshot, the Chroma collection (local or server), sentence vectors and the composed chunk
vectors, crash reconciliation. Everything on disk in a store directory is written from here.
May import: `assistant.types`, `errors`, `config`, `text`, `encode`. Never `retrieve`, `answer`,
`chat`, `api`, `ui`, `cli`, nor `ingest`.
"""
