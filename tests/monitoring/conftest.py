"""Monitoring fixtures: histories with and without drift from month K, and a champion trained
only on what was known at the start of month K (the same for every scenario: before K the
generator draws the same offers and outcomes whatever the drift)."""

from pathlib import Path
from typing import NamedTuple

import pytest
from typer.testing import CliRunner

# 50,000 offers: about 240 construction offers a month once the shock starts, enough for monitoring to
# judge the sector (monitoring.min_group_size: 200) within the month, as production would.
OFFERS, MONTHS, SEED = 50_000, 12, 3
DRIFT_FROM = 8  # month index K: 2023-09
DRIFT_MONTH = "2023-09"
BACKFILL_FROM = "2023-07"  # two months before K, after the champion's training data


def _write(directory, name, drift=None):
    from features.generator.simulate import GeneratorConfig
    from features.generator.write import write_history

    path = directory / f"{name}.jsonl.gz"
    write_history(GeneratorConfig(offers=OFFERS, months=MONTHS, seed=SEED, drift=drift,
                                  drift_from=DRIFT_FROM if drift else None), path, progress=False)
    return path


class DriftHistories(dict):
    """The histories by scenario, each written when first asked for: a test module that reads only
    the history without drift (on its own pytest-xdist worker) does not wait for the other three."""

    def __init__(self, directory):
        super().__init__()
        self.directory = directory

    def __missing__(self, name):
        drift = None if name == "none" else name
        if name not in ("none", "tension_shock", "salary_shift", "rome4"):
            raise KeyError(name)
        self[name] = path = _write(self.directory, name, drift)
        return path


@pytest.fixture(scope="session")
def drift_histories(tmp_path_factory):
    return DriftHistories(tmp_path_factory.mktemp("monitoring_histories"))


@pytest.fixture(scope="session")
def champion_before_drift(tmp_path_factory, drift_histories):
    """A champion trained on the no-drift history until the start of month K, in a temporary
    MLflow store; yields the store's variables (gates relaxed so that it is promoted)."""
    from tests.stores import train_champion

    env, _ = train_champion(tmp_path_factory.mktemp("monitoring_mlruns"), drift_histories["none"],
                            until=f"{DRIFT_MONTH}-01")
    return env


def _monitoring_variables(champion_env: dict, directory) -> dict:
    """The champion's store, and reports, workspace and prediction store under `directory`."""
    return {**champion_env,
            "HARDTOFILL_REPORTS_DIR": str(directory / "reports"),
            "HARDTOFILL_WORKSPACE_DIR": str(directory / "workspace"),
            "HARDTOFILL_STORE_URL": f"sqlite:///{directory / 'predictions.db'}"}


@pytest.fixture
def monitoring_env(champion_before_drift, tmp_path, monkeypatch):
    """The champion's store, and reports and workspace in a temporary directory, for one test."""
    from hardtofill.settings import get_settings

    for name, value in _monitoring_variables(champion_before_drift, tmp_path).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


class Backfill(NamedTuple):
    result: object  # typer's Result: exit code and console output
    directory: Path  # holds reports/ and workspace/


@pytest.fixture(scope="session")
def backfilled(drift_histories, champion_before_drift, tmp_path_factory):
    """`backfilled(scenario)` runs the monitoring backfill of that scenario's history once, as a
    user runs it, and gives every test that reads it the same run (a backfill of several months of
    real Evidently reports is the slowest thing the suite does)."""
    from hardtofill.cli import app
    from hardtofill.settings import get_settings

    runs: dict[str, Backfill] = {}

    def run(scenario: str) -> Backfill:
        if scenario not in runs:
            directory = tmp_path_factory.mktemp(f"backfill_{scenario}")
            with pytest.MonkeyPatch.context() as patch:
                for name, value in _monitoring_variables(champion_before_drift, directory).items():
                    patch.setenv(name, value)
                get_settings.cache_clear()
                try:
                    result = CliRunner().invoke(app, ["monitor", "--backfill", "--history",
                                                      str(drift_histories[scenario]), "--from", BACKFILL_FROM,
                                                      "--no-progress"])
                finally:
                    get_settings.cache_clear()
            runs[scenario] = Backfill(result, directory)
        return runs[scenario]

    return run
