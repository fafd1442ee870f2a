"""Monitoring fixtures: histories with and without drift from month K, and a champion trained
only on what was known at the start of month K (the same for every scenario: before K the
generator draws the same offers and outcomes whatever the drift)."""

import pytest

OFFERS, MONTHS, SEED = 36_000, 12, 3
DRIFT_FROM = 8  # month index K: 2023-09
DRIFT_MONTH = "2023-09"


def _write(directory, name, drift=None):
    from features.generator.simulate import GeneratorConfig
    from features.generator.write import write_history

    path = directory / f"{name}.jsonl.gz"
    write_history(GeneratorConfig(offers=OFFERS, months=MONTHS, seed=SEED, drift=drift,
                                  drift_from=DRIFT_FROM if drift else None), path, progress=False)
    return path


@pytest.fixture(scope="session")
def drift_histories(tmp_path_factory):
    directory = tmp_path_factory.mktemp("monitoring_histories")
    return {name: _write(directory, name, drift) for name, drift in
            (("none", None), ("tension_shock", "tension_shock"), ("salary_shift", "salary_shift"))}


@pytest.fixture(scope="session")
def champion_before_drift(tmp_path_factory, drift_histories):
    """A champion trained on the no-drift history until the start of month K, in a temporary
    MLflow store; yields the store's variables (gates relaxed so that it is promoted)."""
    import os

    import mlflow

    from hardtofill.params import load_params
    from hardtofill.settings import get_settings
    from training.pipeline import train

    root = tmp_path_factory.mktemp("monitoring_mlruns")
    env = {"HARDTOFILL_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
           "HARDTOFILL_ARTIFACT_ROOT": str(root / "artifacts"), "HARDTOFILL_MODEL_NAME": "hardtofill"}
    saved = {name: os.environ.get(name) for name in (*env, "MLFLOW_TRACKING_URI")}
    params = load_params()
    params["gates"] = {"quality": {"min_test_roc_auc": 0.0, "max_test_ece": 1.0, "min_lift_over_best_baseline": -1.0},
                       "non_regression": {"max_auc_drop": 1.0}, "fairness": False}
    try:
        os.environ.update(env)
        get_settings.cache_clear()
        outcome = train(drift_histories["none"], until=f"{DRIFT_MONTH}-01", params=params, progress=False)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        mlflow.set_tracking_uri(saved["MLFLOW_TRACKING_URI"])
        get_settings.cache_clear()
    assert outcome.promoted, [g.message for g in outcome.failed_gates]
    return env


@pytest.fixture
def monitoring_env(champion_before_drift, tmp_path, monkeypatch):
    """The champion's store, and reports and workspace in a temporary directory, for one test."""
    from hardtofill.settings import get_settings

    for name, value in champion_before_drift.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HARDTOFILL_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("HARDTOFILL_WORKSPACE_DIR", str(tmp_path / "workspace"))
    monkeypatch.setenv("HARDTOFILL_STORE_URL", f"sqlite:///{tmp_path / 'predictions.db'}")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()
