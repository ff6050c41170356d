"""The learned answer scorer: P(this sentence answers the question) from `features.FEATURES`.

A logistic regression over standardised features (trained by `python -m evals.train_answerer`,
parameters in `assistant/answer/data/answerer.json`, a few KB). Logistic because it is
calibrated enough to threshold (the refusal decision `answer_min_prob` is a probability), its
parameters are a short JSON list, and it costs one dot product per sentence.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.answer.features import FEATURES
from assistant.errors import AssistantError

PARAMS = Path(__file__).parent / "data" / "answerer.json"


class ScorerParametersError(AssistantError):
    """The answer scorer's parameter file is missing or does not match the features."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        super().__init__(f"{path}: {reason}")


class AnswerScorer:
    def __init__(self, params: dict) -> None:
        names = tuple(params["features"])
        if names != FEATURES:
            raise ScorerParametersError(PARAMS, f"trained on other features ({len(names)} vs {len(FEATURES)}); rerun python -m evals.train_answerer")
        self.mean = np.asarray(params["mean"], dtype=np.float32)
        self.scale = np.asarray(params["scale"], dtype=np.float32)
        self.coef = np.asarray(params["coef"], dtype=np.float32)
        self.intercept = float(params["intercept"])
        self.min_prob = float(params.get("min_prob", 0.5))
        self.meta = params.get("meta", {})

    def predict(self, X: np.ndarray) -> np.ndarray:
        if len(X) == 0:
            return np.zeros(0, dtype=np.float32)
        z = ((X - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


@lru_cache(maxsize=2)
def load_scorer(path: Path = PARAMS) -> AnswerScorer:
    try:
        params = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ScorerParametersError(Path(path), f"cannot read: {exc}") from exc
    return AnswerScorer(params)
