"""`hardtofill train --scheduler`: the same training on a Dask LocalCluster of two worker
processes gives the quality of local training on the same data and goes through the same gates
and aliases."""

import pytest

from features.columnar import ingest
from features.generator.simulate import GeneratorConfig
from features.generator.write import write_history

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def parquet_history(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cluster")
    lines = folder / "offers.jsonl.gz"
    write_history(GeneratorConfig(offers=100_000, months=10, seed=21), lines, progress=False)
    ingest(lines, folder / "offers.parquet", progress=False)
    return folder / "offers.parquet"


def test_local_cluster_training_matches_local_training(parquet_history, tmp_path, monkeypatch):
    import mlflow
    from distributed import LocalCluster

    from hardtofill.params import load_params
    from hardtofill.settings import get_settings
    from training.pipeline import train

    monkeypatch.setenv("HARDTOFILL_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("HARDTOFILL_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    monkeypatch.setenv("HARDTOFILL_MODEL_NAME", "cluster-test")
    get_settings.cache_clear()
    params = load_params()
    params = params.model_copy(update={"gates": params.gates.model_copy(update={
        "non_regression": params.gates.non_regression.model_copy(update={"max_auc_drop": 0.002})})})
    try:
        local = train(parquet_history, params=params, progress=False)
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            monkeypatch.setenv("HARDTOFILL_DASK_SCHEDULER", cluster.scheduler_address)  # the setting's way
            get_settings.cache_clear()
            remote = train(parquet_history, params=params, progress=False)
    finally:
        get_settings.cache_clear()

    print(f"CLUSTER-VS-LOCAL local AUC {local.metrics['test_roc_auc']:.5f} ({local.metrics['trees']:.0f} trees, "
          f"{local.timings}), cluster AUC {remote.metrics['test_roc_auc']:.5f} ({remote.metrics['trees']:.0f} trees, "
          f"{remote.timings})")
    assert remote.metrics["test_roc_auc"] == pytest.approx(local.metrics["test_roc_auc"], abs=0.002)
    assert remote.metrics["oracle_test_roc_auc"] == pytest.approx(local.metrics["oracle_test_roc_auc"], abs=1e-12)
    # The same promotion path: the same gates (plus non-regression against the local champion),
    # `candidate` on the new version, `champion` moved only when every gate passed.
    local_gates = {g.gate for g in local.gates}
    assert local_gates <= {g.gate for g in remote.gates}
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert str(client.get_model_version_by_alias("cluster-test", "candidate").version) == remote.version
    champion = {local.version if local.promoted else None, remote.version if remote.promoted else None} - {None}
    if champion:
        expected = remote.version if remote.promoted else local.version
        assert str(client.get_model_version_by_alias("cluster-test", "champion").version) == expected
    run = client.get_run(remote.run_id)
    assert run.data.params["trained_on"].startswith("tcp://")
    assert int(run.data.params["train_rows"]) == int(client.get_run(local.run_id).data.params["train_rows"])
