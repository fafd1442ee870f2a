"""Calibration of the model's raw score (log-odds) into a probability: isotonic or sigmoid.

Stored as plain JSON with the model, so that serving needs neither pickles nor scikit-learn
objects: a 0.7 means seven in ten such offers take more than 30 days.
"""

from dataclasses import dataclass, field
from typing import Literal

import numpy as np


@dataclass
class Calibrator:
    method: Literal["isotonic", "sigmoid"]
    # isotonic: breakpoints of the fitted step function; sigmoid: slope and intercept.
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    slope: float = 1.0
    intercept: float = 0.0

    @classmethod
    def fit(cls, raw_scores: np.ndarray, labels: np.ndarray, method: str) -> "Calibrator":
        raw_scores, labels = np.asarray(raw_scores, float), np.asarray(labels, float)
        if method == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw_scores, labels)
            return cls("isotonic", x=iso.X_thresholds_.tolist(), y=iso.y_thresholds_.tolist())
        if method == "sigmoid":
            from sklearn.linear_model import LogisticRegression

            platt = LogisticRegression(C=1e6).fit(raw_scores.reshape(-1, 1), labels)
            return cls("sigmoid", slope=float(platt.coef_[0, 0]), intercept=float(platt.intercept_[0]))
        raise ValueError(f"calibration method must be isotonic or sigmoid, not {method!r}")

    def transform(self, raw_scores: np.ndarray) -> np.ndarray:
        raw_scores = np.asarray(raw_scores, float)
        if self.method == "isotonic":
            return np.interp(raw_scores, self.x, self.y)
        return 1.0 / (1.0 + np.exp(-(self.slope * raw_scores + self.intercept)))

    def to_dict(self) -> dict:
        return {"method": self.method, "x": self.x, "y": self.y, "slope": self.slope,
                "intercept": self.intercept}

    @classmethod
    def from_dict(cls, data: dict) -> "Calibrator":
        return cls(**data)


def choose_calibrator(raw_scores: np.ndarray, labels: np.ndarray, methods: list[str],
                      seed: int = 42) -> tuple["Calibrator", dict[str, float]]:
    """Pick the method with the lowest out-of-fold Brier score on validation (two folds, so
    that isotonic's flexibility is not rewarded for memorising), then fit it on all of it."""
    raw_scores, labels = np.asarray(raw_scores, float), np.asarray(labels, float)
    folds = np.random.default_rng(seed).permutation(len(labels)) % 2
    scores = {}
    for method in methods:
        squared = 0.0
        for fold in (0, 1):
            fit_on, test_on = folds != fold, folds == fold
            calibrator = Calibrator.fit(raw_scores[fit_on], labels[fit_on], method)
            squared += float(((calibrator.transform(raw_scores[test_on]) - labels[test_on]) ** 2).sum())
        scores[method] = squared / len(labels)
    best = min(scores, key=scores.get)
    return Calibrator.fit(raw_scores, labels, best), scores
