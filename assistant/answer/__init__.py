"""Answering: (question, retrieved contexts, their documents) -> an `Answer` with exact citations, or a refusal.

Owns: question analysis, the extractive answerer and its scorers (the cross-encoder `crossenc`,
the logistic `scorer`, the hand-set heuristic), citations (quotes are slices of the stored
text), LLM clients and generation, sentence-by-sentence verification, the grounding judges and
the prompt loader. A change to how answers are chosen touches only this package.
May import: `assistant.types`, `errors`, `config`, `text`, `encode`. Never `store` internals
(answering receives documents and sentence vectors as arguments), `retrieve`, `chat`, `api`,
`ui`, `cli`.
"""
