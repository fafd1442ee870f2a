"""The backfill proves drift is caught: on histories drifting from month K, alerts fire from K
(within one period) and not before; on a history without drift, no drift alert fires. Real
training (temporary MLflow store), real Evidently reports and workspace, production thresholds
(params.yaml), the command as a user runs it."""

import json

import pytest

from tests.monitoring.conftest import BACKFILL_FROM as FROM
from tests.monitoring.conftest import DRIFT_MONTH

K_AND_NEXT = ("2023-09", "2023-10")


def summary_of(directory):
    return json.loads((directory / "reports" / "backfill" / "summary.json").read_text("utf-8"))


def alerting_periods(summary, kind=None):
    return sorted({a["period"] for a in summary["alerts"] if kind is None or a["kind"] == kind})


@pytest.mark.parametrize("scenario", ["tension_shock", "salary_shift"])
def test_alerts_fire_from_the_drift_month_and_not_before(scenario, backfilled):
    result, directory = backfilled(scenario)
    assert result.exit_code == 3, result.output
    summary = summary_of(directory)
    periods = [p["period"] for p in summary["periods"]]
    assert periods[0] == FROM and DRIFT_MONTH in periods
    firing = alerting_periods(summary)
    before = [p for p in firing if p < DRIFT_MONTH]
    assert not before, f"alerts before the drift month: {[a for a in summary['alerts'] if a['period'] < DRIFT_MONTH]}"
    assert firing and firing[0] in K_AND_NEXT, f"first alert {firing[:1]}, expected in {K_AND_NEXT}"
    # Once the drift is there it stays caught in every later period whose outcomes have matured
    # (the last month's outcomes lie beyond the history: a tension shock changes outcomes more than
    # inputs, so without them only the weaker drift of the inputs and probabilities can show it).
    judged = [p["period"] for p in summary["periods"] if p["quality"]["judged"]]
    assert K_AND_NEXT[1] in judged and all(p in firing for p in judged if p >= K_AND_NEXT[1]), (firing, judged)
    # Each period has its self-contained HTML report and its workspace snapshot.
    for period in summary["periods"]:
        html = (directory / "reports" / "backfill" / f"report_{period['period']}.html")
        assert html.stat().st_size > 10_000 and period["snapshot_id"]
    # The console says what to do.
    assert "what to do" in result.output and ("retrain" in result.output or "review" in result.output)


def test_salary_shift_is_caught_as_data_drift_on_salary_features(backfilled):
    summary = summary_of(backfilled("salary_shift").directory)
    first = next(p for p in summary["periods"] if p["period"] == DRIFT_MONTH)
    assert {"salary_yearly_low", "salary_yearly_high"} <= set(first["drift"]["drifted"])
    assert "drift_share" in {a["name"] for a in first["alerts"]}


def test_tension_shock_is_caught_on_the_shocked_sector(backfilled):
    summary = summary_of(backfilled("tension_shock").directory)
    caught = [a for a in summary["alerts"] if a["period"] in K_AND_NEXT]
    # Construction (domain F) got harder while the model kept its old view of it.
    assert any(a["name"] == "calibration_gap:sector" and "sector=F" in a["message"] for a in caught), caught


def test_rome4_codes_are_reported_as_occupations_the_model_never_saw(backfilled):
    directory = backfilled("rome4").directory
    summary = summary_of(directory)
    by_period = {p["period"]: p for p in summary["periods"]}
    assert by_period["2023-08"]["unseen_occupations"]["share"] < 0.05
    first = by_period[DRIFT_MONTH]
    assert first["unseen_occupations"]["share"] >= 0.15 and first["unseen_occupations"]["codes"] >= 20
    unseen = [a for a in summary["alerts"] if a["name"] == "unseen_occupations"]
    assert sorted({a["period"] for a in unseen})[0] == DRIFT_MONTH
    assert all(a["period"] >= DRIFT_MONTH for a in unseen)
    report = (directory / "reports" / "backfill" / f"report_{DRIFT_MONTH}.html").read_text("utf-8")
    assert "never saw" in report


def test_no_drift_no_drift_alert(backfilled):
    result, directory = backfilled("none")
    summary = summary_of(directory)
    assert alerting_periods(summary, "drift") == [], summary["alerts"]
    assert summary["alerts"] == [] and result.exit_code == 0, result.output
    assert "No alert" in result.output
