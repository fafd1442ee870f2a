"""Fairness by group of offers, defined once for the training audit, the model card, monitoring
and the notebooks (fairlearn). Groups are attributes of offers (features.spec.AUDIT_COLUMNS),
never protected grounds of people.

Per group (`group_table`): offers scored and the share flagged high risk (all scored offers);
then on offers whose outcome has matured: true and false positive rates of the high flag, mean
probability, observed hard-to-fill rate, calibration gap (observed minus predicted) and ECE.
Groups with fewer than `min_group_size` matured offers are reported, marked small, and left out
of the gaps, whose noise they would otherwise dominate.
Gaps per attribute (`gaps`): equalized odds difference (the larger of the TPR and FPR spreads,
fairlearn's between-groups definition), the calibration gap farthest from zero and its group,
and the spread of the share flagged high.
In training every test offer has matured, so `scored` and `matured` are the same frame.
"""

import numpy as np
import pandas as pd

from features.spec import AUDIT_COLUMNS
from training.metrics import expected_calibration_error

TABLE_COLUMNS = ("attribute", "group", "offers", "share_flagged", "matured", "tpr", "fpr", "mean_probability",
                 "observed_rate", "calibration_gap", "ece", "small")
GAP_NAMES = ("groups_judged", "equalized_odds_difference", "calibration_gap", "calibration_gap_group",
             "calibration_gap_signed", "share_flagged_difference")


def _mean(y_true, y_pred) -> float:
    return float(np.mean(y_pred)) if len(y_pred) else float("nan")


def _observed(y_true, y_pred) -> float:
    return float(np.mean(y_true)) if len(y_true) else float("nan")


def group_table(scored: pd.DataFrame, matured: pd.DataFrame, attribute: str, ece_bins: int = 10) -> pd.DataFrame:
    """One row per group of `audit_<attribute>`. `scored`: audit_*, risk; `matured`: the same
    plus label and probability."""
    from fairlearn.metrics import MetricFrame, count, false_positive_rate, selection_rate, true_positive_rate

    column = f"audit_{attribute}"
    table = MetricFrame(metrics={"offers": count, "share_flagged": selection_rate},
                        y_true=np.zeros(len(scored)), y_pred=(scored["risk"] == "high").to_numpy(int),
                        sensitive_features=scored[column].astype(str).rename("group")).by_group.astype(float)
    if len(matured):
        labels = matured["label"].to_numpy(int)
        groups = matured[column].astype(str).rename("group")
        rates = MetricFrame(metrics={"matured": count, "tpr": true_positive_rate, "fpr": false_positive_rate},
                            y_true=labels, y_pred=(matured["risk"] == "high").to_numpy(int),
                            sensitive_features=groups).by_group
        calibration = MetricFrame(
            metrics={"mean_probability": _mean, "observed_rate": _observed,
                     "ece": lambda t, p: expected_calibration_error(t, p, ece_bins)},
            y_true=labels, y_pred=matured["probability"].to_numpy(float), sensitive_features=groups).by_group
        table = table.join(rates.astype(float), how="outer").join(calibration.astype(float), how="outer")
        table["calibration_gap"] = table["observed_rate"] - table["mean_probability"]
    else:
        for name in ("matured", "tpr", "fpr", "mean_probability", "observed_rate", "calibration_gap", "ece"):
            table[name] = np.nan
    table["matured"] = table["matured"].fillna(0.0)
    table["offers"] = table["offers"].fillna(0.0)
    table.index.name = "group"
    return table.reset_index()


def gaps(table: pd.DataFrame, min_group_size: int) -> dict[str, float | str | None]:
    """The largest gaps among groups with at least `min_group_size` matured offers."""
    large = table[table["matured"] >= min_group_size]
    both = large.dropna(subset=["tpr", "fpr"])
    result: dict[str, float | str | None] = {
        "groups_judged": float(len(large)),
        "equalized_odds_difference": float("nan"),
        "calibration_gap": float("nan"),
        "calibration_gap_group": None,
        "calibration_gap_signed": float("nan"),
        "share_flagged_difference": float("nan"),
    }
    if len(both) >= 2:
        result["equalized_odds_difference"] = float(max(both["tpr"].max() - both["tpr"].min(),
                                                        both["fpr"].max() - both["fpr"].min()))
    calibrated = large.dropna(subset=["calibration_gap"])
    if len(calibrated):
        worst = calibrated.loc[calibrated["calibration_gap"].abs().idxmax()]
        result["calibration_gap"] = float(abs(worst["calibration_gap"]))
        result["calibration_gap_group"] = str(worst["group"])
        result["calibration_gap_signed"] = float(worst["calibration_gap"])
    if len(large) >= 2:
        result["share_flagged_difference"] = float(large["share_flagged"].max() - large["share_flagged"].min())
    return result


def fairness(scored: pd.DataFrame, matured: pd.DataFrame, min_group_size: int, ece_bins: int = 10,
             attributes: tuple[str, ...] = AUDIT_COLUMNS) -> tuple[pd.DataFrame, dict[str, dict]]:
    """The table of every attribute (TABLE_COLUMNS) and the gaps per attribute (GAP_NAMES)."""
    tables, all_gaps = [], {}
    for attribute in attributes:
        table = group_table(scored, matured, attribute, ece_bins)
        all_gaps[attribute] = gaps(table, min_group_size)
        tables.append(table.assign(attribute=attribute, small=table["matured"] < min_group_size)
                      .sort_values(["offers", "group"], ascending=[False, True]))
    return pd.concat(tables, ignore_index=True)[list(TABLE_COLUMNS)], all_gaps


def fairness_metrics(summary: dict) -> dict[str, float]:
    """Flat MLflow metric names: fairness_<attribute>_<gap> (the numeric gaps)."""
    return {f"fairness_{attribute}_{name}": float(value) for attribute, values in summary.items()
            for name, value in values.items() if isinstance(value, int | float)}
