"""Pure pieces of training on known cases: split, calibration, metrics, baselines, bands, fairness."""

import numpy as np
import pandas as pd
import pytest

from training.calibration import Calibrator, choose_calibrator
from training.metrics import classification_metrics, expected_calibration_error, top_share_mask
from training.split import SplitError, month_of, time_split


def _training(**changes):
    """The repository's `training` section with some keys changed (validated again)."""
    from hardtofill.params import TrainingParams, get_params

    return TrainingParams.model_validate({**get_params().training.model_dump(), **changes})


def _monthly_frame(months: int, per_month: int = 50, unmatured_last: int = 1) -> pd.DataFrame:
    created = pd.date_range("2023-01-01", periods=months, freq="MS", tz="UTC").repeat(per_month)
    matured = np.ones(len(created), bool)
    matured[len(created) - unmatured_last * per_month:] = False
    return pd.DataFrame({"created_at": created, "matured": matured})


def test_time_split_is_ordered_disjoint_and_leaves_out_warmup_and_young_months():
    frame = _monthly_frame(14)
    split = time_split(frame, _training(warmup_months=2, validation_months=2, test_months=2))
    assert split.warmup == ["2023-01", "2023-02"]
    assert split.test == ["2023-12", "2024-01"]  # 2024-02 has no matured labels
    parts = [split.warmup, split.train, split.validation, split.test]
    flat = [m for part in parts for m in part]
    assert flat == sorted(flat) and len(flat) == len(set(flat)) == 13
    masks = split.masks(frame)
    assert not (masks["train"] & masks["validation"]).any() and not (masks["validation"] & masks["test"]).any()
    months = month_of(frame["created_at"])
    assert months[masks["train"]].max() < months[masks["validation"]].min()
    assert months[masks["validation"]].max() < months[masks["test"]].min()
    assert not months[masks["train"]].isin(split.warmup).any()


def test_time_split_refuses_a_history_too_short_and_says_why():
    with pytest.raises(SplitError, match="needs at least 7"):
        time_split(_monthly_frame(6), _training(warmup_months=2, validation_months=2, test_months=2))


def test_sigmoid_calibration_recovers_a_known_logistic_link():
    rng = np.random.default_rng(0)
    raw = rng.normal(0, 2, 50_000)
    labels = rng.random(raw.size) < 1 / (1 + np.exp(-(0.5 * raw - 0.3)))
    calibrator = Calibrator.fit(raw, labels, "sigmoid")
    assert calibrator.slope == pytest.approx(0.5, abs=0.03) and calibrator.intercept == pytest.approx(-0.3, abs=0.05)
    again = Calibrator.from_dict(calibrator.to_dict())
    np.testing.assert_allclose(again.transform([0.0, 1.0]), calibrator.transform([0.0, 1.0]))


def test_isotonic_calibration_is_monotone_and_bounded_and_chosen_when_the_link_is_a_step():
    rng = np.random.default_rng(1)
    raw = rng.uniform(-3, 3, 20_000)
    labels = rng.random(raw.size) < np.where(raw > 0, 0.8, 0.2)  # a step: no sigmoid fits it
    calibrator, scores = choose_calibrator(raw, labels, ["isotonic", "sigmoid"])
    assert calibrator.method == "isotonic" and scores["isotonic"] < scores["sigmoid"]
    p = calibrator.transform(np.linspace(-5, 5, 101))
    assert (np.diff(p) >= 0).all() and p.min() >= 0 and p.max() <= 1
    assert calibrator.transform([-2.0])[0] == pytest.approx(0.2, abs=0.03)
    assert calibrator.transform([2.0])[0] == pytest.approx(0.8, abs=0.03)


def test_expected_calibration_error_on_known_cases():
    labels = np.array([0, 1] * 500)
    assert expected_calibration_error(labels, np.full(1000, 0.5)) == pytest.approx(0.0)
    assert expected_calibration_error(labels, np.full(1000, 0.8)) == pytest.approx(0.3)


def test_precision_and_recall_of_the_riskiest_fifth():
    p = np.linspace(0, 1, 100)
    labels = (p >= 0.9).astype(int)  # the 10 riskiest are the positives
    assert top_share_mask(p, 0.2).sum() == 20
    metrics = classification_metrics(labels, p, top_share=0.2)
    assert metrics["precision_at_20pct"] == pytest.approx(0.5) and metrics["recall_at_20pct"] == pytest.approx(1.0)
    assert metrics["roc_auc"] == pytest.approx(1.0)


