"""Training a champion into a temporary MLflow store, for fixtures of several test areas."""

import os
from pathlib import Path

STORE_ENV = ("HARDTOFILL_TRACKING_URI", "HARDTOFILL_ARTIFACT_ROOT", "HARDTOFILL_MODEL_NAME")
# Gates relaxed so that a champion always exists: tests of serving and monitoring need one,
# whatever the quality a small history allows; the gates themselves are tested in tests/training.
# Every gate is written out: params.yaml has no default gate.
RELAXED_GATES = {"quality": {"min_test_roc_auc": 0.0, "max_test_ece": 1.0, "min_lift_over_rate_baseline": -1.0,
                             "min_lift_over_logistic": -1.0},
                 "non_regression": {"max_auc_drop": 1.0}, "fairness": False}


def relaxed_params(training: dict | None = None, **gates):
    """The repository's params.yaml (checked) with relaxed gates, some `gates` overridden (a
    section's keys merged over the relaxed ones) and some `training` keys changed."""
    from hardtofill.params import load_params, parse_params

    raw = load_params().model_dump(mode="json")
    raw["training"].update(training or {})
    raw["gates"] = {name: ({**value, **gates[name]} if isinstance(value, dict) and name in gates else
                           gates.get(name, value)) for name, value in RELAXED_GATES.items()}
    return parse_params(raw, "params.yaml (tests: relaxed gates)")


def store_env(root: Path, tracking_uri: str | None = None) -> dict[str, str]:
    return {"HARDTOFILL_TRACKING_URI": tracking_uri or f"sqlite:///{root / 'mlflow.db'}",
            "HARDTOFILL_ARTIFACT_ROOT": str(root / "artifacts"), "HARDTOFILL_MODEL_NAME": "hardtofill"}


def train_champion(root: Path, history_path: Path, until: str | None = None, tracking_uri: str | None = None):
    """Train on `history_path` (as known at `until`) into a store under `root` (artifacts; the
    tracking store too unless `tracking_uri` names another, e.g. PostgreSQL) with the default
    params.yaml but relaxed gates; returns (store variables, TrainingOutcome). The variables and
    MLflow's global tracking URI are restored afterwards, so nothing leaks into other tests."""
    import mlflow

    from hardtofill.settings import get_settings
    from training.pipeline import train

    env = store_env(root, tracking_uri)
    saved = {name: os.environ.get(name) for name in (*env, "MLFLOW_TRACKING_URI")}
    params = relaxed_params()
    try:
        os.environ.update(env)
        get_settings.cache_clear()
        outcome = train(history_path, until=until, params=params, progress=False)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        mlflow.set_tracking_uri(saved["MLFLOW_TRACKING_URI"])
        get_settings.cache_clear()
    assert outcome.promoted, [g.message for g in outcome.failed_gates]
    return env, outcome
