"""Metrics of a probabilistic classifier, named for what and on which data (test_roc_auc)."""

import numpy as np


def expected_calibration_error(labels: np.ndarray, probabilities: np.ndarray, bins: int = 10) -> float:
    """Weighted mean gap between predicted and observed rates over equal-width bins."""
    labels, probabilities = np.asarray(labels, float), np.asarray(probabilities, float)
    if len(labels) == 0:
        return float("nan")
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(probabilities, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.sum() * abs(probabilities[inside].mean() - labels[inside].mean())
    return float(total / len(labels))


def top_share_mask(probabilities: np.ndarray, share: float) -> np.ndarray:
    """The riskiest `share` of offers (ties broken by order, so exactly that many)."""
    probabilities = np.asarray(probabilities, float)
    k = int(round(share * len(probabilities)))
    mask = np.zeros(len(probabilities), bool)
    if k:
        mask[np.argsort(-probabilities, kind="stable")[:k]] = True
    return mask


def classification_metrics(labels: np.ndarray, probabilities: np.ndarray, top_share: float = 0.2,
                           ece_bins: int = 10) -> dict[str, float]:
    from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

    labels = np.asarray(labels, float)
    probabilities = np.clip(np.asarray(probabilities, float), 1e-6, 1 - 1e-6)
    flagged = top_share_mask(probabilities, top_share)
    positives = labels.sum()
    percent = int(round(top_share * 100))
    return {
        "roc_auc": float(roc_auc_score(labels, probabilities)),
        "pr_auc": float(average_precision_score(labels, probabilities)),
        "brier": float(brier_score_loss(labels, probabilities)),
        "log_loss": float(log_loss(labels, probabilities, labels=[0, 1])),
        "ece": expected_calibration_error(labels, probabilities, ece_bins),
        f"precision_at_{percent}pct": float(labels[flagged].mean()) if flagged.any() else float("nan"),
        f"recall_at_{percent}pct": float(labels[flagged].sum() / positives) if positives else float("nan"),
        "positive_rate": float(labels.mean()),
        "mean_probability": float(probabilities.mean()),
        "rows": float(len(labels)),
    }


def prefixed(metrics: dict[str, float], prefix: str) -> dict[str, float]:
    return {f"{prefix}{name}": value for name, value in metrics.items()}
