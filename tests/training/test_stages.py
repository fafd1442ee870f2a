"""Each training stage alone, on the small history: typed inputs, typed results."""

import numpy as np
import pytest

from features.spec import FEATURE_NAMES
from training import stages

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def params():
    from tests.stores import relaxed_params

    return relaxed_params(training={"num_boost_round": 40, "shap_rows": 300, "reference_rows": 500})


@pytest.fixture(scope="module")
def data(small_history_path, params):
    return stages.load_data(small_history_path, None, params, default_path=small_history_path)


@pytest.fixture(scope="module")
def fitted(data, params):
    return stages.fit(data, params)


@pytest.fixture(scope="module")
def evaluation(data, fitted, params):
    return stages.evaluate(data, fitted, params)


def test_data_is_split_by_time_with_categories_from_the_training_months(data):
    months = [data.split.train, data.split.validation, data.split.test]
    assert months[0][-1] < months[1][0] and months[1][-1] < months[2][0]
    for part in stages.PARTS:
        assert list(data.x[part].columns) == list(FEATURE_NAMES) and len(data.y[part]) == len(data.rows[part])
    trained_codes = set(data.rows["train"]["rome_code"].dropna())
    assert set(data.categories["rome_code"]) == trained_codes
    assert data.context.as_of is not None  # the snapshot serving uses


def test_a_missing_history_stops_training_in_one_line(tmp_path, params):
    with pytest.raises(stages.TrainingError, match="not found"):
        stages.load_data(tmp_path / "none.jsonl.gz", None, params, default_path=tmp_path / "default.jsonl.gz")


def test_fit_keeps_the_chosen_trees_and_sets_bands_for_advisers_capacity(fitted, params):
    assert fitted.booster.num_trees() <= params.training.num_boost_round
    p = fitted.probability["validation"]
    assert 0 <= p.min() and p.max() <= 1
    assert np.mean(p >= fitted.bands["high"]) == pytest.approx(params.risk_bands.high_share, abs=0.05)


def test_evaluate_compares_the_model_with_baselines_and_oracle(evaluation):
    assert list(evaluation.table["model"]) == ["model", "logistic", "baseline_rate", "oracle"]
    m = evaluation.metrics
    assert m["test_auc_gap_to_oracle"] == pytest.approx(m["oracle_test_roc_auc"] - m["test_roc_auc"])
    assert 0.5 < m["test_roc_auc"] <= m["oracle_test_roc_auc"] + 0.02


def test_audit_applies_every_gate_against_a_given_champion(data, fitted, evaluation, params):
    better = stages.ChampionComparison(version="7", roc_auc=0.99)
    strict = params.model_copy(update={"gates": params.gates.model_copy(update={
        "non_regression": params.gates.non_regression.model_copy(update={"max_auc_drop": 0.0})})})
    result = stages.audit(data, fitted, evaluation, strict, better)
    failed = [g for g in result.gates if not g.passed]
    assert [g.gate for g in failed] == ["non_regression.max_auc_drop"] and "v7" in failed[0].message
    assert not result.passed and result.metrics["champion_test_roc_auc"] == 0.99
    assert "fairness_region_equalized_odds_difference" in result.metrics
    other = stages.audit(data, fitted, evaluation, params, stages.ChampionComparison(version="7", incomparable="x"))
    assert [g.gate for g in other.gates if not g.passed] == ["non_regression.comparable"]


def test_explain_gives_every_feature_its_weight(data, fitted, params, tmp_path):
    explanation = stages.explain(data, fitted, params.training, tmp_path / "plots")
    assert set(explanation.importance["feature"]) == set(FEATURE_NAMES)
    assert explanation.contributions.shape == (params.training.shap_rows, len(FEATURE_NAMES) + 1)
    assert (tmp_path / "plots" / "shap_beeswarm.png").stat().st_size > 0
