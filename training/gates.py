"""Promotion gates: a new version becomes champion only when every gate passes.

Each failure says which gate and by how much, so that the data team knows what to fix.
"""

import math
from dataclasses import dataclass

from hardtofill.params import FairnessParams, GatesParams


@dataclass(frozen=True)
class GateResult:
    gate: str
    passed: bool
    value: float
    threshold: float
    message: str

    def as_dict(self) -> dict:
        return {"gate": self.gate, "passed": self.passed, "value": self.value,
                "threshold": self.threshold, "message": self.message}


def _at_least(gate: str, value: float, threshold: float, what: str) -> GateResult:
    passed = not math.isnan(value) and value >= threshold
    message = (f"{gate}: {what} {value:.4f} >= {threshold:.4f}" if passed else
               f"{gate}: {what} {value:.4f} is below {threshold:.4f} by {threshold - value:.4f}")
    return GateResult(gate, passed, value, threshold, message)


def _at_most(gate: str, value: float, threshold: float, what: str) -> GateResult:
    passed = not math.isnan(value) and value <= threshold
    message = (f"{gate}: {what} {value:.4f} <= {threshold:.4f}" if passed else
               f"{gate}: {what} {value:.4f} is above {threshold:.4f} by {value - threshold:.4f}")
    return GateResult(gate, passed, value, threshold, message)


def quality_gates(metrics: dict[str, float], params: GatesParams) -> list[GateResult]:
    quality = params.quality
    auc = metrics["test_roc_auc"]
    return [
        _at_least("quality.min_test_roc_auc", auc, quality.min_test_roc_auc, "test ROC AUC"),
        _at_most("quality.max_test_ece", metrics["test_ece"], quality.max_test_ece,
                 "test expected calibration error"),
        _at_least("quality.min_lift_over_rate_baseline", auc - metrics["baseline_rate_test_roc_auc"],
                  quality.min_lift_over_rate_baseline, "test ROC AUC lift over the occupation x region rate"),
        _at_least("quality.min_lift_over_logistic", auc - metrics["logistic_test_roc_auc"],
                  quality.min_lift_over_logistic, "test ROC AUC lift over the logistic regression"),
    ]


def fairness_gates(summary: dict, fairness_params: FairnessParams) -> list[GateResult]:
    """Per audited attribute with at least two groups large enough to judge (training.fairness)."""
    results = []
    for attribute, gaps in summary.items():
        if gaps["groups_judged"] < 2:
            continue
        results.append(_at_most(f"fairness.{attribute}.equalized_odds_difference",
                                gaps["equalized_odds_difference"], fairness_params.max_equalized_odds_difference,
                                f"equalized odds difference across {attribute}"))
        results.append(_at_most(f"fairness.{attribute}.calibration_gap", gaps["calibration_gap"],
                                fairness_params.max_calibration_gap, f"largest calibration gap across {attribute}"))
    return results


def non_regression_gate(new_auc: float, champion_auc: float | None, champion_version: str | None,
                        params: GatesParams) -> list[GateResult]:
    """No worse than the current champion, scored on the same test months, beyond a tolerance."""
    if champion_auc is None:
        return []
    tolerance = params.non_regression.max_auc_drop
    return [_at_least("non_regression.max_auc_drop", new_auc, champion_auc - tolerance,
                      f"test ROC AUC vs champion v{champion_version} ({champion_auc:.4f}, tolerance "
                      f"{tolerance:.4f})")]


def failures(results: list[GateResult]) -> list[GateResult]:
    return [r for r in results if not r.passed]
