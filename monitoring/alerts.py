"""Alerts: which thresholds of params.yaml a period crosses, and what to do about it."""

import math
from typing import Literal

from pydantic import BaseModel

from monitoring.config import AlertThresholds


class Alert(BaseModel):
    period: str
    kind: Literal["drift", "quality", "fairness"]
    name: str
    value: float
    threshold: float
    message: str
    action: str


def _crossed(value, threshold) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value)) and value > threshold


def evaluate(summary: dict, thresholds: AlertThresholds) -> list[Alert]:
    """The alerts of one period summary (monitoring.analysis.PeriodSummary as a dict)."""
    period, alerts = summary["period"], []

    def add(kind, name, value, threshold, message, action):
        alerts.append(Alert(period=period, kind=kind, name=name, value=round(float(value), 4),
                            threshold=threshold, message=message, action=action))

    drift = summary.get("drift") or {}
    if drift.get("judged"):
        if _crossed(drift["share"], thresholds.max_drift_share):
            add("drift", "drift_share", drift["share"], thresholds.max_drift_share,
                f"{drift['count']:.0f} features drifted from the reference: {', '.join(drift['drifted'])}",
                "check the offer feed for a change; if the market moved, retrain on recent offers "
                "(`hardtofill train`) once their outcomes have matured")
        if _crossed(drift["probability"], thresholds.max_probability_drift):
            add("drift", "probability_drift", drift["probability"], thresholds.max_probability_drift,
                "the predicted probabilities drifted from the reference's",
                "retrain on recent offers; meanwhile read high-risk flags with care")
        change = abs(drift["high_risk_share"] - drift["reference_high_risk_share"])
        if _crossed(change, thresholds.max_high_risk_share_change):
            add("drift", "high_risk_share_change", change, thresholds.max_high_risk_share_change,
                f"{drift['high_risk_share']:.1%} of offers flagged high risk "
                f"(reference {drift['reference_high_risk_share']:.1%})",
                "advisers' workload moved: check the offer feed, then retrain or recalibrate the risk bands")
    unseen = summary.get("unseen_occupations") or {}
    if _crossed(unseen.get("share"), thresholds.max_unseen_occupation_share):
        add("drift", "unseen_occupations", unseen["share"], thresholds.max_unseen_occupation_share,
            f"{unseen['offers']} offers carry {unseen['codes']} occupation codes the model never saw "
            f"(e.g. {', '.join(list(unseen['top'])[:5])}): ROME 4.0 codes?",
            "map the new codes to the model's (ROME v3 -> 4.0 correspondence) or retrain once offers "
            "with the new codes have matured outcomes; meanwhile their scores rest on domain and place")
    quality = summary.get("quality") or {}
    if quality.get("judged"):
        promised_auc = (summary.get("promised") or {}).get("roc_auc")
        if promised_auc is not None and _crossed(promised_auc - quality["roc_auc"], thresholds.max_auc_drop):
            add("quality", "auc_drop", promised_auc - quality["roc_auc"], thresholds.max_auc_drop,
                f"ROC AUC {quality['roc_auc']:.3f} on matured outcomes, the model card promised {promised_auc:.3f}",
                "retrain (`hardtofill train`) and promote only if the new model passes the gates")
        if _crossed(quality["ece"], thresholds.max_ece):
            add("quality", "calibration_error", quality["ece"], thresholds.max_ece,
                f"calibration error {quality['ece']:.3f}: observed rate {quality['observed_rate']:.1%}, "
                f"mean probability {quality['mean_probability']:.1%}",
                "retrain, or at least recalibrate on recent matured outcomes")
    for attribute, gap in (summary.get("fairness") or {}).items():
        if _crossed(gap.get("equalized_odds_difference"), thresholds.max_equalized_odds_difference):
            add("fairness", f"equalized_odds_difference:{attribute}", gap["equalized_odds_difference"],
                thresholds.max_equalized_odds_difference,
                f"true or false positive rates differ widely between {attribute} groups",
                f"review the {attribute} groups in the report's fairness table before acting on flags")
        if _crossed(gap.get("calibration_gap"), thresholds.max_calibration_gap):
            add("fairness", f"calibration_gap:{attribute}", gap["calibration_gap"], thresholds.max_calibration_gap,
                f"group {attribute}={gap['calibration_gap_group']} is miscalibrated "
                f"(observed rate minus predicted: {gap['calibration_gap_signed']:+.3f})",
                f"review group {attribute}={gap['calibration_gap_group']}: the model misjudges it; retrain "
                "with recent outcomes")
    return alerts
