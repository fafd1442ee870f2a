"""Pure parts of monitoring on small frames whose answers are known by hand."""

import numpy as np
import pandas as pd
import pytest

from monitoring.alerts import evaluate
from monitoring.config import MonitoringParamsError, load_monitoring_params
from monitoring.fairness import fairness
from monitoring.feedback import disagreement
from monitoring.periods import parse_month, periods_between
from monitoring.quality import expected_calibration_error, promised, quality


def test_quality_at_capacity_and_calibration():
    labels = np.array([1, 1, 0, 0, 1, 0, 0, 0, 0, 0], float)
    probabilities = np.array([0.9, 0.8, 0.7, 0.1, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1])
    q = quality(labels, probabilities, capacity_share=0.2)
    assert q["precision_at_capacity"] == 1.0  # the two riskiest offers were both hard to fill
    assert q["recall_at_capacity"] == pytest.approx(2 / 3)
    assert expected_calibration_error(np.ones(4), np.full(4, 0.75)) == pytest.approx(0.25)
    assert np.isnan(quality(np.ones(3), np.full(3, 0.5))["roc_auc"])  # one class: undefined, not a crash


def test_promised_reads_the_model_card_metrics():
    card = {"metrics": {"baseline_rate": {"roc_auc": 0.6}, "model": {"roc_auc": 0.8, "ece": 0.01,
                                                                     "precision_at_20pct": 0.9}}}
    assert promised(card) == {"roc_auc": 0.8, "ece": 0.01, "precision_at_capacity": 0.9}


def _frame(groups, risk, labels, probabilities):
    return pd.DataFrame({f"audit_{a}": groups for a in ("region", "employer_size_band", "sector", "contract_type",
                                                         "accessible_th")},
                        ).assign(risk=risk, label=labels, probability=probabilities)


def test_fairness_rates_and_gaps_by_group():
    # Group a: 2 positives both flagged (TPR 1), 2 negatives none flagged (FPR 0).
    # Group b: 2 positives none flagged (TPR 0), 2 negatives one flagged (FPR 0.5).
    frame = _frame(["a"] * 4 + ["b"] * 4, ["high", "high", "low", "low", "low", "low", "high", "low"],
                   [1, 1, 0, 0, 1, 1, 0, 0], [0.5] * 4 + [0.2] * 4)
    table, gaps = fairness(frame, frame, min_group_size=1)
    region = table[table["attribute"] == "region"].set_index("group")
    assert region.loc["a", "tpr"] == 1.0 and region.loc["b", "tpr"] == 0.0 and region.loc["b", "fpr"] == 0.5
    assert region.loc["b", "calibration_gap"] == pytest.approx(0.5 - 0.2)
    assert gaps["region"]["equalized_odds_difference"] == 1.0
    assert gaps["region"]["calibration_gap_group"] == "b"
    # Groups below the minimum size are shown but not judged.
    _, small = fairness(frame, frame, min_group_size=10)
    assert np.isnan(small["region"]["equalized_odds_difference"])


def test_disagreement_rate_by_band():
    feedback = pd.DataFrame({"action": ["disagreed", "agreed", "disagreed", "prioritised"],
                             "risk": ["high", "high", "low", None]})
    table = disagreement(feedback).set_index("band")
    assert table.loc["high", "rate"] == 0.5 and table.loc["low", "rate"] == 1.0
    assert table.loc["unknown", "feedback"] == 1 and np.isnan(table.loc["medium", "rate"])


def test_alerts_say_what_is_crossed_and_what_to_do():
    summary = {"period": "2024-01",
               "drift": {"judged": True, "share": 0.2, "count": 6, "drifted": ["salary_vs_market"],
                         "probability": 0.01, "high_risk_share": 0.21, "reference_high_risk_share": 0.2},
               "quality": {"judged": True, "roc_auc": 0.70, "ece": 0.02, "observed_rate": 0.6,
                           "mean_probability": 0.6},
               "promised": {"roc_auc": 0.75},
               "fairness": {"sector": {"equalized_odds_difference": 0.1, "calibration_gap": 0.2,
                                       "calibration_gap_group": "F", "calibration_gap_signed": 0.2}}}
    thresholds = load_monitoring_params().alerts
    alerts = {a.name: a for a in evaluate(summary, thresholds)}
    assert set(alerts) == {"drift_share", "auc_drop", "calibration_gap:sector"}
    assert "retrain" in alerts["auc_drop"].action and "sector=F" in alerts["calibration_gap:sector"].action
    summary["drift"]["judged"] = summary["quality"]["judged"] = False
    summary["fairness"] = {}
    assert evaluate(summary, thresholds) == []


def test_unseen_occupations_are_counted_and_alerted():
    from monitoring.analysis import unseen_occupations

    current = pd.DataFrame({"rome_code": ["M1805"] * 80 + ["M1854"] * 15 + ["K1830"] * 5})
    unseen = unseen_occupations(current, {"M1805"})
    assert unseen == {"share": 0.2, "offers": 20, "codes": 2, "top": {"M1854": 15, "K1830": 5}}
    summary = {"period": "2025-03", "unseen_occupations": unseen}
    (alert,) = evaluate(summary, load_monitoring_params().alerts)
    assert alert.name == "unseen_occupations" and "M1854" in alert.message and "ROME" in alert.action
    summary["unseen_occupations"] = unseen_occupations(current, {"M1805", "M1854", "K1830"})
    assert evaluate(summary, load_monitoring_params().alerts) == []


def test_periods_and_months():
    months = periods_between("2023-01-15", "2023-04-01", "month")
    assert [p.label for p in months] == ["2023-01", "2023-02", "2023-03"]
    weeks = periods_between("2024-01-03", "2024-01-22", "week")
    assert [p.label for p in weeks] == ["2024-W01", "2024-W02", "2024-W03"]  # Monday to Monday
    with pytest.raises(ValueError, match="--from"):
        parse_month("janvier")


def test_bad_monitoring_parameters_name_the_key(tmp_path):
    import yaml

    raw = yaml.safe_load(open("params.yaml", encoding="utf-8"))
    raw["monitoring"]["alerts"]["max_ece"] = -1
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(MonitoringParamsError, match=r"monitoring\.alerts\.max_ece"):
        load_monitoring_params(path)
    assert load_monitoring_params().alerts.max_drift_share == 0.05  # the repository's file is valid


@pytest.mark.parametrize("arguments, message", [
    (["--from", "janvier"], "--from"),
    (["--period", "day"], "--period"),
    (["--backfill", "--history", "/nonexistent/offers.jsonl.gz"], "--history"),
])
def test_bad_input_is_a_clear_message_and_exit_2(arguments, message):
    from typer.testing import CliRunner

    from hardtofill.cli import app

    result = CliRunner().invoke(app, ["monitor", "--no-progress", *arguments])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
