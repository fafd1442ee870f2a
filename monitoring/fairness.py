"""Fairness over time with fairlearn: per group of offers, share flagged high, true and false
positive rates and calibration, and the largest gaps (Evidently's GroupBy returns the overall
value for classification metrics, so it is not used for this)."""

import numpy as np
import pandas as pd

from features.spec import AUDIT_COLUMNS

ATTRIBUTES = AUDIT_COLUMNS  # the same groups as the training audit


def _mean(y_true, y_pred) -> float:
    return float(np.mean(y_pred)) if len(y_pred) else float("nan")


def _observed(y_true, y_pred) -> float:
    return float(np.mean(y_true)) if len(y_true) else float("nan")


def group_table(current: pd.DataFrame, matured: pd.DataFrame, attribute: str) -> pd.DataFrame:
    """One row per group of `attribute`: offers scored, share flagged high (all scored offers),
    then on matured offers: TPR and FPR of the high flag, mean probability, observed rate and the
    calibration gap (observed minus predicted)."""
    from fairlearn.metrics import MetricFrame, count, false_positive_rate, selection_rate, true_positive_rate

    column = f"audit_{attribute}"
    scored = MetricFrame(metrics={"offers": count, "share_flagged": selection_rate},
                         y_true=np.zeros(len(current)), y_pred=(current["risk"] == "high").to_numpy(int),
                         sensitive_features=current[column].astype(str).rename(attribute)).by_group
    table = scored.astype(float)
    if len(matured) and matured["label"].nunique() > 0:
        labels = matured["label"].to_numpy(int)
        groups = matured[column].astype(str).rename(attribute)
        rates = MetricFrame(
            metrics={"matured": count, "tpr": true_positive_rate, "fpr": false_positive_rate},
            y_true=labels, y_pred=(matured["risk"] == "high").to_numpy(int), sensitive_features=groups,
        ).by_group
        calibration = MetricFrame(metrics={"mean_probability": _mean, "observed_rate": _observed},
                                  y_true=labels, y_pred=matured["probability"].to_numpy(float),
                                  sensitive_features=groups).by_group
        table = table.join(rates.astype(float), how="outer").join(calibration.astype(float), how="outer")
        table["calibration_gap"] = table["observed_rate"] - table["mean_probability"]
    else:
        for name in ("matured", "tpr", "fpr", "mean_probability", "observed_rate", "calibration_gap"):
            table[name] = np.nan
    table["matured"] = table["matured"].fillna(0.0)
    table["offers"] = table["offers"].fillna(0.0)
    table.index.name = "group"
    return table.reset_index()


def gaps(table: pd.DataFrame, min_group_size: int) -> dict[str, float | str | None]:
    """The largest gaps among groups with at least `min_group_size` matured offers (smaller groups
    are reported but too noisy to judge): equalized odds difference (the larger of the TPR and
    FPR ranges, fairlearn's between-groups definition), the calibration gap farthest from zero and
    its group, and the range of the share flagged high."""
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


def fairness(current: pd.DataFrame, matured: pd.DataFrame, min_group_size: int,
             attributes: tuple[str, ...] = ATTRIBUTES) -> tuple[pd.DataFrame, dict[str, dict]]:
    """Per-group table of every attribute (column `attribute` first) and the gaps per attribute."""
    tables, all_gaps = [], {}
    for attribute in attributes:
        table = group_table(current, matured, attribute)
        all_gaps[attribute] = gaps(table, min_group_size)
        tables.append(table.assign(attribute=attribute, small=table["matured"] < min_group_size))
    combined = pd.concat(tables, ignore_index=True)
    columns = ["attribute", "group", "offers", "share_flagged", "matured", "tpr", "fpr", "mean_probability",
               "observed_rate", "calibration_gap", "small"]
    return combined[columns], all_gaps
