"""Each rule is defined once and used from there: the horizon, the audited attributes, the risk
bands and the fairness table. These tests fail if a second definition creeps back in."""

import numpy as np
import pandas as pd
import pytest


def test_one_risk_band_rule_for_training_serving_and_monitoring():
    import monitoring.analysis
    import monitoring.feedback
    import training.champion
    from training.risk_bands import RISK_BANDS, band_thresholds, risk_band

    assert monitoring.analysis.risk_band is risk_band and training.champion.risk_band is risk_band
    assert monitoring.feedback.BANDS is RISK_BANDS == ("low", "medium", "high")
    bands = band_thresholds(np.linspace(0, 1, 10_001), high_share=0.2, medium_share=0.3)
    assert bands["high"] == pytest.approx(0.8) and bands["medium"] == pytest.approx(0.5)
    # at a threshold the higher band: advisers' capacity counts offers at or above it
    assert risk_band([0.49, bands["medium"], 0.79, bands["high"], 1.0], bands).tolist() == \
        ["low", "medium", "medium", "high", "high"]


def test_one_fairness_table_for_training_monitoring_and_the_card():
    import monitoring.fairness
    from features.spec import AUDIT_COLUMNS
    from training.fairness import GAP_NAMES, TABLE_COLUMNS, fairness

    assert monitoring.fairness.fairness is fairness and monitoring.fairness.ATTRIBUTES is AUDIT_COLUMNS
    rng = np.random.default_rng(0)
    n = 2000
    frame = pd.DataFrame({f"audit_{a}": rng.choice(["x", "y"], n) for a in AUDIT_COLUMNS})
    frame["probability"] = rng.random(n)
    frame["label"] = (rng.random(n) < frame["probability"]).astype(int)
    frame["risk"] = np.where(frame["probability"] > 0.8, "high", "low")
    table, gaps = fairness(frame, frame, min_group_size=100)
    assert tuple(table.columns) == TABLE_COLUMNS
    assert tuple(table["attribute"].unique()) == AUDIT_COLUMNS and set(gaps) == set(AUDIT_COLUMNS)
    assert all(tuple(g) == GAP_NAMES for g in gaps.values())


def test_one_horizon_for_labels_and_monitoring():
    from features.labels import HORIZON, HORIZON_DAYS, matured
    from monitoring.sources import with_labels

    assert HORIZON == pd.Timedelta(days=HORIZON_DAYS) == pd.Timedelta(days=30)
    known_at = pd.Timestamp("2024-03-31", tz="UTC")
    created = pd.to_datetime([known_at - HORIZON, known_at - HORIZON + pd.Timedelta(hours=1)], utc=True)
    lifecycle = pd.DataFrame({"offer_id": ["old", "young"], "created_at": created, "outcome": ["open", "open"],
                              "outcome_at": pd.to_datetime([None, None], utc=True)})
    current = pd.DataFrame({"offer_id": ["old", "young"], "probability": [0.5, 0.5]})
    # monitoring matures an outcome exactly when training does
    assert with_labels(current, lifecycle, known_at)["offer_id"].tolist() == ["old"]
    labelled = lifecycle.assign(label=1.0)
    assert matured(labelled, known_at).tolist() == [True, False]
