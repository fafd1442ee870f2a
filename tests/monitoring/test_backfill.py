"""The backfill proves drift is caught: on histories drifting from month K, alerts fire from K
(within one period) and not before; on a history without drift, no drift alert fires. Real
training (temporary MLflow store), real Evidently reports and workspace, production thresholds
(params.yaml), the command as a user runs it."""

import json

import numpy as np
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


def test_offers_before_the_champions_date_are_seen_as_training_saw_them(drift_histories, monitoring_env):
    """The champion's snapshot knows everything until its date: an earlier offer's later
    offers and its own 30-day outcome (the employer's history counts both). The backfill sees
    such offers as training did, each as of its publication; later ones with the snapshot."""
    from dataclasses import asdict

    from features.build import history_features
    from features.ingest import read_history, utc
    from features.labels import label_offers
    from monitoring.periods import periods_between
    from monitoring.sources import backfill
    from serving.scoring import ScoringCore
    from training.champion import load_champion
    from training.data import TRAINING_COLUMNS

    champion = load_champion(alias="champion")
    as_of = champion.context.as_of
    history = read_history(drift_histories["none"], progress=False, columns=TRAINING_COLUMNS)
    august, september = periods_between(utc("2023-08-01"), history.extracted_at, "month")[:2]
    assert august.end == as_of == september.start
    replayed = {data.period.label: data.current.set_index("offer_id") for data in
                backfill(history, champion, [august, september])}
    known = history.as_of(as_of)
    training, _ = history_features(known.offers, label_offers(known.lifecycle), asdict(champion.context.params))
    training.index = known.offers["offer_id"].to_numpy()
    employer = ["ctx_employer_offers", "ctx_employer_matured", "ctx_employer_hard_rate"]
    before = replayed[august.label]
    np.testing.assert_allclose(before[employer].to_numpy(), training.loc[before.index, employer].to_numpy())
    # The snapshot would have counted each August offer among its employer's offers.
    frozen = ScoringCore(champion).score_frame(history.between(august.start, august.end).offers)
    assert (frozen["ctx_employer_offers"].to_numpy() > before["ctx_employer_offers"].to_numpy()).mean() > 0.5
    after = replayed[september.label]
    served = ScoringCore(champion).score_frame(history.between(september.start, september.end).offers)
    np.testing.assert_allclose(after[employer].to_numpy(), served[employer].to_numpy())
    np.testing.assert_allclose(after["probability"].to_numpy(), served["probability"].to_numpy())
