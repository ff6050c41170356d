"""Text primitives shared by every layer: sentence spans (`sentences`) and index terms (`lexical`).

Owns: splitting normalised text into exact sentence spans; the tokenizer (lower case, stop words,
Snowball stems) that feeds BM25, the question analysis and term coverage.
May import: the standard library and small pure dependencies only; nothing of `assistant`.
"""
