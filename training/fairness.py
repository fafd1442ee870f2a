"""Fairness audit over attributes of offers (never protected grounds of people), with fairlearn.

Per group: size, share flagged high risk, true and false positive rates of that flag, observed
and predicted hard-to-fill rates, calibration error. Groups smaller than `min_group_size` are
reported and marked small, but left out of the gaps, whose noise would otherwise dominate.
Gaps per attribute: equalized odds difference (the larger of the TPR and FPR spreads) and the
calibration gap (the largest |mean probability - observed rate| of a group).
"""

import numpy as np
import pandas as pd

from training.metrics import expected_calibration_error


def _rate(values: np.ndarray) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


def group_table(frame: pd.DataFrame, attribute: str, min_group_size: int, ece_bins: int = 10) -> pd.DataFrame:
    """One row per group of `audit_<attribute>`: frame holds label, probability, flagged."""
    from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate

    y = frame["label"].to_numpy(int)
    flagged = frame["flagged"].to_numpy(int)
    probability = frame["probability"].to_numpy(float)
    groups = frame[f"audit_{attribute}"].astype(str).to_numpy()
    by_flag = MetricFrame(
        metrics={"flagged_share": selection_rate, "true_positive_rate": true_positive_rate,
                 "false_positive_rate": false_positive_rate},
        y_true=y, y_pred=flagged, sensitive_features=pd.Series(groups, name="group"))
    by_probability = MetricFrame(
        metrics={"observed_rate": lambda t, p: _rate(t), "mean_probability": lambda t, p: _rate(p),
                 "ece": lambda t, p: expected_calibration_error(t, p, ece_bins)},
        y_true=y, y_pred=probability, sensitive_features=pd.Series(groups, name="group"))
    sizes = pd.Series(groups).value_counts().rename("size")
    table = by_flag.by_group.join(by_probability.by_group).join(sizes)
    table["calibration_gap"] = (table["mean_probability"] - table["observed_rate"]).abs()
    table["small"] = table["size"] < min_group_size
    table.insert(0, "attribute", attribute)
    return table.reset_index().sort_values(["size", "group"], ascending=[False, True], ignore_index=True)


def gaps(table: pd.DataFrame) -> dict[str, float]:
    """The largest gaps among groups large enough to measure (NaN when fewer than two)."""
    large = table[~table["small"]]
    if len(large) < 2:
        return {"equalized_odds_difference": float("nan"), "calibration_gap": float("nan"),
                "flagged_share_difference": float("nan"), "groups_measured": float(len(large))}
    spread = lambda column: float(large[column].max() - large[column].min())  # noqa: E731
    return {
        "equalized_odds_difference": max(spread("true_positive_rate"), spread("false_positive_rate")),
        "calibration_gap": float(large["calibration_gap"].max()),
        "flagged_share_difference": spread("flagged_share"),
        "groups_measured": float(len(large)),
    }


def fairness_audit(frame: pd.DataFrame, params: dict, ece_bins: int = 10) -> tuple[pd.DataFrame, dict]:
    """The per-group table of every attribute, and the gaps per attribute
    ({attribute: {gap: value}})."""
    tables, summary = [], {}
    for attribute in params.get("attributes", []):
        table = group_table(frame, attribute, params.get("min_group_size", 200), ece_bins)
        tables.append(table)
        summary[attribute] = gaps(table)
    return pd.concat(tables, ignore_index=True), summary


def fairness_metrics(summary: dict) -> dict[str, float]:
    """Flat MLflow metric names: fairness_<attribute>_<gap>."""
    return {f"fairness_{attribute}_{name}": value for attribute, values in summary.items()
            for name, value in values.items()}
