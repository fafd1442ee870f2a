"""Monitoring fixtures: histories with and without drift from month K, and a champion trained
only on what was known at the start of month K (the same for every scenario: before K the
generator draws the same offers and outcomes whatever the drift)."""

import pytest

# 50,000 offers: about 240 construction offers a month once the shock starts, enough for monitoring to
# judge the sector (monitoring.min_group_size: 200) within the month, as production would.
OFFERS, MONTHS, SEED = 50_000, 12, 3
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
            (("none", None), ("tension_shock", "tension_shock"), ("salary_shift", "salary_shift"),
             ("rome4", "rome4"))}


@pytest.fixture(scope="session")
def champion_before_drift(tmp_path_factory, drift_histories):
    """A champion trained on the no-drift history until the start of month K, in a temporary
    MLflow store; yields the store's variables (gates relaxed so that it is promoted)."""
    from tests.stores import train_champion

    env, _ = train_champion(tmp_path_factory.mktemp("monitoring_mlruns"), drift_histories["none"],
                            until=f"{DRIFT_MONTH}-01")
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
