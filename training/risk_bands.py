"""Risk bands, defined once: thresholds chosen for advisers' capacity, and the band of a
probability. Training sets the thresholds; serving, monitoring and the notebooks read them from
the champion's `risk_bands.json` and call `risk_band`."""

import numpy as np

RISK_BANDS = ("low", "medium", "high")


def band_thresholds(probabilities: np.ndarray, high_share: float, medium_share: float) -> dict[str, float]:
    """Thresholds such that about `high_share` of the (validation) offers are high risk and the
    next `medium_share` medium: the advisers' capacity decides, not a round number."""
    high = float(np.quantile(probabilities, 1 - high_share))
    medium = float(np.quantile(probabilities, 1 - high_share - medium_share))
    return {"medium": min(medium, high), "high": high}


def risk_band(probabilities, thresholds: dict[str, float]) -> np.ndarray:
    """'high' at or above the high threshold, 'medium' at or above the medium one, else 'low'."""
    p = np.asarray(probabilities, float)
    return np.where(p >= thresholds["high"], "high", np.where(p >= thresholds["medium"], "medium", "low"))
