"""Shared fixtures: small generated histories, written once per test session."""

import pytest

from hardtofill.telemetry import switch_off_telemetry

switch_off_telemetry()

SMALL = {"offers": 40_000, "months": 14, "seed": 7}
@pytest.fixture(scope="session")
def small_history_path(tmp_path_factory):
    """A small history: 40,000 offers over 14 months (2023-01 to 2024-02)."""
    from features.generator.simulate import GeneratorConfig
    from features.generator.write import write_history

    path = tmp_path_factory.mktemp("history") / "offers.jsonl.gz"
    write_history(GeneratorConfig(**SMALL), path, progress=False)
    return path


@pytest.fixture(scope="session")
def small_history(small_history_path):
    from features.ingest import read_history

    return read_history(small_history_path, progress=False)


@pytest.fixture(scope="session")
def sample_offers_raw():
    """The 519 real offers of the public API sample (../shared/data), as decoded JSON."""
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "offres_api_v2_sample.json"
    if not path.is_file():
        pytest.fail(f"real API sample not found at {path}: clone the project beside ../shared")
    return json.loads(path.read_text(encoding="utf-8"))


# ---- training: a real MLflow store with a champion (appended by the training area) --------------


class TrainedStore:
    """A temporary MLflow store (SQLite + artifacts) holding one trained model with `champion` and
    `candidate` aliases. To use it, a test sets the variables of `env` (HARDTOFILL_TRACKING_URI,
    HARDTOFILL_ARTIFACT_ROOT, HARDTOFILL_MODEL_NAME) and calls `get_settings.cache_clear()`, then
    `training.champion.load_champion()` finds it; the `trained_store_env` fixture does both with
    monkeypatch, so nothing stays set for other tests. A subprocess (e.g. `bentoml serve`) gets
    `{**os.environ, **store.env}`."""

    def __init__(self, tracking_uri, artifact_root, model_name, champion_version, run_id, audit_log):
        self.tracking_uri = tracking_uri
        self.artifact_root = artifact_root
        self.model_name = model_name
        self.champion_version = champion_version
        self.run_id = run_id
        self.audit_log = audit_log

    @property
    def env(self) -> dict[str, str]:
        return {"HARDTOFILL_TRACKING_URI": self.tracking_uri, "HARDTOFILL_ARTIFACT_ROOT": str(self.artifact_root),
                "HARDTOFILL_MODEL_NAME": self.model_name}

    def __getitem__(self, key):  # also readable as a dict: store["tracking_uri"]
        return getattr(self, key)


@pytest.fixture(scope="session")
def trained_store(tmp_path_factory, small_history_path):
    """Train once per session on the small history (default params.yaml; gates relaxed so that a
    champion always exists) into a temporary MLflow store: see TrainedStore. The training runs with
    the variables set and restores them (and MLflow's global tracking URI) afterwards."""
    from tests.stores import train_champion

    root = tmp_path_factory.mktemp("mlruns")
    env, outcome = train_champion(root, small_history_path)
    store = TrainedStore(tracking_uri=env["HARDTOFILL_TRACKING_URI"], artifact_root=root / "artifacts",
                         model_name=env["HARDTOFILL_MODEL_NAME"], champion_version=None, run_id=None,
                         audit_log=root / "alias_audit.jsonl")
    store.champion_version, store.run_id = outcome.version, outcome.run_id
    return store


@pytest.fixture
def trained_store_env(trained_store, monkeypatch):
    """The trained store's variables set for one test (settings cache cleared before and after;
    MLflow's global tracking URI, which load_champion sets, restored after)."""
    import os

    import mlflow

    from hardtofill.settings import get_settings

    before = os.environ.get("MLFLOW_TRACKING_URI")
    for name, value in trained_store.env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield trained_store
    mlflow.set_tracking_uri(before)
    get_settings.cache_clear()


# ---- a real PostgreSQL server (prediction store, MLflow registry) -------------------------------
@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway PostgreSQL server on 127.0.0.1 and a free port; its URL (psycopg 3)."""
    from tests.postgres import postgres_server

    with postgres_server() as url:
        yield url
