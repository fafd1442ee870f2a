"""The quality the model really had, on offers whose outcome has matured (pure functions)."""

import numpy as np

# The same definitions as the training's model card, so that the numbers compare.
from training.metrics import expected_calibration_error, top_share_mask


def quality(labels: np.ndarray, probabilities: np.ndarray, capacity_share: float = 0.2,
            ece_bins: int = 10) -> dict[str, float]:
    """ROC AUC, calibration, precision and recall at advisers' capacity; NaN where undefined
    (no matured offer, or a single class)."""
    from sklearn.metrics import roc_auc_score

    labels = np.asarray(labels, float)
    probabilities = np.asarray(probabilities, float)
    n = len(labels)
    positives = float(labels.sum()) if n else 0.0
    two_classes = n > 0 and 0 < positives < n
    flagged = top_share_mask(probabilities, capacity_share)
    return {
        "matured_offers": float(n),
        "roc_auc": float(roc_auc_score(labels, probabilities)) if two_classes else float("nan"),
        "ece": expected_calibration_error(labels, probabilities, ece_bins),
        "precision_at_capacity": float(labels[flagged].mean()) if flagged.any() else float("nan"),
        "recall_at_capacity": float(labels[flagged].sum() / positives) if positives else float("nan"),
        "observed_rate": float(labels.mean()) if n else float("nan"),
        "mean_probability": float(probabilities.mean()) if n else float("nan"),
    }


CARD_KEYS = {  # what monitoring compares with, and the names the model card may use for it
    "roc_auc": ("test_roc_auc", "roc_auc"),
    "ece": ("test_ece", "ece"),
    "precision_at_capacity": ("test_precision_at_20pct", "precision_at_20pct", "precision_at_capacity"),
    "recall_at_capacity": ("test_recall_at_20pct", "recall_at_20pct", "recall_at_capacity"),
}


def _flatten(card: dict, prefix: str = "") -> dict[str, float]:
    flat: dict[str, float] = {}
    for key, value in (card or {}).items():
        if isinstance(value, dict):
            for inner, number in _flatten(value, f"{prefix}{key}.").items():
                flat.setdefault(inner, number)
                flat.setdefault(inner.rsplit(".", 1)[-1], number)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            flat.setdefault(f"{prefix}{key}", float(value))
            flat.setdefault(str(key), float(value))
    return flat


def promised(card: dict) -> dict[str, float]:
    """The test-set figures the model card promised (roc_auc, ece, precision/recall at capacity),
    wherever the card nests them; missing ones are left out."""
    model = ((card or {}).get("metrics") or {}).get("model")
    flat = {**_flatten(card), **(_flatten(model) if isinstance(model, dict) else {})}
    found = {}
    for name, keys in CARD_KEYS.items():
        for key in keys:
            if key in flat:
                found[name] = flat[key]
                break
    return found
