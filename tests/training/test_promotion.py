"""Gated promotion, hand promotion and rollback through the CLI, on a store of this module's own
(the shared trained_store is left alone): a real SQLite MLflow registry in a temporary folder."""

import json

import pytest
import yaml
from typer.testing import CliRunner

pytestmark = pytest.mark.integration


def _quick_params(**gates):
    from tests.stores import relaxed_params

    return relaxed_params(training={"num_boost_round": 40, "shap_rows": 300, "reference_rows": 500}, **gates)


@pytest.fixture(scope="module")
def store(tmp_path_factory, small_history_path):
    """A store with version 1 as champion, trained through the same pipeline."""
    root = tmp_path_factory.mktemp("promotion")
    env = {"HARDTOFILL_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
           "HARDTOFILL_ARTIFACT_ROOT": str(root / "artifacts"), "HARDTOFILL_ACTOR": "test-data-team"}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        patch.setenv("MLFLOW_TRACKING_URI", env["HARDTOFILL_TRACKING_URI"])
        from hardtofill.settings import get_settings
        from training.pipeline import train

        get_settings.cache_clear()
        outcome = train(small_history_path, params=_quick_params(), progress=False)
        get_settings.cache_clear()
    assert outcome.promoted and outcome.version == "1"
    return {"root": root, "env": env, "history": small_history_path}


@pytest.fixture
def cli(store, monkeypatch):
    """Run `hardtofill ...` in process against the module's store."""
    import mlflow

    from hardtofill.cli import app
    from hardtofill.settings import get_settings

    for name, value in store["env"].items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store["env"]["HARDTOFILL_TRACKING_URI"])
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, list(args))
    get_settings.cache_clear()
    mlflow.set_tracking_uri(None)


def _aliases(store) -> dict:
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=store["env"]["HARDTOFILL_TRACKING_URI"])
    found = {}
    for alias in ("champion", "candidate"):
        try:
            found[alias] = str(client.get_model_version_by_alias("hardtofill", alias).version)
        except mlflow.exceptions.MlflowException:
            found[alias] = None
    return found


def _audit(store) -> list[dict]:
    return [json.loads(line) for line in (store["root"] / "alias_audit.jsonl").read_text().splitlines()]


def test_impossible_gate_leaves_the_champion_and_exits_non_zero_naming_the_gate(cli, store, tmp_path, monkeypatch):
    params = _quick_params(quality={"min_test_roc_auc": 0.99}, non_regression={"max_auc_drop": 0.005},
                           fairness=True)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params.model_dump(mode="json")))
    monkeypatch.setenv("HARDTOFILL_PARAMS_PATH", str(path))
    from hardtofill.settings import get_settings

    get_settings.cache_clear()
    before = _aliases(store)["champion"]
    audit_before = len(_audit(store))
    result = cli("train", "--history", str(store["history"]), "--quiet")
    assert result.exit_code == 1, result.output
    assert "quality.min_test_roc_auc" in result.output and "below 0.9900 by" in result.output
    assert "NOT promoted" in result.output
    aliases = _aliases(store)
    assert aliases["champion"] == before
    assert aliases["candidate"] not in (None, before)  # the new version is registered, as candidate only
    assert len(_audit(store)) == audit_before
    # the non-regression gate scored the current champion on the same test months
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=store["env"]["HARDTOFILL_TRACKING_URI"])
    version = client.get_model_version("hardtofill", aliases["candidate"])
    metrics = client.get_run(version.run_id).data.metrics
    assert "champion_test_roc_auc" in metrics
    gates = json.loads(open(mlflow.artifacts.download_artifacts(run_id=version.run_id,
                                                                 artifact_path="gates.json")).read())
    assert {g["gate"] for g in gates} >= {"quality.min_test_roc_auc", "non_regression.max_auc_drop",
                                          "fairness.region.equalized_odds_difference"}


def test_a_failed_run_never_touches_the_champion(cli, store, tmp_path):
    before = _aliases(store)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"offer": {"id": "1"}}\n')
    result = cli("train", "--history", str(broken), "--quiet")
    assert result.exit_code == 2 and "line 1" in result.output
    assert _aliases(store) == before
    result = cli("train", "--history", str(tmp_path / "missing.jsonl.gz"), "--quiet")
    assert result.exit_code == 2 and "not found" in result.output
    assert _aliases(store) == before


def test_promote_and_rollback_move_the_alias_and_append_to_the_audit_log(cli, store):
    aliases = _aliases(store)
    champion, candidate = aliases["champion"], aliases["candidate"]
    if candidate == champion:  # when run alone: make a second version to promote
        pytest.skip("needs the candidate of the impossible-gate test")
    result = cli("promote", "--version", candidate, "--reason", "reviewed the card by hand")
    assert result.exit_code == 0, result.output
    assert _aliases(store)["champion"] == candidate
    entry = _audit(store)[-1]
    assert entry["from"] == champion and entry["to"] == candidate and entry["who"] == "test-data-team"
    assert entry["why"] == "reviewed the card by hand" and entry["action"] == "promote" and entry["when"]

    result = cli("rollback", "--reason", "adviser complaints")
    assert result.exit_code == 0, result.output
    assert _aliases(store)["champion"] == champion
    entry = _audit(store)[-1]
    assert (entry["from"], entry["to"], entry["action"]) == (candidate, champion, "rollback")


def test_promote_and_rollback_refuse_clearly(cli, store):
    result = cli("promote", "--version", "99", "--reason", "typo")
    assert result.exit_code == 1 and "no version 99" in result.output
    result = cli("promote", "--version", "1", "--reason", "  ")
    assert result.exit_code == 1 and "--reason" in result.output
    entries = len(_audit(store))
    # version 1 was the first champion: nothing before it to roll back to
    if _aliases(store)["champion"] == "1":
        result = cli("rollback", "--reason", "try")
        assert result.exit_code == 1 and "no champion before version 1" in result.output
    assert len(_audit(store)) == entries