def test_rate_baseline_is_the_smoothed_occupation_by_region_rate_of_training():
    from training.baselines import rate_baseline

    train = pd.DataFrame({"rome_code": ["A"] * 10 + ["B"] * 10,
                          "region": ["north"] * 5 + ["south"] * 5 + ["north"] * 10,
                          "label": [1.0] * 5 + [0.0] * 5 + [1.0] * 10})
    predict = rate_baseline(train, smoothing=0.0)
    test = pd.DataFrame({"rome_code": ["A", "A", "B", "C"], "region": ["north", "south", "south", "north"]})
    # With no smoothing: the cell's own rate; an unseen cell falls back to the occupation, then France.
    assert predict(test[:2]).tolist() == [1.0, 0.0]
    smoothed = rate_baseline(train, smoothing=10.0)(test)
    assert smoothed[2] == pytest.approx((10 + 10 * 0.75) / 20)  # B unseen in the south: B's smoothed rate
    assert smoothed[3] == pytest.approx(0.75)  # C unseen: national rate 15/20


def test_risk_bands_follow_advisers_capacity():
    from training.risk_bands import band_thresholds

    p = np.linspace(0, 1, 10_001)
    bands = band_thresholds(p, high_share=0.2, medium_share=0.3)
    assert bands["high"] == pytest.approx(0.8) and bands["medium"] == pytest.approx(0.5)


def test_fairness_table_reports_small_groups_and_leaves_them_out_of_the_gaps():
    from training.fairness import fairness

    rng = np.random.default_rng(2)
    n = 3000
    frame = pd.DataFrame({"audit_region": np.where(np.arange(n) < 50, "tiny", np.where(np.arange(n) % 2, "a", "b")),
                          "label": rng.integers(0, 2, n)})
    frame["probability"] = np.where(frame["audit_region"] == "tiny", 0.99, 0.5)
    frame["risk"] = np.where(frame["probability"] > 0.9, "high", "low")
    table, summary = fairness(frame, frame, min_group_size=200, attributes=("region",))
    tiny = table.set_index("group").loc["tiny"]
    assert tiny["small"] and tiny["offers"] == tiny["matured"] == 50 and tiny["share_flagged"] == 1.0
    # the tiny group's extreme rates would dominate; it is left out, and a and b are alike
    assert summary["region"]["groups_judged"] == 2
    assert summary["region"]["equalized_odds_difference"] == pytest.approx(0.0)


def test_lightgbm_fit_is_deterministic_and_honours_the_salary_constraint():
    from training.model import fit_lightgbm, lightgbm_params

    rng = np.random.default_rng(3)
    n = 4000
    from features.spec import CATEGORICAL, FEATURE_NAMES

    frame = pd.DataFrame({name: rng.normal(size=n) for name in FEATURE_NAMES})
    for name in CATEGORICAL:
        frame[name] = pd.Categorical(rng.choice(["x", "y", "z"], n), categories=["x", "y", "z"])
    # the label rises with salary here: the constraint must still forbid a rising risk
    y = (rng.random(n) < 1 / (1 + np.exp(-frame["salary_yearly_low"].to_numpy()))).astype(int)
    from hardtofill.params import get_params

    params = _training(lightgbm={**get_params().training.lightgbm.model_dump(), "num_leaves": 7,
                                 "min_data_in_leaf": 20, "min_data_per_group": 20},
                       monotone={"salary_yearly_low": -1}, feature_penalty={}, num_boost_round=30, num_threads=2)
    assert lightgbm_params(params)["deterministic"] is True
    one = fit_lightgbm(frame[:3000], y[:3000], frame[3000:], y[3000:], params)
    two = fit_lightgbm(frame[:3000], y[:3000], frame[3000:], y[3000:], params)
    np.testing.assert_array_equal(one.predict(frame), two.predict(frame))
    grid = pd.concat([frame[:1]] * 50, ignore_index=True)
    grid["salary_yearly_low"] = np.linspace(-3, 3, 50)
    assert (np.diff(one.predict(grid)) <= 1e-12).all()


def test_unknown_feature_in_constraints_is_named():
    with pytest.raises(ValueError, match=r"monotone[\s\S]*salaire"):
        _training(monotone={"salaire": -1})


def test_rollback_goes_back_through_the_champions_not_back_and_forth():
    from training.registry import previous_champion

    def move(frm, to, action="promote"):
        return {"model": "m", "alias": "champion", "from": frm, "to": to, "action": action}

    audit = [move(None, "1", "train"), move("1", "2", "train"), move("2", "3")]
    assert previous_champion(audit, "m", "3") == "2"
    audit.append(move("3", "2", "rollback"))
    assert previous_champion(audit, "m", "2") == "1"
    audit.append(move("2", "1", "rollback"))
    assert previous_champion(audit, "m", "1") is None
    assert previous_champion([], "m", "1") is None


def test_until_replays_the_history_as_known_then(small_history_path):
    from training.data import load_history

    history = load_history(small_history_path, until="2023-09-01", progress=False)
    assert history.extracted_at == pd.Timestamp("2023-09-01", tz="UTC")
    assert history.offers["created_at"].max() < pd.Timestamp("2023-09-01", tz="UTC")
    assert (history.lifecycle["outcome_at"].dropna() < pd.Timestamp("2023-09-01", tz="UTC")).all()
