"""What monitoring reads of Evidently, on frames whose answers are known: if an Evidently upgrade
changes the metrics, the snapshot's export, the tests or the custom metric, this fails loudly
(rather than the alerts going quiet). Real Evidently reports, no mocks."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance

from monitoring.config import load_monitoring_params

N = 1000


def _frames():
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"salary_yearly_low": rng.normal(30_000, 3_000, N),
                              "weekly_hours": rng.normal(35, 2, N),
                              "contract_type": np.where(np.arange(N) % 2, "CDI", "CDD")})
    current = reference.copy()
    current["salary_yearly_low"] = reference["salary_yearly_low"] * 1.12  # a 12 % salary shift
    current["contract_type"] = np.where(np.arange(N) % 4 == 0, "CDD", "CDI")  # 25 % CDD instead of 50 %
    for frame in (reference, current):  # the model's view unchanged
        frame["probability"] = np.clip(rng.normal(0.4, 0.1, N), 0, 1)
    return reference, current


def test_value_drift_scores_are_read_from_the_snapshot_as_scipy_computes_them():
    from evidently import DataDefinition, Dataset, Report

    from monitoring.analysis import drift_metrics, drift_summary, read_value_drift

    params = load_monitoring_params()
    reference, current = _frames()
    numeric, categorical = ["salary_yearly_low", "weekly_hours"], ["contract_type"]
    definition = DataDefinition(numerical_columns=numeric + ["probability"], categorical_columns=categorical)
    snapshot = Report(drift_metrics(params, numeric, categorical)).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition))
    values = read_value_drift(snapshot)
    assert set(values) == {*numeric, *categorical, "probability"}

    def wasserstein(column):
        return stats.wasserstein_distance(reference[column], current[column]) / np.std(reference[column])

    assert values["salary_yearly_low"]["score"] == pytest.approx(wasserstein("salary_yearly_low"), rel=1e-9)
    assert values["weekly_hours"]["score"] == pytest.approx(0.0, abs=1e-12)
    assert values["probability"]["score"] == pytest.approx(wasserstein("probability"), rel=1e-9)
    assert values["contract_type"]["score"] == pytest.approx(distance.jensenshannon([0.5, 0.5], [0.25, 0.75]),
                                                             rel=1e-6)
    assert values["salary_yearly_low"]["threshold"] == params.drift.numeric_threshold
    assert values["contract_type"]["method"] == params.drift.categorical_method
    drift = drift_summary(values, numeric + categorical)
    assert drift["drifted"] == ["salary_yearly_low"] and drift["share"] == pytest.approx(1 / 3)
    # The thresholds travel as Evidently tests: the drifted feature's test failed, the others passed.
    statuses = {t["metric_config"]["params"]["column"]: str(t["status"]) for t in snapshot.dict()["tests"]}
    assert statuses["salary_yearly_low"].upper().endswith("FAIL")
    assert all(s.upper().endswith("SUCCESS") for c, s in statuses.items() if c != "salary_yearly_low")


def test_a_snapshot_without_value_drift_is_refused_loudly():
    from monitoring.analysis import drift_summary

    with pytest.raises(RuntimeError, match="has Evidently changed"):
        drift_summary({}, ["salary_yearly_low"])


def _period_frame(frame: pd.DataFrame, rng) -> pd.DataFrame:
    from features.spec import AUDIT_COLUMNS

    out = frame.copy()
    for attribute in AUDIT_COLUMNS:
        out[f"audit_{attribute}"] = rng.choice(["x", "y"], len(out))
    out["label"] = (rng.random(len(out)) < out["probability"]).astype(float)
    out["risk"] = np.where(out["probability"] >= 0.5, "high", np.where(out["probability"] >= 0.4, "medium", "low"))
    out["offer_id"] = [f"o{i}" for i in range(len(out))]
    return out


def test_alerts_computed_in_python_are_the_failed_evidently_tests(tmp_path):
    from monitoring.analysis import ModelInfo, PeriodData, analyse_period
    from monitoring.evidently_values import METRIC_TYPE
    from monitoring.periods import Period

    params = load_monitoring_params()
    rng = np.random.default_rng(1)
    reference, current = (_period_frame(f, rng) for f in _frames())
    model = ModelInfo(name="contract", version="1", reference=reference, risk_bands={"medium": 0.4, "high": 0.5},
                      promised={"roc_auc": 0.9, "ece": 0.01})
    period = Period(start=pd.Timestamp("2024-01-01", tz="UTC"), end=pd.Timestamp("2024-02-01", tz="UTC"),
                    kind="month")
    result = analyse_period(PeriodData(period=period, current=current, matured=current), model, params)
    names = {a.name for a in result.alerts}
    # a salary shift, a model card promising more than this model gives: both caught
    assert {"drift_share", "auc_drop"} <= names
    assert set(result.summary["evidently_failed_tests"]) == names
    # the custom metric is filed under the type the workspace dashboard's panels ask for
    types = {m["config"]["type"] for m in result.snapshot.dict()["metrics"]}
    assert types == {METRIC_TYPE}
    assert result.summary["drift"]["drifted"] == ["salary_yearly_low"]
    # both snapshots render as self-contained HTML
    for snapshot, name in ((result.snapshot, "report.html"), (result.drift_snapshot, "drift.html")):
        snapshot.save_html(str(tmp_path / name))
        assert (tmp_path / name).stat().st_size > 10_000
